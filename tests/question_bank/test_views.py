"""The trainers' question bank screens, through HTTP."""

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from core.uploads import PendingUpload
from question_bank import bank, importing
from question_bank.drafts import LawRefDraft, QuestionDraft
from question_bank.models import Law, Question, QuestionStatus, Topic
from tests.factories import HEADER, penalty_draft

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def add(draft: QuestionDraft) -> Question:
    question = bank.add_question(SYSTEM, draft)
    db.session.commit()
    return question


def fresh(question_id: int) -> Question:
    """The question as the last request left it (requests run in their own sessions)."""
    db.session.expire_all()
    return db.session.get(Question, question_id)


def question_count() -> int:
    return db.session.scalar(select(func.count(Question.id)))


def listed_ids(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'name="question_ids" value="(\d+)"', page)}


def single_form(**overrides) -> dict:
    """The new/edit form filled in as a trainer would for penalty_draft()."""
    data = {
        "type": "single",
        "stem": "违法行为在几年内未被发现的，不再给予行政处罚？",
        "choice_a": "一年",
        "choice_b": "二年",
        "choice_c": "三年",
        "choice_d": "五年",
        "single_answer": "B",
        "explanation": "二年内未被发现的，不再给予行政处罚。",
        "difficulty": "2",
        "law_refs": "行政处罚法（2021年修订）第36条",
        "topics": "追责时效",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def laws(app):
    penalty = bank.add_law(SYSTEM, "行政处罚法", "2021年修订", "中华人民共和国行政处罚法")
    constitution = bank.add_law(SYSTEM, "宪法", "2018年修正")
    compensation = bank.add_law(SYSTEM, "国家赔偿法", "2012年修正")
    db.session.commit()
    return {"行政处罚法": penalty.id, "宪法": constitution.id, "国家赔偿法": compensation.id}


@pytest.fixture
def trainer(login_as):
    return login_as(Role.TRAINER)


# --- list ----------------------------------------------------------------------------


@pytest.fixture
def listed(laws):
    """Five questions that differ in one respect each; names -> ids, plus law/topic ids."""
    ids = {
        "penalty": add(penalty_draft()).id,
        "constitution": add(
            QuestionDraft(
                "true_false",
                "宪法是国家的根本法，具有最高的法律效力。",
                ["正确", "错误"],
                [0],
                [],
                difficulty=1,
                law_refs=[LawRefDraft("宪法", None, 5)],
                topics=["宪法宣誓"],
            )
        ).id,
        "uncited": add(
            QuestionDraft(
                "fill_blank",
                "政府信息公开申请应当采用ＰＤＦ或者书面形式，在____内答复。",
                [],
                [],
                [["二十个工作日", "20个工作日"]],
                difficulty=5,
            )
        ).id,
        "retired": add(
            penalty_draft(stem="行政处罚的种类不包括哪一项？", choices=["警告", "记过"], answer=[1])
        ).id,
        "flagged": add(
            QuestionDraft(
                "multiple",
                "国家赔偿的方式包括哪些？ (abc)",
                ["支付赔偿金", "返还财产", "恢复原状", "赔礼道歉"],
                [0, 1, 2],
                [],
                law_refs=[LawRefDraft("国家赔偿法", None, 32)],
            )
        ).id,
    }
    bank.retire(SYSTEM, db.session.get(Question, ids["retired"]))
    bank.record_law_revision(SYSTEM, db.session.get(Law, laws["国家赔偿法"]), "2030年修正", None)
    db.session.commit()
    topic = db.session.scalar(select(Topic).where(Topic.name == "追责时效"))
    return ids | {"law:行政处罚法": laws["行政处罚法"], "topic:追责时效": topic.id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"penalty", "constitution", "uncited", "flagged"}),
        ({"law_id": "law:行政处罚法"}, {"penalty"}),
        ({"topic_id": "topic:追责时效"}, {"penalty"}),
        ({"type": "true_false"}, {"constitution"}),
        ({"difficulty": "5"}, {"uncited"}),
        ({"status": "active"}, {"penalty", "constitution", "uncited"}),
        ({"status": "needs_review"}, {"flagged"}),
        ({"status": "retired"}, {"retired"}),
        ({"status": "all"}, {"penalty", "constitution", "uncited", "retired", "flagged"}),
        ({"missing_citation": "y"}, {"uncited"}),
        ({"q": "根本法"}, {"constitution"}),
        ({"q": "最高的法律　效力"}, {"constitution"}),  # terms split on a full-width space
        ({"q": "pdf"}, {"uncited"}),  # the stem has full-width ＰＤＦ
        ({"q": "ＡＢＣ"}, {"flagged"}),  # the stem has half-width abc
        ({"q": "二年 行政处罚"}, {"penalty"}),  # every term must occur
        ({"q": "根本法 二年"}, set()),
        ({"q": "%"}, set()),  # LIKE wildcards are searched for literally
        ({"q": "赔偿_方式"}, set()),
    ],
)
def test_each_filter_narrows_the_list(client, trainer, listed, query, expected):
    params = {k: listed[v] if v.startswith(("law:", "topic:")) else v for k, v in query.items()}
    page = client.get("/bank/", query_string=params)
    assert page.status_code == 200
    assert listed_ids(page.text) == {listed[name] for name in expected}


def test_list_rows_show_citations_badges_topics_status_and_version(client, trainer, listed):
    page = client.get("/bank/", query_string={"status": "all"}).text
    assert "行政处罚法（2021年修订）第36条" in page
    assert '<span class="badge text-bg-warning">缺少法律依据</span>' in page
    assert "追责时效" in page and "第 1 版" in page
    assert "已停用" in page and "待复核" in page
    assert "《国家赔偿法》已修订（2030年修正），请核对后确认或修改" in page
    assert "二年内未被发现的" not in page, "the list shows stems, not explanations"


def test_list_is_paginated_by_fifty(client, trainer, laws):
    for n in range(51):
        bank.add_question(SYSTEM, penalty_draft(stem=f"第{n}道题"))
    db.session.commit()
    first = client.get("/bank/").text
    second = client.get("/bank/?page=2").text
    assert len(listed_ids(first)) == 50 and len(listed_ids(second)) == 1
    assert "共 51 条" in first


def test_bulk_tag_adds_a_topic_to_the_selected_questions(client, trainer, listed):
    chosen = [listed["penalty"], listed["uncited"]]
    response = client.post(
        "/bank/tag?type=single&_external=1", data={"topic": "执法证考试", "question_ids": chosen}
    )
    assert response.status_code == 302 and response.location == "/bank/?type=single"
    page = client.get("/bank/", query_string={"q": "执法证考试"})
    assert "已为 2 道试题添加知识点「执法证考试」" in page.text
    topic = db.session.scalar(select(Topic).where(Topic.name == "执法证考试"))
    tagged = client.get("/bank/", query_string={"topic_id": topic.id}).text
    assert listed_ids(tagged) == set(chosen)


def test_bulk_tag_without_a_selection_says_so(client, trainer, listed):
    client.post("/bank/tag", data={"topic": "执法证考试"})
    assert "请先勾选试题" in client.get("/bank/").text
    assert db.session.scalar(select(Topic).where(Topic.name == "执法证考试")) is None


# --- new, preview, edit ----------------------------------------------------------------


def test_trainer_creates_a_question(client, trainer, laws):
    response = client.post("/bank/new", data=single_form(topics="追责时效 | 总则"))
    question = db.session.scalar(select(Question))
    assert response.status_code == 302 and response.location.endswith(f"/bank/{question.id}")
    assert bank.current_draft(question) == penalty_draft(topics=["追责时效", "总则"])
    assert question.created_by == trainer.id
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
        "question.create"
    )


def test_trainer_creates_true_false_and_fill_blank_questions(client, trainer, laws):
    client.post(
        "/bank/new",
        data={"type": "true_false", "stem": "宪法是根本法。", "judgement": "0", "difficulty": ""},
    )
    client.post(
        "/bank/new",
        data={
            "type": "fill_blank",
            "stem": "行政复议期间为____，复杂案件可延长____。",
            "blanks": "六十日/60日\n三十日",
            "choice_a": "leftover from another type",
            "difficulty": "",
        },
    )
    true_false, fill_blank = db.session.scalars(select(Question).order_by(Question.id))
    assert true_false.current_version.answer == [0]
    assert fill_blank.current_version.blanks == [["六十日", "60日"], ["三十日"]]
    assert fill_blank.current_version.choices == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stem": " "}, "题干不能为空"),
        ({"type": "multiple", "answer": ["A"]}, "多选题至少应有两个正确选项"),
        ({"single_answer": None}, "未设置正确答案"),
        ({"choice_b": ""}, "选项B为空，但其后还有选项"),
        ({"type": "true_false"}, "判断题的答案必须是「正确」或「错误」之一"),
        ({"type": "fill_blank", "stem": "两个空____和____"}, "填空题至少需要一个空的答案"),
        ({"law_refs": "行政处罚法"}, "法律依据缺少条款号"),
        ({"law_refs": "劳动法第1条"}, "法律库中没有「劳动法」，请先登记该法律"),
        ({"law_refs": "行政处罚法（2009年修正）第1条"}, "没有登记版本「2009年修正」"),
        ({"topics": "x" * 51}, "超过50字"),
        ({"type": "oral"}, "不是有效的选择"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(
    client, trainer, laws, overrides, message
):
    response = client.post("/bank/new", data=single_form(**overrides))
    assert response.status_code == 200
    assert message in response.text
    assert "invalid-feedback" in response.text, "the message sits on its field"
    assert question_count() == 0


def test_preview_shows_the_question_as_learners_see_it_and_saves_nothing(client, trainer, laws):
    response = client.post(
        "/bank/new",
        data={
            "type": "fill_blank",
            "stem": "当事人要求听证的，应当在行政机关告知后____内提出。",
            "blanks": "五日/5日",
            "explanation": "第六十四条。",
            "law_refs": "行政处罚法第64条",
            "difficulty": "",
            "preview": "预览",
        },
    )
    assert response.status_code == 200 and question_count() == 0
    page = response.text
    question_part = page.split('data-part="question"')[1].split('data-part="key"')[0]
    key_part = page.split('data-part="key"')[1].split("</dl>")[0]
    assert "当事人要求听证的" in question_part
    assert "五日" not in question_part and "正确答案" not in question_part
    assert "五日 / 5日" in key_part and "第六十四条" in key_part
    # Each reference links to the article it cites.
    assert re.search(r'<a href="/laws/cite\?[^"]+">行政处罚法第64条</a>', key_part)


def test_preview_of_a_choice_question_marks_no_choice(client, trainer, laws):
    page = client.post("/bank/new", data=single_form(preview="预览")).text
    question_part = page.split('data-part="question"')[1].split('data-part="key"')[0]
    assert "B. 二年" in question_part
    assert "checked" not in question_part and "答案" not in question_part
    assert question_count() == 0


def test_preview_shows_errors_instead_of_a_preview(client, trainer, laws):
    page = client.post("/bank/new", data=single_form(stem="", preview="预览")).text
    assert "题干不能为空" in page and 'data-part="question"' not in page


def test_edit_page_shows_the_current_version(client, trainer, laws):
    question = add(penalty_draft(topics=["追责时效", "总则"]))
    page = client.get(f"/bank/{question.id}/edit").text
    assert "违法行为在几年内未被发现的" in page
    assert 'value="行政处罚法（2021年修订）第36条"' in page
    assert 'value="追责时效 | 总则"' in page
    assert re.search(r'<input checked[^>]* name="single_answer" type="radio" value="B">', page)
    assert "修改说明" in page


def test_edit_makes_version_two_and_the_history_shows_what_changed(client, trainer, laws):
    question = add(penalty_draft())
    response = client.post(
        f"/bank/{question.id}/edit",
        data=single_form(
            single_answer="C",
            explanation="三年内未被发现的，不再给予行政处罚。",
            change_note="按新法调整",
        ),
    )
    assert response.status_code == 302
    question = fresh(question.id)
    assert question.current_number == 2
    assert [v.answer for v in question.versions] == [[1], [2]]
    detail = client.get(f"/bank/{question.id}").text
    assert "已保存为第 2 版" in detail
    history = detail.split("修改记录")[1]
    assert "按新法调整" in history and "答案、解析" in history and "新建" in history


def test_edit_without_change_makes_no_version(client, trainer, laws):
    question = add(penalty_draft())
    response = client.post(
        f"/bank/{question.id}/edit", data=single_form(change_note="只是看看"), follow_redirects=True
    )
    assert "没有修改" in response.text
    assert fresh(question.id).current_number == 1
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "question.edit")
        )
        == 0
    )


def test_edit_with_errors_keeps_the_current_version(client, trainer, laws):
    question = add(penalty_draft())
    page = client.post(f"/bank/{question.id}/edit", data=single_form(choice_a="", choice_b=""))
    assert "选项A为空，但其后还有选项" in page.text
    assert fresh(question.id).current_number == 1


def test_edit_preview_saves_nothing(client, trainer, laws):
    question = add(penalty_draft())
    page = client.post(
        f"/bank/{question.id}/edit", data=single_form(stem="改过的题干？", preview="预览")
    ).text
    assert "改过的题干？" in page.split('data-part="question"')[1]
    assert fresh(question.id).current_version.stem == penalty_draft().stem


# --- detail, retire, restore, review -------------------------------------------------


def test_detail_shows_key_explanation_citations_topics_and_status(client, trainer, laws):
    question = add(penalty_draft())
    page = client.get(f"/bank/{question.id}").text
    assert 'B. 二年 <span class="badge text-bg-success">答案</span>' in page
    assert "二年内未被发现的" in page and "行政处罚法（2021年修订）第36条" in page
    assert "追责时效" in page and "在用" in page and "第 1 版" in page
    assert "/retire" in page and "/restore" not in page and "/confirm" not in page


def test_retire_and_restore(client, trainer, laws):
    question = add(penalty_draft())
    client.post(f"/bank/{question.id}/retire")
    assert fresh(question.id).status == QuestionStatus.RETIRED
    assert question.id not in listed_ids(client.get("/bank/").text)
    page = client.get(f"/bank/{question.id}").text
    assert "已停用" in page and "/restore" in page
    client.post(f"/bank/{question.id}/retire")
    assert "该题已停用" in client.get(f"/bank/{question.id}").text
    client.post(f"/bank/{question.id}/restore")
    assert fresh(question.id).status == QuestionStatus.ACTIVE
    assert question.id in listed_ids(client.get("/bank/").text)


def test_law_revision_flags_citing_questions_until_confirmed(client, trainer, laws):
    citing = add(penalty_draft())
    other = add(penalty_draft(stem="别的法", law_refs=[LawRefDraft("宪法", None, 1)]))
    response = client.post(
        f"/bank/laws/{laws['行政处罚法']}/revisions",
        data={"label": "2030年修订", "effective_on": "2030-01-01"},
        follow_redirects=True,
    )
    assert "已登记「行政处罚法」新版本「2030年修订」为现行版本，1 道试题变为待复核" in response.text
    flagged = client.get("/bank/", query_string={"status": "needs_review"}).text
    assert listed_ids(flagged) == {citing.id}
    assert "《行政处罚法》已修订（2030年修订）" in flagged
    assert fresh(other.id).status == QuestionStatus.ACTIVE

    detail = client.get(f"/bank/{citing.id}").text
    assert "确认复核" in detail
    client.post(f"/bank/{citing.id}/confirm")
    question = fresh(citing.id)
    assert question.status == QuestionStatus.ACTIVE and question.current_number == 2
    assert "行政处罚法（2030年修订）第36条" in client.get(f"/bank/{citing.id}").text


def test_confirm_refuses_a_question_that_needs_no_review(client, trainer, laws):
    question = add(penalty_draft())
    client.post(f"/bank/{question.id}/confirm")
    assert "该题不需要复核" in client.get(f"/bank/{question.id}").text
    assert fresh(question.id).current_number == 1


# --- laws ----------------------------------------------------------------------------


def test_laws_page_marks_the_current_version_and_counts_citing_questions(client, trainer, laws):
    add(penalty_draft())
    add(penalty_draft(stem="另一道", law_refs=[LawRefDraft("行政处罚法", None, 9)]))
    bank.record_law_revision(SYSTEM, db.session.get(Law, laws["行政处罚法"]), "2030年修订", None)
    db.session.commit()
    page = client.get("/bank/laws").text
    row = page.split("中华人民共和国行政处罚法")[1].split("</tr>")[0]
    assert re.search(r"2030年修订\s*<span class=\"badge text-bg-success\">现行</span>", row)
    assert re.search(r"2030年修订.*?· 0 道.*2021年修订.*?· 2 道", row, re.S)


def test_trainer_registers_a_law_under_its_short_name(client, trainer):
    response = client.post(
        "/bank/laws",
        data={
            "law-name": "《中华人民共和国行政许可法》",
            "law-full_name": "中华人民共和国行政许可法",
            "law-label": "2019年修正",
            "law-effective_on": "2019-04-23",
        },
    )
    assert response.status_code == 302
    law = db.session.scalar(select(Law))
    assert law.name == "行政许可法" and law.current_version.label == "2019年修正"
    assert str(law.current_version.effective_on) == "2019-04-23"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"law-name": "宪法", "law-label": "2018年修正"}, "法律库中已有「宪法」"),
        ({"law-name": "", "law-label": "2018年修正"}, "请填写法律简称"),
        ({"law-name": "劳动法", "law-label": ""}, "请填写现行版本"),
        ({"law-name": "劳动法", "law-label": "2018年", "law-effective_on": "明年"}, "日期格式"),
    ],
)
def test_bad_law_input_is_refused(client, trainer, laws, data, message):
    response = client.post("/bank/laws", data=data)
    assert response.status_code == 200 and message in response.text
    assert db.session.scalar(select(func.count(Law.id))) == 3


def test_a_revision_label_must_be_new(client, trainer, laws):
    response = client.post(f"/bank/laws/{laws['宪法']}/revisions", data={"label": "2018年修正"})
    assert response.status_code == 200 and "「宪法」已有版本「2018年修正」" in response.text
    assert len(db.session.get(Law, laws["宪法"]).versions) == 1


# --- import --------------------------------------------------------------------------


def csv_file(*rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


GOOD_ROWS = [
    [
        "单选",
        "行政处罚由违法行为发生地的哪级以上行政机关管辖？",
        "乡级",
        "县级",
        "市级",
        "省级",
        "B",
        "",
        "2",
        "行政处罚法第22条",
        "管辖",
    ],
    [
        "判断",
        "国家赔偿以支付赔偿金为主要方式。",
        "",
        "",
        "",
        "",
        "正确",
        "",
        "",
        "国家赔偿法（2012年修正）第32条",
        "",
    ],
    [
        "填空",
        "行政复议期间为____。",
        "",
        "",
        "",
        "",
        "六十日/60日",
        "",
        "",
        "行政复议法第62条",
        "期限",
    ],
]


def upload(client, data: bytes, filename: str = "题库.csv", **fields):
    return client.post(
        "/bank/import",
        data={"file": (io.BytesIO(data), filename), **fields},
        content_type="multipart/form-data",
    )


def token_of(page: str) -> str:
    return re.search(r'action="/bank/import/([^"]+)"', page)[1]


def test_import_dry_run_lists_errors_by_row_and_writes_nothing(client, trainer, laws):
    bad = ["多选", "哪些属于行政处罚？", "警告", "罚款", "", "", "AE", "", "", "", ""]
    response = upload(
        client, csv_file(GOOD_ROWS[0], bad, ["单选", "", "甲", "乙", "", "", "A", "", "9", "", ""])
    )
    page = response.text
    assert response.status_code == 400
    assert "文件有 3 处错误，未导入任何试题" in page
    errors = page.split("<th>问题</th>")[1].split("</table>")[0]
    rows = re.findall(r'data-label="行">(\d+)</td><td data-label="列">([^<]+)</td>', errors)
    assert rows == [("3", "答案"), ("4", "难度"), ("4", "题干")]
    assert "答案「E」不是已填写的选项" in errors
    # All or nothing unless the trainer ticks the partial import, which starts unticked.
    confirm = page.split('action="/bank/import/')[1].split("</form>")[0]
    assert 'name="skip_invalid"' in confirm and "checked" not in confirm.split("skip_invalid")[1]
    response = client.post(f"/bank/import/{token_of(page)}", data={"duplicates": "skip"})
    assert response.status_code == 400 and "导入失败，未写入任何试题" in response.text
    assert question_count() == 0
    # Kept for the error pages, the error file and a partial import.
    assert db.session.scalar(select(func.count(PendingUpload.id))) == 1


def test_import_preview_then_confirm_writes_every_row(client, trainer, laws):
    page = upload(client, csv_file(*GOOD_ROWS)).text
    assert "检查通过，尚未写入" in page and "通过检查的试题：3 道" in page
    assert "行政复议法（现行）" in page.split("将登记到法律库")[1]
    assert "行政处罚由违法行为发生地的哪级以上行政机关管辖？" in page
    assert question_count() == 0

    response = client.post(f"/bank/import/{token_of(page)}", data={"duplicates": "skip"})
    assert response.status_code == 302
    assert "已从「题库.csv」导入 3 道试题" in client.get("/bank/").text
    assert question_count() == 3
    assert db.session.scalar(select(Law).where(Law.name == "行政复议法")) is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.import"))
    assert entry.detail_dict["created"] == 3


def test_a_confirmed_import_cannot_be_confirmed_again(client, trainer, laws):
    token = token_of(upload(client, csv_file(*GOOD_ROWS)).text)
    client.post(f"/bank/import/{token}", data={"duplicates": "keep"})
    again = client.post(f"/bank/import/{token}", data={"duplicates": "keep"}, follow_redirects=True)
    assert "已导入或预览已过期" in again.text
    assert question_count() == 3


def test_another_trainer_cannot_confirm_my_upload(client, app, trainer, make_user, laws):
    token = token_of(upload(client, csv_file(*GOOD_ROWS)).text)
    other = make_user(Role.TRAINER)
    other_client = app.test_client()
    other_client.post("/login", data={"login": other.login, "password": "Passw0rd!"})
    other_client.post(f"/bank/import/{token}")
    assert question_count() == 0


def test_preview_says_which_rows_lost_their_option_numbering(client, trainer, laws):
    numbered = ["单选", "编号的选项", "A.乡级", "B.县级", "C.市级", "D.省级", "B", "", "", "", ""]
    content = [
        "单选",
        "外观设计专利",
        "发明",
        "实用新型",
        "外观设计",
        "D、S用于标识",
        "D",
        "",
        "",
        "",
        "",
    ]
    page = upload(client, csv_file(numbered, content)).text
    rows = re.findall(
        r'<td data-label="行">(\d+)</td>.*?<td data-label="读法与备注">(.*?)</td>', page, re.S
    )
    notes = {int(row): "已去掉选项前的字母编号" in cell for row, cell in rows}
    assert notes == {2: True, 3: False}


def test_a_row_failing_on_confirm_rolls_the_whole_import_back(client, trainer, laws, monkeypatch):
    page = upload(client, csv_file(*GOOD_ROWS)).text
    original, calls = importing.add_question, []

    def second_row_fails(actor, draft, **options):
        calls.append(draft)
        if len(calls) == 2:
            raise bank.BankError({"law_refs": "模拟：引用的法律已被删除"})
        return original(actor, draft, **options)

    monkeypatch.setattr(importing, "add_question", second_row_fails)
    response = client.post(f"/bank/import/{token_of(page)}", data={"duplicates": "skip"})
    assert response.status_code == 400
    assert "导入失败，未写入任何试题" in response.text
    assert re.search(r'data-label="行">3</td><td data-label="列">法律依据</td>', response.text)
    assert question_count() == 0
    assert db.session.scalar(select(Law).where(Law.name == "行政复议法")) is None


@pytest.mark.parametrize(("choice", "created"), [("skip", 1), ("keep", 3)])
def test_duplicates_are_skipped_or_kept(client, trainer, laws, choice, created):
    existing = add(penalty_draft())
    in_bank = ["单选", penalty_draft().stem, "一年", "二年", "三年", "五年", "B", "", "", "", ""]
    page = upload(client, csv_file(in_bank, GOOD_ROWS[0], GOOD_ROWS[0])).text
    duplicates = page.split('<h3 class="h6">重复的试题</h3>')[1].split("</table>")[0]
    assert "文件第 3 行" in duplicates
    assert f'href="/bank/{existing.id}"' in duplicates
    assert "跳过重复将导入 1 道；保留重复将导入 3 道" in page
    client.post(f"/bank/import/{token_of(page)}", data={"duplicates": choice})
    assert question_count() == 1 + created


def test_import_refuses_an_unknown_file_type(client, trainer):
    page = upload(client, b"hello", filename="题库.pdf").text
    assert "只支持 xlsx、csv、gift、txt、aiken、xml、docx 文件" in page
    old_word = upload(client, b"\xd0\xcf\x11\xe0hello", filename="题库.doc").text
    assert "不支持旧版 .doc 文件，请在 Word 中另存为 .docx" in old_word


def test_import_honours_the_chosen_format(client, trainer, laws):
    aiken = "宪法是国家的根本法吗？\nA. 是\nB. 不是\nANSWER: A\n".encode()
    page = upload(client, aiken, filename="题库.dat.txt", format="aiken").text
    assert "通过检查的试题：1 道" in page and "Moodle Aiken" in page


# --- export --------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "filename"), [("xlsx", "题库导出.xlsx"), ("csv", "题库导出.csv")])
def test_export_then_import_round_trips_through_the_pages(client, trainer, laws, fmt, filename):
    originals = [
        add(penalty_draft(topics=["追责时效", "总则"])),
        add(
            QuestionDraft(
                "fill_blank",
                "行政复议期间为____，复杂案件可延长____。",
                [],
                [],
                [["六十日", "60日"], ["三十日"]],
                explanation="第六十二条。",
                difficulty=3,
            )
        ),
        add(QuestionDraft("true_false", HOSTILE, ["正确", "错误"], [1], [])),
    ]
    drafts = [bank.current_draft(q) for q in originals]
    exported = client.get("/bank/export", query_string={"format": fmt})
    assert exported.status_code == 200
    assert (
        "filename*=UTF-8''" + "%E9%A2%98%E5%BA%93%E5%AF%BC%E5%87%BA"
        in exported.headers["Content-Disposition"]
    )
    assert filename.endswith(fmt)

    page = upload(client, exported.data, filename=filename).text
    assert "通过检查的试题：3 道" in page and "与题库已有试题重复：3 道" in page
    client.post(f"/bank/import/{token_of(page)}", data={"duplicates": "keep"})
    copies = db.session.scalars(select(Question).where(Question.id > originals[-1].id)).all()
    assert [bank.current_draft(q) for q in copies] == drafts


def test_export_applies_the_list_filters_and_leaves_out_retired(client, trainer, listed):
    exported = client.get("/bank/export", query_string={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 4
    true_false = client.get("/bank/export", query_string={"format": "csv", "type": "true_false"})
    rows = list(csv.reader(io.StringIO(true_false.data.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["宪法是国家的根本法，具有最高的法律效力。"]


def test_export_warns_about_questions_the_format_cannot_carry(client, trainer, laws):
    add(penalty_draft())
    add(QuestionDraft("fill_blank", "甲____乙____", [], [], [["一"], ["二"]]))
    exported = client.get("/bank/export", query_string={"format": "gift"})
    assert exported.status_code == 200 and exported.headers["X-Export-Skipped"] == "1"
    assert "题库导出.gift.txt" in exported.headers["Content-Disposition"].replace(
        "%E9%A2%98%E5%BA%93%E5%AF%BC%E5%87%BA", "题库导出"
    )
    assert "导出文件缺少 1 道该格式无法表示的试题" in client.get("/bank/").text


def test_export_refuses_an_import_only_format(client, trainer):
    response = client.get("/bank/export", query_string={"format": "aiken"}, follow_redirects=True)
    assert "不支持该导出格式" in response.text


def test_import_template_downloads(client, trainer):
    response = client.get("/bank/import/template.xlsx")
    assert response.status_code == 200 and response.data.startswith(b"PK")


# --- safety --------------------------------------------------------------------------


def test_hostile_text_is_escaped_on_every_page(client, trainer, laws):
    question = add(
        penalty_draft(stem=HOSTILE, choices=[HOSTILE + "甲", "乙"], answer=[0], topics=["<b>x</b>"])
    )
    pages = [
        client.get("/bank/").text,
        client.get(f"/bank/{question.id}").text,
        client.get(f"/bank/{question.id}/edit").text,
        client.post("/bank/new", data=single_form(stem=HOSTILE, preview="预览")).text,
    ]
    for page in pages:
        assert "<script>alert(1)" not in page and "<b>x</b>" not in page
        assert ESCAPED in page


@pytest.mark.parametrize("role", [Role.LEARNER, Role.UNIT_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR])
def test_only_trainers_reach_the_bank(client, login_as, laws, role):
    question = add(penalty_draft())
    login_as(role)
    for url in (
        "/bank/",
        "/bank/new",
        f"/bank/{question.id}",
        f"/bank/{question.id}/edit",
        "/bank/laws",
        "/bank/import",
        "/bank/export?format=csv",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/bank/{question.id}/retire").status_code == 403
    assert fresh(question.id).status == QuestionStatus.ACTIVE
    home = client.get("/").text
    assert "/bank/" not in home and "二年" not in home


def test_trainers_find_the_bank_in_the_menu_and_on_the_home_page(client, trainer):
    home = client.get("/").text
    assert 'href="/bank/">题库</a>' in home and "进入题库" in home
