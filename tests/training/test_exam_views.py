"""The candidate's pages and JSON API: my exams, rules, start, the paper, saves, submit,
results by review policy, access, CSRF, and that nothing before submission tells the key."""

import json
import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from core import clock
from core.extensions import db
from core.roles import Role
from training.exams import attempts
from training.exams.models import Attempt, PaperItem, Response

from ..factories import (
    BLANK_KEYS,
    EXPLANATION_MARK,
    MULTIPLE_KEYS,
    SINGLE_KEYS,
    add_batch,
    add_questions,
    correct_answer,
    make_exam,
)

ITEM_FIELDS = {"item_id", "position", "type", "type_label", "stem", "points", "input", "choices"}
ITEM_FIELDS |= {"blanks", "max_chars", "case"}  # case: the id of its material, never a key
KEY_FIELDS = {"answer", "answers", "blanks", "explanation", "earned", "key", "correct"}


@pytest.fixture
def exam(questions, learner):
    """Here the paper is shuffled: nothing may rely on the bank's order."""
    return make_exam(roster=[learner], shuffle_choices=True, shuffle_questions=True)


def start(client, exam) -> int:
    response = client.post(f"/exams/{exam.id}/start")
    assert response.status_code == 302, response.text
    match = re.fullmatch(r"/attempts/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


@pytest.fixture
def attempt_id(client, auth, learner, exam):
    auth.login(learner)
    return start(client, exam)


def paper_of(client, attempt_id):
    response = client.get(f"/attempts/{attempt_id}/paper")
    assert response.status_code == 200, response.text
    return response.json


def save(client, attempt_id, item_id, answer, seq, **kwargs):
    return client.post(
        f"/attempts/{attempt_id}/answers",
        json={"item_id": item_id, "answer": answer, "seq": seq},
        **kwargs,
    )


def choice_item(paper) -> int:
    """The id of an item any of the answers [0], [1] or [2] fits (the paper is shuffled)."""
    return next(item["item_id"] for item in paper["items"] if len(item["choices"]) >= 3)


def items_by_question(attempt_id) -> dict[int, PaperItem]:
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    return {item.question_version.question_id: item for item in attempt.items}


# --- my exams and the rules page --------------------------------------------------------


def test_my_exams_lists_every_state_and_the_home_card_counts_open_ones(
    client, auth, questions, learner
):
    now = clock.now()
    make_exam(roster=[learner], title="可参加的考试")
    upcoming = make_exam(roster=[], title="未开始的考试")
    add_batch(
        upcoming, [learner], opens_at=now + timedelta(hours=2), closes_at=now + timedelta(hours=3)
    )
    ended = make_exam(roster=[], title="已结束的考试")
    add_batch(ended, [learner], opens_at=ended.opens_at, closes_at=now - timedelta(minutes=10))
    going = make_exam(roster=[learner], title="进行中的考试")
    done = make_exam(roster=[learner], title="已交卷的考试")
    make_exam(roster=[], title="别人的考试")
    auth.login(learner)
    start(client, going)
    done_id = start(client, done)
    client.post(f"/attempts/{done_id}/submit", json={})

    page = client.get("/exams/").text
    for title, state in [
        ("可参加的考试", "可参加"),
        ("未开始的考试", "未开始"),
        ("已结束的考试", "已结束"),
        ("进行中的考试", "进行中"),
        ("已交卷的考试", "已交卷"),
    ]:
        block = page.split(title)[0].rsplit('<div class="list-group-item', 1)[1]
        assert state in block, title
    assert "别人的考试" not in page
    assert "0 / 12 分" in page and "不合格" in page  # the submitted one, score shown
    assert page.index("进行中的考试") < page.index("可参加的考试") < page.index("未开始的考试")

    home = client.get("/").text
    assert 'href="/exams/"' in home and "有 <strong" in home
    assert re.search(r"<strong[^>]*>2</strong> 场考试", home)


def test_the_rules_page_and_starting(client, auth, questions, learner, make_user):
    exam = make_exam(roster=[learner], attempts_allowed=2, instructions="请独立作答。")
    auth.login(learner)
    page = client.get(f"/exams/{exam.id}").text
    for fact in ["60 分钟", "5 题", "12 分", "6 分", "2 次", "请独立作答。", "开始考试"]:
        assert fact in page, fact
    attempt_id = start(client, exam)
    assert "继续作答" in client.get(f"/exams/{exam.id}").text
    assert start(client, exam) == attempt_id  # resume, not a second attempt
    shell = client.get(f"/attempts/{attempt_id}")
    assert shell.status_code == 200
    assert f'data-paper-url="/attempts/{attempt_id}/paper"' in shell.text
    assert "js/exam.js" in shell.text

    stranger = make_user()
    auth.logout()
    auth.login(stranger)
    assert client.get(f"/exams/{exam.id}").status_code == 404
    refused = client.post(f"/exams/{exam.id}/start", follow_redirects=True)
    assert "名单" in refused.text


def test_a_refused_start_flashes_the_reason(client, auth, questions, learner, frozen_clock):
    exam = make_exam(roster=[learner])
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    auth.login(learner)
    response = client.post(f"/exams/{exam.id}/start")
    assert response.status_code == 302 and response.location == f"/exams/{exam.id}"
    page = client.get(response.location).text
    assert "场次尚未开始/已经结束" in page and "已结束" in page


def test_only_learners_see_my_exams(client, login_as):
    login_as(Role.AUDITOR)
    assert client.get("/exams/").status_code == 403


# --- the attempt API --------------------------------------------------------------------


def test_the_paper_json(client, attempt_id, questions):
    paper = paper_of(client, attempt_id)
    assert set(paper) == {
        "attempt_id",
        "title",
        "server_now",
        "deadline",
        "remaining_seconds",
        "status",
        "items",
        "responses",
        "csrf_token",
        "result_url",
        "flags",
        "cases",
    }
    assert paper["cases"] == {}  # no case on this paper
    assert paper["attempt_id"] == attempt_id and paper["status"] == "in_progress"
    assert paper["deadline"] - paper["server_now"] == pytest.approx(3600 * 1000, abs=2000)
    assert 3590 <= paper["remaining_seconds"] <= 3600  # seconds pass on a busy machine
    assert [item["position"] for item in paper["items"]] == [1, 2, 3, 4, 5]
    by_question = items_by_question(attempt_id)
    for question in questions.values():
        item = by_question[question.id]
        shown = next(one for one in paper["items"] if one["item_id"] == item.id)
        version = item.question_version
        assert shown["type"] == version.type and shown["stem"] == version.stem
        if version.type == "fill_blank":
            assert shown["choices"] == [] and shown["blanks"] == 2
        else:
            assert [c["value"] for c in shown["choices"]] == item.choice_order
            assert [c["text"] for c in shown["choices"]] == [
                version.choices[i] for i in item.choice_order
            ]
    assert paper["responses"] == {}
    first = choice_item(paper)
    assert save(client, attempt_id, first, [1], 7).status_code == 200
    assert paper_of(client, attempt_id)["responses"] == {str(first): {"answer": [1], "seq": 7}}


def test_saving_answers(client, attempt_id):
    item = choice_item(paper_of(client, attempt_id))
    saved = save(client, attempt_id, item, [0], 10)
    assert saved.status_code == 200
    assert saved.json["saved"] is True and saved.json["seq"] == 10
    assert 3590 <= saved.json["remaining_seconds"] <= 3600
    stale = save(client, attempt_id, item, [1], 9)
    assert stale.status_code == 200 and stale.json["seq"] == 10
    db.session.expire_all()
    held = db.session.scalar(select(Response).where(Response.item_id == item))
    assert (held.answer, held.seq) == ([0], 10)


def test_the_save_path_is_lean(client, attempt_id):
    """Exam day's hot path: the session's user, then one UPDATE and one INSERT."""
    item = choice_item(paper_of(client, attempt_id))
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert save(client, attempt_id, item, [1], 1).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert [s for s in statements if s in ("SELECT", "UPDATE", "INSERT", "DELETE")] == [
        "SELECT",
        "UPDATE",
        "INSERT",
    ]


def test_the_start_path_is_lean(client, auth, learner, exam):
    """The session's user with their roles (one query), the exam with its blueprint, the
    candidate's attempts, their open batch, the pools (once per process), then the attempt
    and its paper: no savepoint, no lazy loads."""
    auth.login(learner)
    exam_id = exam.id
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.post(f"/exams/{exam_id}/start").status_code == 302
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert statements == ["SELECT"] * 5 + ["INSERT", "INSERT"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [1, 2],
        {"answer": [0], "seq": 1},
        {"item_id": "1", "answer": [0], "seq": 1},
        {"item_id": 1, "answer": [0], "seq": True},
        {"item_id": 1, "answer": [0], "seq": 0},
        {"item_id": 1, "answer": [0], "seq": 2**53},
        {"item_id": 1, "answer": "A", "seq": 1},
        {"item_id": 1, "answer": [0, "A"], "seq": 1},
        {"item_id": 1, "answer": None, "seq": 1},
    ],
)
def test_malformed_saves_are_400(client, attempt_id, body):
    item = choice_item(paper_of(client, attempt_id))
    if isinstance(body, dict) and body.get("item_id") == 1:
        body["item_id"] = item
    if isinstance(body, str):
        response = client.post(
            f"/attempts/{attempt_id}/answers", data=body, content_type="application/json"
        )
    else:
        response = client.post(f"/attempts/{attempt_id}/answers", json=body)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_answer" and response.json["message"]


def test_a_save_for_an_item_of_another_paper_is_400(client, attempt_id, make_user, exam):
    other = make_user()
    add_batch(exam, [other])
    theirs = attempts.start_attempt(other, exam, clock.now(), random.Random(1))
    db.session.commit()
    response = save(client, attempt_id, theirs.items[0].id, [0], 1)
    assert response.status_code == 400 and response.json["message"] == "该题不属于本试卷。"


def test_saves_after_submit_or_past_the_grace_are_409_in_chinese(
    client, auth, questions, learner, frozen_clock
):
    exam = make_exam(roster=[learner], time_limit_minutes=10, attempts_allowed=2)
    auth.login(learner)
    first = start(client, exam)
    item = choice_item(paper_of(client, first))
    assert client.post(f"/attempts/{first}/submit", json={}).status_code == 200
    refused = save(client, first, item, [0], 1)
    assert refused.status_code == 409
    assert refused.json["error"] == "closed"
    assert refused.json["message"] == "本次作答已交卷，不能再修改答案。"

    second = start(client, exam)
    item = choice_item(paper_of(client, second))
    deadline = db.session.get(Attempt, second).deadline_at
    frozen_clock.now = deadline + timedelta(seconds=29)
    assert save(client, second, item, [1], 2).status_code == 200  # within the grace
    frozen_clock.now = deadline + timedelta(seconds=31)
    late = save(client, second, item, [2], 3)
    assert late.status_code == 409
    assert late.json["message"] == "考试时间已到，答案未能保存。已保存的答案将自动交卷。"
    db.session.expire_all()
    expired = db.session.get(Attempt, second)
    assert (expired.status, expired.submitted_by) == ("submitted", "deadline")
    held = db.session.scalar(select(Response).where(Response.attempt_id == second))
    assert held.answer == [1]


def test_an_expired_attempt_is_submitted_by_whichever_endpoint_comes_first(
    client, auth, questions, learner, frozen_clock
):
    exam = make_exam(roster=[learner], time_limit_minutes=10)
    auth.login(learner)
    attempt_id = start(client, exam)
    deadline = db.session.get(Attempt, attempt_id).deadline_at
    frozen_clock.now = deadline + timedelta(seconds=31)
    page = client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 302 and page.location == f"/attempts/{attempt_id}/result"
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.status, attempt.submitted_by, attempt.score) == (
        "submitted",
        "deadline",
        Decimal(0),
    )
    assert paper_of(client, attempt_id)["status"] == "submitted"


def test_submit_is_idempotent_for_json_and_forms(client, attempt_id, questions):
    by_question = items_by_question(attempt_id)
    for seq, question in enumerate(questions.values(), start=1):
        save(client, attempt_id, by_question[question.id].id, correct_answer(question), seq)
    first = client.post(f"/attempts/{attempt_id}/submit", json={})
    assert first.status_code == 200
    assert first.json == {"submitted": True, "result_url": f"/attempts/{attempt_id}/result"}
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    submitted_at, score = attempt.submitted_at, attempt.score
    assert score == Decimal(12) and attempt.submitted_by == "candidate"
    again = client.post(f"/attempts/{attempt_id}/submit", json={})
    assert again.status_code == 200 and again.json["submitted"] is True
    form = client.post(f"/attempts/{attempt_id}/submit")
    assert form.status_code == 302 and form.location == f"/attempts/{attempt_id}/result"
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert (attempt.submitted_at, attempt.score) == (submitted_at, score)
    assert client.get(f"/attempts/{attempt_id}").location == f"/attempts/{attempt_id}/result"


def test_another_users_attempt_is_404(client, auth, attempt_id, exam, make_user):
    item = choice_item(paper_of(client, attempt_id))
    intruder = make_user()
    auth.logout()
    auth.login(intruder)
    assert client.get(f"/attempts/{attempt_id}").status_code == 404
    assert client.get(f"/attempts/{attempt_id}/paper").status_code == 404
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 404
    assert save(client, attempt_id, item, [0], 1).status_code == 404
    assert client.post(f"/attempts/{attempt_id}/submit", json={}).status_code == 404
    assert client.get("/attempts/999999").status_code == 404
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "in_progress"
    assert db.session.scalar(select(Response.id)) is None


def test_the_json_api_answers_json_when_logged_out(client, attempt_id, auth):
    auth.logout()
    response = save(client, attempt_id, 1, [0], 1)
    assert response.status_code == 401 and response.json["error"] == "login_required"


def test_csrf_is_required_on_the_json_endpoints(app, client, learner, exam):
    app.config["WTF_CSRF_ENABLED"] = True
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post(
        "/login", data={"login": learner.login, "password": "Passw0rd!", "csrf_token": token}
    )
    rules = client.get(f"/exams/{exam.id}").text
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', rules).group(1)
    assert client.post(f"/exams/{exam.id}/start").status_code == 400
    attempt_id = int(
        client.post(f"/exams/{exam.id}/start", data={"csrf_token": form_token}).location.split("/")[
            -1
        ]
    )
    paper = paper_of(client, attempt_id)
    item = choice_item(paper)
    missing = save(client, attempt_id, item, [0], 1)
    assert missing.status_code == 400 and "页面已过期" in missing.json["message"]
    wrong = save(client, attempt_id, item, [0], 1, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    ok = save(client, attempt_id, item, [0], 1, headers={"X-CSRFToken": paper["csrf_token"]})
    assert ok.status_code == 200 and ok.json["saved"] is True
    assert client.post(f"/attempts/{attempt_id}/submit", json={}).status_code == 400
    submitted = client.post(
        f"/attempts/{attempt_id}/submit", json={}, headers={"X-CSRFToken": paper["csrf_token"]}
    )
    assert submitted.status_code == 200 and submitted.json["submitted"] is True


# --- nothing tells the key before submission --------------------------------------------


def _keys_anywhere(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys_anywhere(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys_anywhere(inner)


def test_no_page_or_response_before_submission_tells_the_key(client, auth, questions, learner):
    exam = make_exam(
        roster=[learner],
        shuffle_choices=True,
        shuffle_questions=True,
        review_policy="answers_after_close",
    )
    auth.login(learner)
    texts = [client.get("/").text, client.get("/exams/").text, client.get(f"/exams/{exam.id}").text]
    attempt_id = start(client, exam)
    shell = client.get(f"/attempts/{attempt_id}").text
    texts.append(shell)
    raw = client.get(f"/attempts/{attempt_id}/paper")
    paper = raw.json
    texts += [raw.get_data(as_text=True), json.dumps(paper, ensure_ascii=False)]
    by_question = items_by_question(attempt_id)
    for seq, question in enumerate(questions.values(), start=1):
        answer = ["猜测一", "猜测二"] if question.type == "fill_blank" else [0]
        response = save(client, attempt_id, by_question[question.id].id, answer, seq)
        assert set(response.json) == {"saved", "seq", "remaining_seconds"}
        texts.append(response.get_data(as_text=True))
    again = client.get(f"/attempts/{attempt_id}/paper").json
    texts.append(json.dumps(again, ensure_ascii=False))
    texts.append(client.get("/exams/").text)
    texts.append(client.get(f"/attempts/{attempt_id}/result", follow_redirects=True).text)

    for item in paper["items"] + again["items"]:
        assert set(item) <= ITEM_FIELDS
        assert not set(_keys_anywhere(item)) & (KEY_FIELDS - {"blanks"})
        if "blanks" in item:  # a count of inputs, never what goes in them
            assert item["type"] == "fill_blank" and isinstance(item["blanks"], int)
    assert not set(paper) & KEY_FIELDS
    for text in texts:
        for secret in (*BLANK_KEYS, EXPLANATION_MARK):
            assert secret not in text
    for text in (shell, *texts[:3]):  # the pages name no choice at all
        for choice in (*SINGLE_KEYS, *MULTIPLE_KEYS):
            assert choice not in text
    # In the JSON each correct choice appears once: as one choice among the others.
    dumped = json.dumps(paper, ensure_ascii=False)
    for choice in (*SINGLE_KEYS, *MULTIPLE_KEYS):
        assert dumped.count(choice) == 1


# --- results ----------------------------------------------------------------------------


def _take(client, exam, questions, right=True) -> int:
    attempt_id = start(client, exam)
    by_question = items_by_question(attempt_id)
    for seq, question in enumerate(questions.values(), start=1):
        answer = correct_answer(question) if right else []
        save(client, attempt_id, by_question[question.id].id, answer, seq)
    assert client.post(f"/attempts/{attempt_id}/submit", json={}).status_code == 200
    return attempt_id


def test_review_policy_nothing_shows_only_that_it_was_submitted(client, auth, questions, learner):
    exam = make_exam(roster=[learner], review_policy="nothing")
    auth.login(learner)
    attempt_id = _take(client, exam, questions)
    page = client.get(f"/attempts/{attempt_id}/result").text
    assert "已交卷" in page and "不公布" in page
    assert "12 分" not in page and "优秀" not in page and ">合格<" not in page
    assert "张三" in page and "第一批" in page and "交卷时间" in page  # the sheet
    listing = client.get("/exams/").text
    assert "本考试不公布成绩" in listing and "12 / 12" not in listing


def test_review_policy_score_shows_score_pass_and_grade_but_no_key(
    client, auth, questions, learner
):
    exam = make_exam(roster=[learner], review_policy="score")
    auth.login(learner)
    attempt_id = _take(client, exam, questions)
    page = client.get(f"/attempts/{attempt_id}/result").text
    assert "12 / 12 分" in page and "合格" in page and "优秀" in page
    for field in ["姓名", "单位", "考试", "场次", "成绩", "是否合格", "交卷时间"]:
        assert f">{field}</th>" in page
    assert "测试区人民政府" in page and "data-print" in page
    for secret in (*BLANK_KEYS, EXPLANATION_MARK):
        assert secret not in page
    assert "宪法宣誓" not in page  # an annual exam


def test_answers_after_close_appear_only_once_the_exam_closed_and_nobody_writes(
    client, auth, questions, learner, make_user, frozen_clock
):
    late_writer = make_user()
    exam = make_exam(roster=[learner, late_writer], review_policy="answers_after_close")
    auth.login(learner)
    attempt_id = _take(client, exam, questions, right=False)
    before = client.get(f"/attempts/{attempt_id}/result").text
    assert "0 / 12 分" in before and "不合格" in before and "考试结束" in before
    assert EXPLANATION_MARK not in before and BLANK_KEYS[0] not in before

    # Someone with an extension is still writing after the close: still no answers.
    theirs = attempts.start_attempt(late_writer, exam, clock.now(), random.Random(2))
    theirs.deadline_at = exam.closes_at + timedelta(minutes=20)
    db.session.commit()
    # The exam closes the next day: a login session lasts 12 hours, so log in again.
    auth.logout()
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    assert auth.login(learner).status_code == 302
    assert EXPLANATION_MARK not in client.get(f"/attempts/{attempt_id}/result").text

    frozen_clock.now = exam.closes_at + timedelta(minutes=21)  # their time (and grace) is up
    after = client.get(f"/attempts/{attempt_id}/result").text
    assert "答案与解析" in after
    for secret in (*BLANK_KEYS[:2], EXPLANATION_MARK, SINGLE_KEYS[0], "正确答案"):
        assert secret in after


def test_passing_a_pre_appointment_exam_shows_oath_eligibility(
    client, auth, questions, learner, make_user
):
    exam = make_exam(roster=[learner], kind="pre_appointment", title="任前学法考试")
    auth.login(learner)
    passed = client.get(f"/attempts/{_take(client, exam, questions)}/result").text
    assert "宪法宣誓" in passed and "具备宪法宣誓资格" in passed

    failing = make_user()
    add_batch(exam, [failing])
    auth.logout()
    auth.login(failing)
    failed = client.get(f"/attempts/{_take(client, exam, questions, right=False)}/result").text
    assert "宪法宣誓" not in failed and "不合格" in failed


def test_the_result_of_an_attempt_in_progress_redirects_to_the_exam(client, attempt_id):
    response = client.get(f"/attempts/{attempt_id}/result")
    assert response.status_code == 302 and response.location == f"/attempts/{attempt_id}"


def _items_by_type(client, attempt_id) -> dict[str, dict]:
    return {item["type"]: item for item in paper_of(client, attempt_id)["items"]}


@pytest.mark.parametrize(
    ("type_id", "answer", "code", "message"),
    [
        ("single", [4], "choice_out_of_range", "所选选项不是本题的选项。"),
        ("single", [0, 1], "invalid_answer", "单选题只能选一个选项。"),
        ("multiple", [0, 9], "choice_out_of_range", "所选选项不是本题的选项。"),
        ("multiple", [0, 2, 0], "repeated_choice", "同一个选项选了不止一次。"),
        ("true_false", [2], "choice_out_of_range", "所选选项不是本题的选项。"),
        ("true_false", ["正确"], "invalid_answer", "判断题的答案应为所选选项的编号。"),
        ("fill_blank", [0], "invalid_answer", "填空题的答案应为每个空所填的文字。"),
        ("fill_blank", ["a", "b", "c"], "invalid_answer", "本题只有 2 个空。"),
        ("fill_blank", ["长" * 201], "invalid_answer", "每个空最多填写 200 字。"),
    ],
)
def test_answers_their_question_cannot_take_are_400_and_save_nothing(
    client, attempt_id, type_id, answer, code, message
):
    item = _items_by_type(client, attempt_id)[type_id]
    assert save(client, attempt_id, item["item_id"], [], 1).status_code == 200
    before = db.session.get(Attempt, attempt_id).last_saved_at
    response = save(client, attempt_id, item["item_id"], answer, 2)
    assert response.status_code == 400
    assert response.json == {"error": code, "message": message}
    db.session.expire_all()
    held = db.session.scalar(select(Response).where(Response.item_id == item["item_id"]))
    assert (held.answer, held.seq) == ([], 1)
    assert db.session.get(Attempt, attempt_id).last_saved_at == before  # the claim undone


def test_a_save_body_over_16_kb_is_413_in_chinese(client, attempt_id):
    item = _items_by_type(client, attempt_id)["fill_blank"]
    body = json.dumps({"item_id": item["item_id"], "answer": ["字" * 200] * 2, "seq": 1})
    assert save(client, attempt_id, item["item_id"], ["字" * 200] * 2, 1).status_code == 200
    padded = body[:-1] + ', "pad": "' + " " * 16 * 1024 + '"}'
    response = client.post(
        f"/attempts/{attempt_id}/answers", data=padded, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json == {"error": "too_large", "message": "答案内容不能超过 16 KB。"}
    db.session.expire_all()
    held = db.session.scalar(select(Response).where(Response.item_id == item["item_id"]))
    assert held.seq == 1


def test_the_rules_page_sums_the_paper_by_question_type(client, auth, law, learner):
    add_questions("single", 18)
    add_questions("multiple", 2)
    add_questions("true_false", 3)
    sections = [
        ("single", 10, 2),
        ("true_false", 1, 1),
        ("single", 8, 2),
        ("multiple", 2, 3),
        ("true_false", 2, 2),
    ]
    exam = make_exam(roster=[learner], sections=sections)
    auth.login(learner)
    page = client.get(f"/exams/{exam.id}").text
    assert "（单选 18 题，每题 2 分；多选 2 题，每题 3 分；判断 3 题，共 5 分）" in page
