"""The bank template (xlsx, csv) writes cases and written questions: a 案例 row (material,
title, table) with its sub-questions below, each naming the title and its points; 简答/论述
with their model answer, marking points and length limit. A case is imported whole or not
at all, its rows in the error file; an export re-imports to the same bank."""

import io
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.spreadsheets import Sheet, write_csv, write_xlsx
from question_bank import bank, cases, exporting, formats
from question_bank.bank import current_draft
from question_bank.drafts import CaseDraft, QuestionDraft
from question_bank.formats.template import HEADER
from question_bank.importing import commit_import, error_file, plan_import
from question_bank.models import Case, Question
from question_bank.search import QuestionFilters

from ..factories import add_case, add_written

TITLE = "某超市销售过期食品案"
MATERIAL = "2023年5月，某区市场监管局检查发现某超市销售过期食品。"


def row(**cells) -> list[str]:
    """A template row from column names: row(题型="单选", 题干="…")."""
    values = [""] * len(HEADER)
    for name, value in cells.items():
        values[HEADER.index(name)] = value
    return values


def case_row(title=TITLE, material=MATERIAL, table="品名 | 数量\n牛奶 | 20箱"):
    return row(题型="案例", 题干=material, 案例=title, 案例表格=table)


def sub_row(stem="对该超市作出罚款决定前，执法机关应当（ ）。", points="2", title=TITLE, **more):
    cells = {"题型": "单选", "题干": stem, "选项A": "告知当事人", "选项B": "直接处罚"}
    return row(**{**cells, "答案": "A", "案例": title, "分值": points, **more})


def written_row(**more):
    cells = {
        "题型": "简答",
        "题干": "简述作出行政处罚决定前应当告知当事人的事项。",
        "答案": "应当告知拟作出的处罚内容及事实、理由、依据，并告知当事人依法享有的权利。",
        "得分要点": "处罚内容及事实、理由、依据 3\n陈述、申辩、要求听证等权利 2",
        "字数上限": "300",
    }
    return row(**{**cells, **more})


def xlsx(*rows) -> bytes:
    return write_xlsx([Sheet("题库", HEADER, rows)])


def messages(plan) -> dict[int, str]:
    found: dict[int, str] = {}
    for error in plan.errors:
        found[error.row] = "；".join(filter(None, [found.get(error.row), error.message]))
    return found


def test_a_case_and_a_written_question_import_from_the_template(app):
    data = xlsx(
        written_row(),
        case_row(),
        sub_row(),
        sub_row("该超市的行为违法。", "3", 题型="判断", 选项A="", 选项B="", 答案="正确"),
        row(题型="判断", 题干="不属于案例的判断题。", 答案="错误"),
    )
    plan = plan_import(data, "bank.xlsx")
    assert plan.errors == []
    assert [(r.row, r.case.title if r.case else None, r.points) for r in plan.rows] == [
        (2, None, None),
        (4, TITLE, Decimal(2)),
        (5, TITLE, Decimal(3)),
        (6, None, None),
    ]
    commit_import(SYSTEM, plan)
    db.session.commit()
    (case,) = db.session.scalars(select(Case)).all()
    version = case.current_version
    assert (version.title, version.material) == (TITLE, MATERIAL)
    assert version.table == [["品名", "数量"], ["牛奶", "20箱"]]
    assert [(q.type, points) for q, points in cases.parts_of(version)] == [
        ("single", 2),
        ("true_false", 3),
    ]
    written = current_draft(
        db.session.scalars(select(Question).where(Question.type == "short_answer")).one()
    )
    assert written.type == "short_answer" and written.max_chars == 300
    assert written.marking_points == [
        ["处罚内容及事实、理由、依据", "3"],
        ["陈述、申辩、要求听证等权利", "2"],
    ]
    assert written.model_answer.startswith("应当告知拟作出的处罚内容")


def test_a_case_with_a_faulty_sub_question_is_refused_whole_into_the_error_file(app):
    data = xlsx(
        case_row(),
        sub_row(),
        sub_row("第二小题", 答案="F"),  # no option F
        row(题型="判断", 题干="独立的判断题。", 答案="正确"),
    )
    plan = plan_import(data, "bank.xlsx")
    found = messages(plan)
    assert set(found) == {2, 3, 4}
    assert f"案例「{TITLE}」有小题未通过检查，整个案例未导入" in found[2]
    assert "本小题随之未导入" in found[3]
    assert "答案「F」" in found[4]
    assert [r.row for r in plan.rows] == [5]  # the loose question alone may go on
    with pytest.raises(bank.BankError):
        commit_import(SYSTEM, plan)
    db.session.rollback()
    assert db.session.scalar(select(Case.id)) is None

    # The error file holds the whole case, in the template: fixed, it imports again.
    sheet = openpyxl.load_workbook(io.BytesIO(error_file(plan))).worksheets[0]
    rows = [[cell.value or "" for cell in line] for line in sheet.iter_rows(min_row=2)]
    assert [line[0] for line in rows] == ["案例", "单选", "单选"]
    assert [line[HEADER.index("案例")] for line in rows] == [TITLE] * 3
    assert rows[0][HEADER.index("案例表格")] == "品名 | 数量\n牛奶 | 20箱"
    rows[2][HEADER.index("答案")] = "B"
    fixed = plan_import(xlsx(*(line[: len(HEADER)] for line in rows)), "fixed.xlsx")
    assert fixed.errors == [] and len(fixed.rows) == 2
    commit_import(SYSTEM, fixed)
    db.session.commit()
    (case,) = db.session.scalars(select(Case)).all()
    assert case.current_version.table == [["品名", "数量"], ["牛奶", "20箱"]]


@pytest.mark.parametrize(
    ("rows", "where", "expected"),
    [
        ([case_row(table="甲 | 乙\n丙"), sub_row()], 2, "表格每行的单元格数应相同"),
        ([case_row(material=""), sub_row()], 2, "没有案例材料"),
        ([case_row(table="甲\n" + "长" * 501), sub_row()], 2, "单元格不能超过500字"),
        ([case_row(table="\n".join("甲 | 乙" for _ in range(51))), sub_row()], 2, "表格最多50行"),
        ([case_row(table=" | ".join("列" * 13)), sub_row()], 2, "表格最多12列"),
        ([case_row(title=""), sub_row(title="")], 2, "案例行需要在案例列写案例标题"),
        ([case_row(material="长" * 20_001), sub_row()], 2, "案例材料不能超过20000字"),
        ([case_row(), *(sub_row(f"第{n}小题") for n in range(21))], 2, "一个案例最多20道小题"),
        ([case_row()], 2, "没有小题"),
        ([sub_row()], 2, f"案例「{TITLE}」上方没有它的材料行"),
        ([case_row(), sub_row(points="0")], 3, "分值「0」应大于 0"),
        ([case_row(), sub_row(points="两分")], 3, "分值「两分」应为数字"),
        ([case_row(), written_row(案例=TITLE)], 2, "案例的小题只能是单选、多选、判断或填空题"),
        ([written_row(得分要点="要点没有分值")], 2, "每个得分要点需要内容和大于 0 的分值"),
        ([written_row(字数上限="三百")], 2, "字数上限「三百」应为整数"),
        ([written_row(字数上限="5")], 2, "字数上限应为 10–3000"),
        ([written_row(答案="")], 2, "简答题需要参考答案"),
    ],
)
def test_case_and_written_rows_are_checked_and_refused_with_a_reason(app, rows, where, expected):
    plan = plan_import(xlsx(*rows), "bank.xlsx")
    assert expected in messages(plan).get(where, ""), plan.errors
    assert not [r for r in plan.rows if r.case is not None]


def test_a_sub_question_belongs_to_the_nearest_case_row_of_its_title(app):
    """Two cases may share a title (an export of two such cases reads back as two)."""
    data = xlsx(
        case_row(), sub_row("甲案小题"), case_row(material="另一份材料。"), sub_row("乙案小题")
    )
    plan = plan_import(data, "bank.xlsx")
    assert plan.errors == []
    first, second = plan.rows
    assert first.case is not second.case
    assert second.case.material == ["另一份材料。"]


def test_csv_template_writes_cases_too(app):
    data = write_csv(HEADER, [case_row(), sub_row()])
    plan = plan_import(data, "bank.csv")
    assert plan.errors == [] and plan.rows[0].case.table == [["品名", "数量"], ["牛奶", "20箱"]]


def bank_with_everything():
    loose = bank.add_question(
        SYSTEM, QuestionDraft("multiple", "=SUM(A1) 不是公式", ["甲", "乙", "丙"], [0, 2], [])
    )
    written = add_written(max_chars=200)
    case = add_case(parts=3, points=[2, "1.5", 3])
    draft = cases.draft_of(case)
    draft.table = [["项目", "=金额"], ["罚款", "+5000元"]]  # formula-like cells stay text
    draft.material = "-开头的材料\n第二段"
    cases.edit_case(SYSTEM, case, draft)
    db.session.commit()
    return loose, written, case


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_re_imports_to_the_same_bank(app, fmt):
    loose, written, case = bank_with_everything()
    data, warnings = exporting.export_questions(SYSTEM, QuestionFilters(), fmt)
    assert warnings == []
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "question.export"))
    assert entry.detail_dict["exported"] == 5 and entry.detail_dict["cases"] == 1

    plan = plan_import(data, f"bank.{fmt}")
    assert plan.errors == []
    drafts = [r.draft for r in plan.rows]
    assert drafts[:2] == [current_draft(loose), current_draft(written)]
    original = cases.draft_of(case)
    assert drafts[2:] == original.questions
    head = plan.rows[2].case
    assert (head.title, "\n".join(head.material), head.table) == (
        original.title,
        original.material,
        original.table,
    )
    assert [r.points for r in plan.rows[2:]] == original.points

    commit_import(SYSTEM, plan, keep_duplicates=True)
    db.session.commit()
    copy = db.session.scalars(select(Case).order_by(Case.id.desc())).first()
    assert copy.id != case.id
    again = cases.draft_of(copy)
    assert (again.title, again.material, again.table, again.points) == (
        original.title,
        original.material,
        original.table,
        original.points,
    )
    assert again.questions == original.questions


@pytest.mark.parametrize("fmt", ["gift", "moodle_xml"])
def test_formats_without_cases_or_marking_points_skip_them_and_say_so(app, fmt):
    bank_with_everything()
    data, warnings = exporting.export_questions(SYSTEM, QuestionFilters(), fmt)
    assert len(warnings) == 2
    assert "简答题" in warnings[0] and "得分要点" in warnings[0]
    assert f"第3–5题是案例「{cases.cases()[0].title}」的小题" in warnings[1]
    assert all("题库模板" in warning for warning in warnings)
    assert len(formats.parse(data, fmt).rows) == 1


def test_an_export_of_one_sub_question_brings_its_whole_case(app):
    _, _, case = bank_with_everything()
    (first, _), *_ = cases.parts_of(case.current_version)
    entries = exporting.entries_of([first])
    assert entries == [cases.draft_of(case)] and isinstance(entries[0], CaseDraft)


def test_the_blank_template_explains_cases_and_written_questions(client, login_as):
    from core.roles import Role

    login_as(Role.TRAINER)
    data = client.get("/bank/import/template.xlsx").data
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    header = [cell.value for cell in workbook.worksheets[0][1]]
    assert header == HEADER and {"案例", "分值", "得分要点", "字数上限", "案例表格"} <= set(header)
    notes = "\n".join(line[0].value or "" for line in workbook["填写说明"].iter_rows())
    for words in ("材料行：题型填「案例」", "案例列填同一标题", "得分要点", "整个案例都不导入"):
        assert words in notes
