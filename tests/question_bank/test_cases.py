"""Cases (案例分析): written, edited (a new version), retired as a unit; their sub-questions
are bank questions drawn only with their case; the trainers' screens."""

import io
import re
from decimal import Decimal

import pytest
from docx import Document
from sqlalchemy import select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import bank, cases, drafts, importing, queries
from question_bank.bank import BankError
from question_bank.drafts import QuestionDraft
from question_bank.formats.numbered import parse_numbered
from question_bank.formats.word import parse_docx
from question_bank.models import Case, Question, QuestionStatus

from ..factories import CASE_MATERIAL, add_case


def sub_drafts(case: Case) -> list[QuestionDraft]:
    return cases.draft_of(case).questions


def test_a_case_keeps_its_sub_questions_in_order_with_their_points(app):
    case = add_case(parts=3, points=[2, 3, 5])
    version = case.current_version
    assert version.number == 1 and version.material.startswith(CASE_MATERIAL)
    assert version.table == [["项目", "金额"], ["罚款", "5000元"]]
    parts = cases.parts_of(version)
    assert [points for _, points in parts] == [2, 3, 5]
    assert [q.type for q, _ in parts] == ["single", "true_false", "multiple"]
    assert all(q.case_id == case.id for q, _ in parts)
    assert db.session.scalars(select(AuditEntry.action)).all().count("case.create") == 1


def test_sub_questions_are_never_drawn_on_their_own(app):
    add_case(parts=3)
    loose = bank.add_question(SYSTEM, QuestionDraft("single", "单独的题", ["甲", "乙"], [0], []))
    assert [entry[0] for entry in queries.eligible_questions("single")] == [loose.id]
    assert len(queries.eligible_cases()) == 1


def test_editing_the_material_makes_a_new_case_version_and_keeps_the_old(app):
    case = add_case(parts=2)
    old = case.current_version
    draft = cases.draft_of(case)
    draft.material = "修改后的案例材料。"
    version = cases.edit_case(SYSTEM, case, draft, "更正材料")
    db.session.commit()
    assert version.number == 2 and case.current_version.material == "修改后的案例材料。"
    assert old.material.startswith(CASE_MATERIAL)  # the old version stays as it was
    assert version.parts == old.parts
    assert version.change_note == "更正材料"


def test_editing_a_sub_question_versions_the_question_and_the_case(app):
    case = add_case(parts=2)
    draft = cases.draft_of(case)
    draft.questions[0].answer = [2]
    version = cases.edit_case(SYSTEM, case, draft)
    db.session.commit()
    question, _ = cases.parts_of(case.current_version)[0]
    assert question.current_number == 2 and question.current_version.answer == [2]
    assert case.current_number == 2 and version is case.current_version
    assert version.parts == case.versions[0].parts
    # The pool of cases now offers the new case version with the sub-question's new version.
    ((_, case_version_id, entries),) = queries.eligible_cases()
    assert case_version_id == version.id and entries[0][0] == question.current_version.id


def test_a_sub_question_edited_in_the_question_form_takes_its_case_along(client, login_as):
    case = add_case(parts=2)
    first = case.current_version
    question, _ = cases.parts_of(first)[1]
    login_as(Role.TRAINER)
    form = client.get(f"/bank/{question.id}/edit").text
    assert f'<a href="/bank/cases/{case.id}">案例 #{case.id}</a>的小题' in form
    saved = client.post(
        f"/bank/{question.id}/edit",
        data={
            "type": "true_false",
            "stem": "改写后的第二小题。",
            "judgement": "0",
            "difficulty": "",
        },
        follow_redirects=True,
    )
    assert "已保存为第 2 版" in saved.text
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.current_number == 2
    assert case.current_version.change_note == "修改第2小题"
    assert case.current_version.parts == first.parts
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.edit")).one()
    assert entry.detail_dict["changed"] == ["第2小题"]
    # A case takes only objective sub-questions: the form cannot make one written.
    refused = client.post(
        f"/bank/{question.id}/edit",
        data={
            "type": "short_answer",
            "stem": "简述理由。",
            "model_answer": "理由",
            "marking_points": "理由 2",
            "difficulty": "",
        },
    )
    assert refused.status_code == 200 and "案例的小题只能是" in refused.text
    db.session.expire_all()
    assert db.session.get(Case, case.id).current_number == 2


def test_unchanged_case_makes_no_version(app):
    case = add_case(parts=2)
    assert cases.edit_case(SYSTEM, case, cases.draft_of(case)) is None


def test_dropping_and_adding_sub_questions(app):
    case = add_case(parts=3)
    dropped_id = case.current_version.parts[2][0]
    draft = cases.draft_of(case)
    draft.questions = draft.questions[:2]
    draft.points = draft.points[:2]
    cases.edit_case(SYSTEM, case, draft)
    assert db.session.get(Question, dropped_id).status == QuestionStatus.RETIRED.value
    assert len(case.current_version.parts) == 2 and case.current_number == 2
    # The case is still drawn: a dropped sub-question is no part of its current version.
    assert len(queries.eligible_cases()) == 1


def test_retired_case_and_case_with_a_retired_sub_question_are_not_drawn(app):
    case = add_case(parts=2)
    other = add_case(parts=2)
    cases.retire_case(SYSTEM, case)
    question = db.session.get(Question, other.current_version.parts[0][0])
    bank.retire(SYSTEM, question)
    assert queries.eligible_cases() == []
    with pytest.raises(BankError):
        cases.retire_case(SYSTEM, case)
    cases.restore_case(SYSTEM, case)
    assert [entry[0] for entry in queries.eligible_cases()] == [case.id]


def test_case_checks_name_the_faulty_sub_question_and_store_nothing(app):
    draft = cases.CaseDraft(
        title="案例",
        material="材料",
        questions=[
            QuestionDraft("single", "第一题", ["甲", "乙"], [0], []),
            QuestionDraft("single", "第二题", ["甲", "乙"], [0, 1], []),
        ],
        points=[Decimal(2), Decimal(2)],
    )
    with pytest.raises(BankError, match="第2小题"):
        cases.add_case(SYSTEM, draft)
    draft.questions = draft.questions[:1]
    with pytest.raises(BankError) as raised:
        cases.add_case(SYSTEM, draft)
    assert "points" in raised.value.fields
    draft.points = [Decimal(0)]
    with pytest.raises(BankError):
        cases.add_case(SYSTEM, draft)
    draft.points, draft.material = [Decimal(2)], "  "
    with pytest.raises(BankError) as raised:
        cases.add_case(SYSTEM, draft)
    assert "material" in raised.value.fields
    draft.material, draft.table = "材料", [["a", "b"], ["c"]]
    with pytest.raises(BankError) as raised:
        cases.add_case(SYSTEM, draft)
    assert "table" in raised.value.fields
    db.session.rollback()
    assert db.session.scalar(select(Case.id)) is None


def test_sub_questions_round_trip_through_the_numbered_text(app):
    case = add_case(parts=3)
    drafts = sub_drafts(case)
    parsed, problem = cases.parse_parts(cases.numbered_text(drafts))
    assert problem is None and parsed == drafts


def test_points_and_table_parsing():
    assert cases.parse_points("2 3，5", 3) == ([Decimal(2), Decimal(3), Decimal(5)], None)
    assert cases.parse_points("2", 3)[0] == [Decimal(2)] * 3
    assert cases.parse_points("两分", 1)[1]
    for typed in ("NaN", "sNaN", "3 NaN", "Infinity"):  # NaN broke the checks' comparisons
        assert cases.parse_points(typed, 2) == ([], "小题分值应为数字，用空格或逗号分隔，如：2 2 3")
    assert drafts.parse_table_text("a | b\n\nc\td\n") == [["a", "b"], ["c", "d"]]


# --- the trainers' screens ----------------------------------------------------------

CASE_TEXT = """1．【单选题】甲公司应当在几日内提出？
A．三日
B．五日
答案：B

2．【判断题】示范局的决定合法。
答案：错误
"""


def test_trainer_writes_edits_and_retires_a_case(client, login_as):
    login_as(Role.TRAINER)
    page = client.get("/bank/cases/new")
    assert page.status_code == 200 and "小题" in page.text
    saved = client.post(
        "/bank/cases/new",
        data={
            "title": "示范局处罚案",
            "material": "某县示范局对甲公司作出决定。",
            "table": "项目 | 金额\n罚款 | 100元",
            "questions": CASE_TEXT,
            "points": "3 2",
        },
    )
    assert saved.status_code == 302
    case = db.session.scalar(select(Case))
    detail = client.get(saved.location)
    assert "某县示范局" in detail.text and "100元" in detail.text and "甲公司应当" in detail.text
    form = client.get(f"/bank/cases/{case.id}/edit").text
    assert "【单选题】甲公司应当在几日内提出" in form and "3 2" in form
    edited = client.post(
        f"/bank/cases/{case.id}/edit",
        data={
            "title": "示范局处罚案",
            "material": "某县示范局对甲公司作出了处罚决定。",
            "table": "项目 | 金额\n罚款 | 100元",
            "questions": CASE_TEXT,
            "points": "3 2",
            "change_note": "改材料",
        },
        follow_redirects=True,
    )
    assert "第 2 版" in edited.text
    assert "案例分析" in client.get("/bank/").text
    assert "示范局处罚案" in client.get("/bank/cases/").text
    client.post(f"/bank/cases/{case.id}/retire")
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == QuestionStatus.RETIRED.value


def test_a_case_form_with_bad_text_says_why_and_stores_nothing(client, login_as):
    login_as(Role.TRAINER)
    page = client.post(
        "/bank/cases/new",
        data={
            "title": "坏案例",
            "material": "材料",
            "questions": "1．【单选题】没有选项的题\n答案：A",
            "points": "2",
        },
    )
    assert page.status_code == 200 and "第1行" in page.text
    page = client.post(
        "/bank/cases/new",
        data={"title": "坏案例", "material": "材料", "questions": CASE_TEXT, "points": "2 两"},
    )
    assert "小题分值应为数字" in page.text
    assert db.session.scalar(select(Case.id)) is None


# --- importing cases: the 【案例】 layout of text and Word banks ---------------------------

CASE_BANK = """一、单项选择题
1．示范法规定的期限是（B）。
A．一日  B．三日  C．五日

二、案例分析题
【案例一】甲公司超标排污案
某县示范局查明，甲公司超标排放污水，拟处以罚款。
甲公司提出陈述申辩。
1．【单选题】示范局应当在几日内作出决定？
A．三日
B．七日
答案：B
分值：2
2．甲公司有权陈述申辩。（√）
分值：3

【案例二】乙某案
乙某未按规定登记。
1．对乙某可以处以哪些处理？
A．警告
B．罚款
C．拘留
答案：AB
"""


def test_the_text_importer_reads_cases_and_imports_each_whole(app):
    plan = importing.plan_import(CASE_BANK.encode(), "案例题库.txt")
    assert plan.errors == []
    assert [row.case.title if row.case else None for row in plan.rows] == [
        None,
        "甲公司超标排污案",
        "甲公司超标排污案",
        "乙某案",
    ]
    created = importing.commit_import(SYSTEM, plan)
    db.session.commit()
    assert len(created) == 4
    first, second = db.session.scalars(select(Case).order_by(Case.id)).all()
    assert first.current_version.material == (
        "某县示范局查明，甲公司超标排放污水，拟处以罚款。\n甲公司提出陈述申辩。"
    )
    parts = cases.parts_of(first.current_version)
    assert [(q.type, points) for q, points in parts] == [("single", 2), ("true_false", 3)]
    assert [points for _, points in cases.parts_of(second.current_version)] == [1]
    # The loose question is drawn on its own; the sub-questions only with their case.
    assert [entry[0] for entry in queries.eligible_questions("single")] == [created[-1]]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.import"))
    assert entry.detail_dict["cases"] == [first.id, second.id]


def test_a_case_with_a_faulty_sub_question_is_refused_whole(app):
    faulty = CASE_BANK.replace("答案：AB", "答案：E")
    plan = importing.plan_import(faulty.encode(), "案例题库.txt")
    messages = [error.message for error in plan.errors]
    assert any("案例「乙某案」有小题未通过检查" in message for message in messages)
    assert all(row.case is None or row.case.title != "乙某案" for row in plan.rows)
    # Skipping what failed keeps the other case whole.
    importing.commit_import(SYSTEM, plan, skip_invalid=True)
    assert [case.title for case in db.session.scalars(select(Case))] == ["甲公司超标排污案"]


def test_a_case_needs_material_and_sub_questions(app):
    text = "【案例】无材料案\n1．题干\nA．甲\nB．乙\n答案：A\n【案例二】\n只有材料。\n"
    result = parse_numbered(text.encode())
    messages = [error.message for error in result.errors]
    assert any("无材料案」没有案例材料" in message for message in messages)
    assert any("没有小题" in message for message in messages)
    assert result.rows == []


def test_the_word_importer_reads_cases(app):
    document = Document()
    for line in CASE_BANK.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    result = parse_docx(buffer.getvalue())
    assert result.errors == []
    assert sum(1 for row in result.rows if row.case is not None) == 3


TABLE_CASE = """【案例】某超市销售过期食品案
某区市场监管局检查发现某超市销售过期食品，查获情况如下：
【表格】
| 品名 | 数量 | 货值 |
|------|------|------|
| 牛奶 | 20箱 | 1200元 |
【表格结束】
执法人员当场制作了现场笔录。
1．【单选题】本案货值合计为（ ）。
A．1200元
B．2400元
答案：A
"""


def test_the_text_importer_reads_a_case_table():
    (row,) = parse_numbered(TABLE_CASE.encode()).rows
    assert row.case.table == [["品名", "数量", "货值"], ["牛奶", "20箱", "1200元"]]
    assert row.case.material == [
        "某区市场监管局检查发现某超市销售过期食品，查获情况如下：",
        "执法人员当场制作了现场笔录。",
    ]
    # A ragged table is refused with the case, as the case form refuses it.
    ragged = TABLE_CASE.replace("| 牛奶 | 20箱 | 1200元 |", "| 牛奶 | 20箱 |")
    result = parse_numbered(ragged.encode())
    assert result.rows == []
    assert any("表格每行的单元格数应相同" in error.message for error in result.errors)


def test_the_word_importer_carries_a_table_in_a_case_into_its_material(app):
    document = Document()
    document.add_paragraph("【案例】某超市销售过期食品案")
    document.add_paragraph("某区市场监管局检查发现某超市销售过期食品，查获情况如下：")
    table = document.add_table(rows=2, cols=3)
    texts = [["品名", "数量", "货值"], ["牛奶", "20箱", "1200元"]]
    for cells, row_texts in zip(table.rows, texts, strict=True):
        for cell, text in zip(cells.cells, row_texts, strict=True):
            cell.text = text
    for line in TABLE_CASE.splitlines()[8:]:
        document.add_paragraph(line)
    # Outside a case a table is read as lines still: options laid out in a table.
    document.add_paragraph("【案例结束】")
    document.add_paragraph("2．【单选题】行政处罚的追责时效一般为（ ）。")
    options = document.add_table(rows=1, cols=2)
    options.rows[0].cells[0].text, options.rows[0].cells[1].text = "A．一年", "B．二年"
    document.add_paragraph("答案：B")
    buffer = io.BytesIO()
    document.save(buffer)
    plan = importing.plan_import(buffer.getvalue(), "案例.docx")
    assert plan.errors == []
    first, second = plan.rows
    assert first.case.table == [["品名", "数量", "货值"], ["牛奶", "20箱", "1200元"]]
    assert first.case.material == ["某区市场监管局检查发现某超市销售过期食品，查获情况如下："]
    assert second.case is None and second.draft.choices == ["一年", "二年"]
    importing.commit_import(SYSTEM, plan)
    db.session.commit()
    (case,) = db.session.scalars(select(Case)).all()
    assert case.current_version.table == [["品名", "数量", "货值"], ["牛奶", "20箱", "1200元"]]


def test_the_bank_list_groups_sub_questions_under_their_case(client, login_as):
    loose = bank.add_question(
        SYSTEM, QuestionDraft("single", "独立的单选题", ["甲", "乙"], [0], [])
    )
    case = add_case(parts=3, title="列表中的案例")
    later = bank.add_question(
        SYSTEM, QuestionDraft("true_false", "独立的判断题", ["正确", "错误"], [0], [])
    )
    db.session.commit()
    parts = [question for question, _ in cases.parts_of(case.current_version)]
    login_as(Role.TRAINER)
    page = client.get("/bank/").text
    rows = re.findall(r"<tr(?: data-case=\"(\d+)\")?>\s*<td class=\"no-print\"", page)
    assert rows == ["", str(case.id), ""]  # newest first; the case is one row
    link = '/bank/{0}">#{0}</a>'.format
    assert page.index(link(later.id)) < page.index("列表中的案例") < page.index(link(loose.id))
    assert "共 3 道小题" in page and "共 3 条" in page
    case_row = page[page.index(f'data-case="{case.id}"') :]
    case_row = case_row[: case_row.index("</tr>")]
    assert "<details>" in case_row
    assert [int(n) for n in re.findall(r'name="question_ids" value="(\d+)"', case_row)] == [
        q.id for q in parts
    ]
    # A search matching one sub-question shows its case with that sub-question alone.
    found = client.get("/bank/", query_string={"q": "第2小题"}).text
    assert "列表中的案例" in found and "1 道符合筛选" in found and "共 1 条" in found
    assert re.findall(r'name="question_ids" value="(\d+)"', found) == [str(parts[1].id)]
    assert "独立的单选题" not in found
    # Filtering by a type no sub-question has leaves the case out.
    fill = client.get("/bank/", query_string={"type": "fill_blank"}).text
    assert "列表中的案例" not in fill
