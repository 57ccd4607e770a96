"""The law library in the bank: importing texts (CLI and web), citations checked against
them, a revision's diff flagging exactly the affected questions, and the reader."""

import io
import re

import pytest
from sqlalchemy import func, select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import bank, formats
from question_bank.bank import BankError
from question_bank.demo import DEMO_LAWS, load_law_texts
from question_bank.drafts import LawRefDraft, QuestionDraft, parse_law_refs
from question_bank.models import Law, LawArticle, LawVersion, Question, QuestionStatus
from question_bank.statutes.library import (
    broken_citations,
    commit_law_import,
    plan_law_import,
)
from tests.statute_texts import CHARTER, MARKDOWN, OFFICIAL, REVISED, docx_bytes

LAW = "示范管理法"
FIRST = "2010年修正"
SECOND = "2011年修订"


def import_text(text: str = OFFICIAL, filename: str = "示范管理法.txt", **options):
    plan = plan_law_import(text.encode(), filename, options.get("law"), options.get("label"))
    assert plan.ok, (plan.errors, plan.parsed.problems)
    result = commit_law_import(SYSTEM, plan)
    db.session.commit()
    return result


def question(*places: str, law: str = LAW, version: str | None = FIRST) -> Question:
    """A true/false question citing `places` (第2条第2款 ...) of the law."""
    name = f"{law}（{version}）" if version else law
    refs, error = parse_law_refs(name + "、".join(places))
    assert error is None, error
    added = bank.add_question(
        SYSTEM,
        QuestionDraft(
            "true_false",
            f"关于{'、'.join(places)}的判断题",
            ["正确", "错误"],
            [0],
            [],
            law_refs=refs,
        ),
    )
    db.session.commit()
    return added


def refs_of(question_id: int) -> list[LawRefDraft]:
    db.session.expire_all()
    return bank.current_draft(db.session.get(Question, question_id)).law_refs


def status_of(question_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Question, question_id).status


# --- import --------------------------------------------------------------------------


def test_import_creates_the_law_its_version_and_articles(app):
    result = import_text()
    version = result.version
    assert (version.law.name, version.label, version.is_current) == (LAW, FIRST, True)
    assert version.law.full_name == "中华人民共和国示范管理法"
    articles = db.session.scalars(
        select(LawArticle)
        .where(LawArticle.law_version_id == version.id)
        .order_by(LawArticle.position)
    ).all()
    assert [(a.number, a.suffix) for a in articles] == [
        (1, 0),
        (2, 0),
        (3, 0),
        (3, 1),
        (4, 0),
        (5, 0),
    ]
    assert articles[1].paragraphs == [
        {
            "text": "示范管理应当遵循下列原则：",
            "items": ["（一）公开；", "（二）公正；", "（三）便民。"],
        },
        {"text": "示范管理机关应当依法履行职责。", "items": []},
    ]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "law.import"))
    assert entry.detail_dict["articles"] == 6


def test_the_text_of_a_registered_version_fills_it(app):
    bank.add_law(SYSTEM, LAW, FIRST)
    db.session.commit()
    result = import_text(MARKDOWN, "示范管理法.md", label=FIRST)
    assert db.session.scalar(select(func.count(LawVersion.id))) == 1
    assert result.version.has_text


def test_importing_the_same_version_twice_is_refused(app):
    import_text()
    plan = plan_law_import(OFFICIAL.encode(), "示范管理法.txt")
    assert not plan.ok
    assert "已经导入过" in plan.errors[0]


def test_a_text_without_caption_needs_a_version(app):
    text = "第一条　甲。\n第二条　乙。\n"
    plan = plan_law_import(text.encode(), "某某法.txt")
    assert plan.law_name == "某某法"
    assert "无法从题注判断版本" in plan.errors[0]
    assert plan_law_import(text.encode(), "某某法.txt", label="2020年").ok


def test_cli_import_prints_the_summary(runner, tmp_path):
    path = tmp_path / "示范管理法.txt"
    path.write_text(OFFICIAL, encoding="gb18030")
    result = runner.invoke(args=["laws", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "《示范管理法》（2010年修正）" in result.output
    assert "6 条（第一条至第五条）" in result.output
    assert "已导入" in result.output
    assert db.session.scalar(select(func.count(LawArticle.id))) == 6


def test_cli_dry_run_writes_nothing(runner, tmp_path):
    path = tmp_path / "示范管理法.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    result = runner.invoke(args=["laws", "import", str(path), "--version", FIRST, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "试运行" in result.output
    assert db.session.scalar(select(func.count(Law.id))) == 0


def test_cli_refuses_a_bad_file_and_exits_non_zero(runner, tmp_path):
    path = tmp_path / "某某法.txt"
    path.write_text(
        "某某法\n\n（2001年1月1日通过）\n\n第一条　甲。\n第一条　乙。\n", encoding="utf-8"
    )
    result = runner.invoke(args=["laws", "import", str(path)])
    assert result.exit_code != 0
    assert "第一条重复" in result.output
    assert db.session.scalar(select(func.count(Law.id))) == 0


def test_cli_revision_prints_the_one_line_diff(runner, tmp_path):
    import_text()
    question("第2条第2款")
    path = tmp_path / "示范管理法.txt"
    path.write_text(REVISED, encoding="utf-8")
    result = runner.invoke(args=["laws", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "条文：未变 1，修改 1，新增 1，删除 1，移位 3；待复核试题 1" in result.output


# --- citations checked against the text ------------------------------------------------


def test_citations_to_articles_the_text_lacks_are_refused(app):
    import_text()
    for places, message in [
        ("第9条", "没有第9条"),
        ("第4条之一", "没有第4条之一"),
        ("第2条第3款", "第2条只有2款，没有第3款"),
        ("第2条第（四）项", "第2条只有3项，没有第（四）项"),
        ("第4条第（一）项", "第4条没有分项"),
    ]:
        with pytest.raises(BankError, match=re.escape(message)):
            question(places)
    kept = question("第2条第1款第（三）项", "第3条之一", "第4条第2款")
    assert [r.place for r in refs_of(kept.id)] == [
        "第2条第1款第（三）项",
        "第3条之一",
        "第4条第2款",
    ]


def test_the_bank_lists_citations_the_imported_text_lacks(app):
    bank.add_law(SYSTEM, LAW, FIRST)
    db.session.commit()
    fine, wrong = question("第2条"), question("第8条")
    version = import_text(label=FIRST).version
    broken = broken_citations(version)
    assert [(b.question_id, b.place) for b in broken] == [(wrong.id, "第8条")]
    assert fine.id not in {b.question_id for b in broken}


# --- a revision ------------------------------------------------------------------------


def test_a_revision_flags_exactly_the_questions_citing_changed_articles(app):
    import_text()
    same = question("第1条")
    changed = question("第2条第2款")
    renumbered = question("第3条")
    removed = question("第4条")
    mixed = question("第1条", "第5条")
    bank.add_law(SYSTEM, "其他法", "2020年")
    db.session.commit()
    other = question("第1条", law="其他法", version=None)

    result = import_text(REVISED)
    assert dict(result.counts) == {
        "unchanged": 1,
        "changed": 1,
        "added": 1,
        "removed": 1,
        "renumbered": 3,
    }
    assert result.flagged == 4
    flagged = {q.id for q in (changed, renumbered, removed, mixed)}
    for q in (same, changed, renumbered, removed, mixed, other):
        expected = QuestionStatus.NEEDS_REVIEW if q.id in flagged else QuestionStatus.ACTIVE
        assert status_of(q.id) == expected.value, q.id
    # The question citing only an unchanged article moved to the new version by itself.
    assert refs_of(same.id) == [LawRefDraft(LAW, SECOND, 1)]
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "law.import").order_by(AuditEntry.id.desc())
    )
    assert entry.detail_dict["moved_questions"] == [same.id]
    assert refs_of(other.id) == [LawRefDraft("其他法", "2020年", 1)]
    note = db.session.get(Question, renumbered.id).review_note
    assert "第3条移位→第4条" in note


def test_confirming_a_review_moves_the_citation_to_the_new_number(app, client, login_as):
    import_text()
    renumbered = question("第3条之一")
    changed = question("第2条第2款")
    removed = question("第4条")
    import_text(REVISED)
    bank.confirm_review(SYSTEM, db.session.get(Question, renumbered.id))
    bank.confirm_review(SYSTEM, db.session.get(Question, changed.id))
    db.session.commit()
    assert refs_of(renumbered.id) == [LawRefDraft(LAW, SECOND, 5)]
    assert refs_of(changed.id) == [LawRefDraft(LAW, SECOND, 2, 0, 2)]
    with pytest.raises(BankError, match="已删除"):
        bank.confirm_review(SYSTEM, db.session.get(Question, removed.id))


def test_a_revision_of_a_law_without_text_flags_every_citing_question(app):
    bank.add_law(SYSTEM, LAW, "2001年")
    db.session.commit()
    citing = question("第1条", version=None)
    result = import_text()
    assert result.flagged_without_diff and result.flagged == 1
    assert status_of(citing.id) == QuestionStatus.NEEDS_REVIEW.value


def test_the_flagged_question_shows_the_diff_beside_it(app, client, login_as):
    import_text()
    changed = question("第2条第2款")
    import_text(REVISED)
    login_as(Role.TRAINER)
    page = client.get(f"/bank/{changed.id}").text
    assert "法律修订对本题的影响" in page
    assert '<ins class="text-success">、高效</ins>' in page


# --- 款 and 项 kept everywhere ------------------------------------------------------------


def test_the_edit_form_keeps_a_paragraph(app, client, login_as):
    import_text()
    cited = question("第4条")
    login_as(Role.TRAINER)
    form = {
        "type": "true_false",
        "stem": "关于第4条的判断题",
        "judgement": "0",
        "difficulty": "",
        "law_refs": f"{LAW}（{FIRST}）第4条第2款",
        "topics": "",
    }
    response = client.post(f"/bank/{cited.id}/edit", data=form)
    assert response.status_code == 302, response.text
    assert refs_of(cited.id) == [LawRefDraft(LAW, FIRST, 4, 0, 2)]
    page = client.get(f"/bank/{cited.id}").text
    assert f"{LAW}（{FIRST}）第4条第2款</a>" in page


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_and_import_keep_paragraphs_and_items(app, fmt):
    import_text()
    original = question("第2条第1款第（二）项", "第3条之一", "第4条第2款")
    draft = bank.current_draft(db.session.get(Question, original.id))
    data = formats.export([draft], fmt)
    parsed = formats.parse(data, fmt)
    assert parsed.errors == []
    assert parsed.rows[0].draft.law_refs == draft.law_refs


# --- the reader ------------------------------------------------------------------------


def test_the_reader_the_article_page_and_search(app, client, login_as):
    version = import_text().version
    cited = question("第2条第1款")
    login_as(Role.LEARNER)
    toc = client.get(f"/laws/{version.id}").text
    assert "第二编　分则" in toc and "第一分编　登记" in toc and "第二节　受理" in toc
    page = client.get(f"/laws/{version.id}/articles/3-1").text
    assert "申请书应当载明申请人的姓名和住所" in page
    assert "第一节　申请" in page  # where it sits
    assert "引用本条的试题" not in page  # learners do not see the bank
    article = client.get(f"/laws/{version.id}/articles/2").text
    assert 'id="p2"' in article and 'id="p1-i3"' in article
    assert client.get(f"/laws/{version.id}/articles/9").status_code == 404
    found = client.get(f"/laws/{version.id}/search", query_string={"q": "书面说明"}).text
    assert "第四条" in found and "第一条" not in found
    jump = client.get(f"/laws/{version.id}/search", query_string={"q": "第三条之一"})
    assert jump.status_code == 302 and jump.location.endswith(f"/laws/{version.id}/articles/3-1")
    client.post("/logout")
    login_as(Role.TRAINER)
    article = client.get(f"/laws/{version.id}/articles/2").text
    assert f"/bank/{cited.id}" in article and "第1款" in article
    assert "依据本条出题" in article


def test_citations_link_to_the_cited_text(app, client, login_as):
    version = import_text().version
    cited = bank.add_question(
        SYSTEM,
        QuestionDraft(
            "true_false",
            "题干",
            ["正确", "错误"],
            [0],
            [],
            explanation=f"依照《中华人民共和国{LAW}》第三条之一，应当载明。",
            law_refs=[LawRefDraft(LAW, FIRST, 2, 0, 1, 2)],
        ),
    )
    db.session.commit()
    login_as(Role.TRAINER)
    page = client.get(f"/bank/{cited.id}").text
    link = re.search(
        r'<a href="(/laws/cite\?[^"]+)">示范管理法（2010年修正）第2条第1款第（二）项</a>', page
    )
    assert link, page
    target = client.get(link[1].replace("&amp;", "&"))
    assert target.status_code == 302
    assert target.location.endswith(f"/laws/{version.id}/articles/2#p1-i2")
    assert "第三条之一</a>，应当载明" in page


def test_drafting_from_an_article_fills_the_citation(app, client, login_as):
    login_as(Role.TRAINER)
    page = client.get("/bank/new", query_string={"law_refs": f"{LAW}（{FIRST}）第2条第1款"}).text
    assert f'value="{LAW}（{FIRST}）第2条第1款"' in page


def test_the_changes_page_marks_the_changed_words(app, client, login_as):
    import_text()
    version = import_text(REVISED).version
    login_as(Role.LEARNER)
    page = client.get(f"/laws/{version.id}/changes").text
    assert "修改" in page and "移位" in page and "删除" in page
    assert '<ins class="text-success">、高效</ins>' in page


def test_the_library_says_how_to_import_missing_texts(app, client, login_as):
    bank.add_law(SYSTEM, "某某法", "2020年")
    db.session.commit()
    login_as(Role.LEARNER)
    page = client.get("/laws/").text
    assert "文本未导入" in page and "flask --app app laws import" in page


# --- the web import ----------------------------------------------------------------------


def test_web_import_previews_then_imports(app, client, login_as):
    login_as(Role.TRAINER)
    data = {"file": (io.BytesIO(docx_bytes(OFFICIAL.splitlines())), "示范管理法.docx")}
    preview = client.post("/laws/import", data=data, content_type="multipart/form-data")
    assert preview.status_code == 200, preview.text
    assert "检查通过" in preview.text and "第一分编　登记" in preview.text
    assert db.session.scalar(select(func.count(Law.id))) == 0
    token = re.search(r'action="/laws/import/([^"]+)"', preview.text)[1]
    hidden = dict(
        re.findall(
            r'name="(confirm-law_name|confirm-label)" type="hidden" value="([^"]*)"', preview.text
        )
    )
    confirm = client.post(f"/laws/import/{token}", data=hidden)
    assert confirm.status_code == 302
    assert db.session.scalar(select(func.count(LawArticle.id))) == 6
    again = client.post(f"/laws/import/{token}", data=hidden)
    assert again.status_code == 302 and db.session.scalar(select(func.count(LawArticle.id))) == 6


def test_web_import_of_a_revision_previews_its_impact(app, client, login_as):
    import_text()
    question("第2条第2款")
    login_as(Role.TRAINER)
    data = {"file": (io.BytesIO(REVISED.encode()), "示范管理法.txt")}
    preview = client.post("/laws/import", data=data, content_type="multipart/form-data")
    assert "条文：未变 1，修改 1，新增 1，删除 1，移位 3；待复核试题 1" in preview.text
    assert db.session.scalar(select(func.count(LawVersion.id))) == 1


def test_web_import_shows_what_is_wrong_where_and_imports_nothing(app, client, login_as):
    login_as(Role.TRAINER)
    text = "某某法\n\n（2001年1月1日通过）\n\n第一条　甲。\n第三条　丙。\n"
    data = {"file": (io.BytesIO(text.encode()), "某某法.txt")}
    preview = client.post("/laws/import", data=data, content_type="multipart/form-data")
    assert preview.status_code == 400
    assert "第 6 行" in preview.text and "条文编号不连续" in preview.text
    assert "确认导入" not in preview.text
    assert db.session.scalar(select(func.count(Law.id))) == 0


def test_web_import_refuses_other_file_types(app, client, login_as):
    login_as(Role.TRAINER)
    data = {"file": (io.BytesIO(b"x"), "statute.pdf")}
    page = client.post("/laws/import", data=data, content_type="multipart/form-data")
    assert "只支持 docx、txt、md 文件" in page.text


# --- seed-demo -------------------------------------------------------------------------------


def test_demo_texts_come_from_a_folder(app, tmp_path):
    name, _, label, _ = DEMO_LAWS[4]  # 行政强制法
    bank.add_law(SYSTEM, name, label)
    db.session.commit()
    (tmp_path / f"{name}.md").write_text(MARKDOWN, encoding="utf-8")
    assert load_law_texts(SYSTEM, tmp_path) == [name]
    version = db.session.scalar(select(Law).where(Law.name == name)).current_version
    assert version.label == label and version.has_text
    assert load_law_texts(SYSTEM, tmp_path) == []  # already there: left alone


def test_the_report_lists_broken_citations_for_trainers(app, client, login_as):
    bank.add_law(SYSTEM, LAW, FIRST)
    db.session.commit()
    wrong = question("第8条")
    version = import_text(label=FIRST).version
    login_as(Role.TRAINER)
    assert "题库引用核对" in client.get("/laws/").text
    page = client.get(f"/laws/{version.id}/report").text
    assert f"/bank/{wrong.id}" in page and "没有第8条" in page


def test_a_constitution_reads_with_its_preamble_and_amendments(app, client, login_as):
    version = import_text(CHARTER, "章程.md", law="示范章程", label="2020年修正").version
    login_as(Role.LEARNER)
    page = client.get(f"/laws/{version.id}").text
    assert "本章程是示范组织的根本章程。" in page
    assert "示范组织章程修正案（2010年）" in page and "第二节　理事会" not in page
    amendment = client.get(f"/laws/{version.id}/amendments/2").text
    assert "理事会执行大会的决议" in amendment and "示范章程修正案第二条" in amendment
    # The article an amendment quotes is not an article of the charter.
    assert client.get(f"/laws/{version.id}/articles/3-1").status_code == 404
    with pytest.raises(BankError, match="没有第4条"):
        question("第4条", law="示范章程", version="2020年修正")


NUMBERED_BANK = """一、单项选择题
1．违法行为在几年内未被发现的，不再给予行政处罚？
A．一年
B．二年
答案：B
法律依据：行政处罚法（2021年修订）第36条第1款、第9条第（二）项
"""


@pytest.mark.parametrize("fmt", ["cn_text", "docx"])
def test_numbered_and_word_banks_keep_paragraphs_and_items(fmt):
    data = NUMBERED_BANK.encode() if fmt == "cn_text" else docx_bytes(NUMBERED_BANK.splitlines())
    parsed = formats.parse(data, fmt)
    assert parsed.errors == []
    assert parsed.rows[0].draft.law_refs == [
        LawRefDraft("行政处罚法", "2021年修订", 36, 0, 1),
        LawRefDraft("行政处罚法", "2021年修订", 9, 0, None, 2),
    ]


def test_the_article_page_lists_the_lessons_citing_it(app, client, login_as):
    from tests.factories import make_module

    version = import_text().version
    question("第1条")  # for the module's quiz
    module = make_module(1, title="示范模块", law_refs=f"{LAW}（{FIRST}）第2条第1款")
    lesson_url = f"/study/modules/{module.id}/lessons/{module.published.lessons[0].key}"
    login_as(Role.LEARNER)
    page = client.get(f"/laws/{version.id}/articles/2").text
    assert "引用本条的课程" in page and f'href="{lesson_url}">示范模块 · 第1课</a>' in page
    assert "引用本条的课程" not in client.get(f"/laws/{version.id}/articles/1").text
    client.post("/logout")
    login_as(Role.TRAINER)  # reads the library, does not take lessons: the title alone
    page = client.get(f"/laws/{version.id}/articles/2").text
    assert "示范模块 · 第1课" in page and lesson_url not in page


def test_the_changes_page_names_lessons_citing_articles_that_moved(app, client, login_as):
    from tests.factories import make_module

    import_text()
    question("第1条")  # for the module's quiz
    make_module(1, title="示范模块", law_refs=f"{LAW}第3条")  # no version: the current one
    make_module(1, title="无关模块", law_refs=f"{LAW}第1条")  # unchanged: not named
    version = import_text(REVISED).version
    login_as(Role.LEARNER)
    page = client.get(f"/laws/{version.id}/changes").text
    assert "示范模块 · 第1课</a>：原第三条移位（现为第四条）" in page
    assert "无关模块" not in page
