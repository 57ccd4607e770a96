import csv
import io

import pytest
from sqlalchemy import func, select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from question_bank import bank
from question_bank.demo import DEMO_LAWS, load_demo_bank
from question_bank.importing import commit_import, plan_import, registrations_needed
from question_bank.models import Case, Citation, Law, LawVersion, Question, QuestionVersion
from tests.factories import HEADER

GOOD_ROWS = [
    [
        "单选",
        "行政处罚的追责时效一般为几年？",
        "一年",
        "二年",
        "三年",
        "五年",
        "B",
        "第36条",
        "2",
        "行政处罚法（2021年修订）第36条",
        "追责时效",
    ],
    [
        "多选",
        "下列属于行政处罚种类的有？",
        "警告",
        "罚款",
        "记过",
        "行政拘留",
        "ABD",
        "",
        "",
        "行政处罚法（2021年修订）第9条",
        "处罚种类",
    ],
    ["判断", "宪法是国家的根本法。", "", "", "", "", "正确", "", "1", "宪法第5条", ""],
    [
        "填空",
        "当事人应当自收到行政处罚决定书之日起____内缴纳罚款。",
        "",
        "",
        "",
        "",
        "十五日/15日",
        "",
        "3",
        "行政处罚法（2021年修订）第67条",
        "",
    ],
]


def csv_bytes(rows, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def question_count() -> int:
    return db.session.scalar(select(func.count(Question.id)))


@pytest.fixture
def registry(app):
    bank.register_law("行政处罚法", "2021年修订")
    bank.register_law("宪法", "2018年修正")
    db.session.commit()


def test_good_file_imports_every_row(registry):
    plan = plan_import(csv_bytes(GOOD_ROWS), "bank.csv")
    assert plan.errors == [] and len(plan.rows) == 4
    created = commit_import(SYSTEM, plan)
    db.session.commit()
    assert len(created) == question_count() == 4
    fill = db.session.get(Question, created[3]).current_version
    assert fill.blanks == [["十五日", "15日"]]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.import"))
    assert entry.detail_dict["created"] == 4


def test_one_bad_row_means_nothing_is_imported(registry):
    rows = [*GOOD_ROWS, ["单选", "缺答案的题", "甲", "乙", "", "", "E", "", "", "", ""]]
    plan = plan_import(csv_bytes(rows), "bank.csv")
    assert [(e.row, e.column) for e in plan.errors] == [(6, "答案")]
    with pytest.raises(bank.BankError):
        commit_import(SYSTEM, plan)
    assert question_count() == 0


def test_gb18030_csv_as_excel_saves_it(registry):
    plan = plan_import(csv_bytes(GOOD_ROWS, "gb18030"), "bank.csv")
    assert plan.errors == [] and plan.rows[0].draft.stem == "行政处罚的追责时效一般为几年？"


def test_duplicates_within_file_and_against_bank_are_skipped_or_kept(registry):
    [first] = commit_import(SYSTEM, plan_import(csv_bytes(GOOD_ROWS[:1]), "first.csv"))
    variant = list(GOOD_ROWS[1])
    variant[1] = "下列属于行政处罚种类的有？ "  # same after normalising
    plan = plan_import(csv_bytes([GOOD_ROWS[0], GOOD_ROWS[1], variant]), "second.csv")
    assert plan.bank_duplicates == [(2, first)]
    assert plan.file_duplicates == [(4, 3)]
    assert plan.count(keep_duplicates=False) == 1
    assert len(commit_import(SYSTEM, plan)) == 1
    assert question_count() == 2
    kept = plan_import(csv_bytes([GOOD_ROWS[0]]), "third.csv")
    assert len(commit_import(SYSTEM, kept, keep_duplicates=True)) == 1
    assert question_count() == 3


def test_unknown_laws_and_old_versions_are_registered_and_flagged(registry):
    rows = [
        [
            "判断",
            "治安管理处罚法由全国人大常委会制定。",
            "",
            "",
            "",
            "",
            "正确",
            "",
            "",
            "治安管理处罚法第1条",
            "",
        ],
        [
            "判断",
            "旧版处罚法规定的时效。",
            "",
            "",
            "",
            "",
            "正确",
            "",
            "",
            "行政处罚法（2017年修正）第29条",
            "",
        ],
    ]
    plan = plan_import(csv_bytes(rows), "old.csv")
    assert registrations_needed(plan) == [
        "治安管理处罚法（现行）",
        "行政处罚法（2017年修正，非现行版本）",
    ]
    assert db.session.scalar(select(func.count(Law.id))) == 2  # the preview wrote nothing
    created = commit_import(SYSTEM, plan)
    statuses = [db.session.get(Question, q).status for q in created]
    assert statuses == ["active", "needs_review"]
    penalty = db.session.scalar(select(Law).where(Law.name == "行政处罚法"))
    assert penalty.current_version.label == "2021年修订"


def test_preview_lists_what_the_import_will_register_once(registry):
    rows = [
        ["判断", "甲题。", "", "", "", "", "正确", "", "", "治安管理处罚法（2012年修正）第1条", ""],
        ["判断", "乙题。", "", "", "", "", "正确", "", "", "治安管理处罚法第2条", ""],
    ]
    plan = plan_import(csv_bytes(rows), "two.csv")
    assert registrations_needed(plan) == ["治安管理处罚法（2012年修正）"]
    commit_import(SYSTEM, plan)
    law = db.session.scalar(select(Law).where(Law.name == "治安管理处罚法"))
    assert [v.label for v in law.versions] == ["2012年修正"]


def test_summary_counts_each_row_once(registry, runner, tmp_path):
    # Re-importing a file whose rows are all in the bank, one of them twice in the file:
    # the repeat is a duplicate within the file, not a second duplicate of the bank.
    commit_import(SYSTEM, plan_import(csv_bytes(GOOD_ROWS[:2]), "first.csv"))
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]
    plan = plan_import(csv_bytes(rows), "again.csv")
    assert plan.file_duplicates == [(4, 2)]
    assert [row for row, _ in plan.bank_duplicates] == [2, 3]
    assert len(plan.file_duplicates) + len(plan.bank_duplicates) == len(plan.rows) == 3
    source = tmp_path / "again.csv"
    source.write_bytes(csv_bytes(rows))
    dry = runner.invoke(args=["bank", "import", str(source), "--dry-run"])
    assert "可导入 0 道试题；文件内重复 1 道，与题库重复 2 道" in dry.output


def test_cli_import_dry_run_import_and_export_round_trip(runner, registry, tmp_path):
    source = tmp_path / "bank.csv"
    source.write_bytes(csv_bytes(GOOD_ROWS))
    dry = runner.invoke(args=["bank", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0 and "可导入 4 道试题" in dry.output and "试运行" in dry.output
    assert question_count() == 0
    done = runner.invoke(args=["bank", "import", str(source)])
    assert done.exit_code == 0 and "已导入 4 道试题" in done.output
    for fmt, name in (("xlsx", "out.xlsx"), ("gift", "out.gift"), ("moodle_xml", "out.xml")):
        exported = tmp_path / name
        result = runner.invoke(args=["bank", "export", str(exported), "--format", fmt])
        assert result.exit_code == 0, result.output
        again = plan_import(exported.read_bytes(), name)
        assert again.errors == [], fmt
        assert len(again.bank_duplicates) == len(again.rows) > 0, fmt
    xlsx_plan = plan_import((tmp_path / "out.xlsx").read_bytes(), "out.xlsx")
    stored = {
        q.current_version.stem: bank.draft_of(q.current_version)
        for q in db.session.scalars(select(Question))
    }
    assert {row.draft.stem: row.draft for row in xlsx_plan.rows} == stored


def test_cli_import_of_a_bad_file_fails_and_writes_nothing(runner, registry, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_bytes(
        csv_bytes([*GOOD_ROWS, ["问答", "简述依法行政。", "", "", "", "", "略", "", "", "", ""]])
    )
    result = runner.invoke(args=["bank", "import", str(source)])
    assert result.exit_code != 0
    assert "第 6 行" in result.output and "不支持的题型" in result.output
    assert question_count() == 0
    unknown = tmp_path / "bank.docx"
    unknown.write_bytes(b"x")
    assert runner.invoke(args=["bank", "import", str(unknown)]).exit_code != 0


def test_cli_export_refuses_an_import_only_format(runner, tmp_path):
    result = runner.invoke(args=["bank", "export", str(tmp_path / "x.txt"), "--format", "aiken"])
    assert result.exit_code != 0 and "只支持导入" in result.output


# Article counts of the versions the demo bank cites (宪法 without its amendment articles).
ARTICLES_IN = {
    "宪法": 143,
    "民法典": 1260,
    "行政处罚法": 86,
    "行政许可法": 83,
    "行政强制法": 71,
    "行政复议法": 90,
    "行政诉讼法": 103,
    "国家赔偿法": 42,
    "政府信息公开条例": 56,
}


def test_demo_bank_loads_through_the_import_path_and_cites_every_question(app):
    added = load_demo_bank(SYSTEM)
    db.session.commit()
    assert added == question_count() >= 400
    types = dict(
        db.session.execute(select(Question.type, func.count()).group_by(Question.type)).all()
    )
    assert set(types) == {"single", "multiple", "true_false", "fill_blank", "short_answer"}
    assert db.session.scalar(select(func.count(Case.id))) == 2
    assert db.session.scalar(select(func.count()).where(~Question.has_citation)) == 0
    assert db.session.scalar(select(func.count()).where(Question.status != "active")) == 0
    assert db.session.scalar(select(func.count(Law.id))) == len(DEMO_LAWS)
    cited = db.session.execute(
        select(Law.name, Citation.article)
        .join(LawVersion, LawVersion.law_id == Law.id)
        .join(Citation, Citation.law_version_id == LawVersion.id)
    ).all()
    for law, article in cited:
        assert 1 <= article <= ARTICLES_IN[law], (law, article)
    assert {name for name, _ in cited} == set(ARTICLES_IN)
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == added
