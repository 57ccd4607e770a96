"""Written answers (简答/论述): autosaved like every answer, scored in two steps (objective
items at submission, written ones by markers), blind, single or double marking with a
third marker on disagreement, corrections with a reason, 待阅卷 until settled, and no model
answer or marking point on a candidate's page before release."""

import json
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import bank, queries
from training.exams import attempts, candidate, marking, regrade, results
from training.exams.marking import MarkingError, NotAMarker
from training.exams.models import Attempt, ExamMarker, Mark
from training.reports.models import ExamSummary

from ..factories import (
    GRACE,
    MARKING_POINTS,
    MODEL_ANSWER,
    add_batch,
    add_case,
    add_questions,
    add_written,
    make_exam,
    take,
)

SECRETS = [MODEL_ANSWER, *(text for text, _ in MARKING_POINTS), "要点秘文"]


@pytest.fixture
def written_bank(law):
    add_questions("single", 2)
    return add_written()


def written_exam(roster, **fields):
    """2 单选 × 2 points and one 简答 of 10: 14 points, pass at 10."""
    fields.setdefault("pass_mark", Decimal(10))
    fields.setdefault("grade_bands", [[10, "合格"]])
    return make_exam(sections=[("single", 2, 2), ("short_answer", 1, 10)], roster=roster, **fields)


def written_item(attempt: Attempt):
    return next(item for item in attempt.items if item.question_version.type == "short_answer")


def actor(user):
    return SYSTEM.__class__(id=user.id, login=user.login, ip="")


def mark(user, item, score, checked=(), round_=None):
    task = marking.task(user, item.id)
    return marking.give_mark(
        actor(user), user, item.id, round_ or task.round, str(score), list(checked)
    )


@pytest.fixture
def trainer(make_user):
    return make_user(Role.TRAINER, name="阅卷培训员")


def test_written_answer_is_autosaved_by_sequence_and_limited_in_length(
    written_bank, learner, frozen_clock
):
    exam = written_exam([learner])
    attempt = take(learner, exam, submit=False)
    item = written_item(attempt)
    now = clock.now()
    assert attempts.save_answer(
        learner.id, attempt.id, item.id, ["新的作答"], 100, now, GRACE
    ).saved
    late = attempts.save_answer(learner.id, attempt.id, item.id, ["旧的作答"], 99, now, GRACE)
    assert late.saved and late.seq == 100  # the newer answer stays
    assert attempts.responses_of(attempt)[item.id].answer == ["新的作答"]
    with pytest.raises(attempts.AnswerRefused) as refused:
        attempts.save_answer(learner.id, attempt.id, item.id, ["长" * 801], 101, now, GRACE)
    assert refused.value.code == "too_long"


def test_the_question_limit_applies(law, learner):
    add_questions("single", 2)
    add_written(max_chars=20)
    exam = written_exam([learner])
    attempt = take(learner, exam, answers={"short_answer": ["短"]}, submit=False)
    item = written_item(attempt)
    ok = attempts.save_answer(learner.id, attempt.id, item.id, ["字" * 20], 5, clock.now(), GRACE)
    assert ok.saved
    with pytest.raises(attempts.AnswerRefused):
        attempts.save_answer(learner.id, attempt.id, item.id, ["字" * 21], 6, clock.now(), GRACE)


def test_pending_until_marked_then_scored_and_audited(written_bank, learner, trainer):
    exam = written_exam([learner])
    attempt = take(learner, exam)
    assert attempt.awaiting_marks and attempt.score is None and attempt.passed is None
    item = written_item(attempt)
    assert item.earned is None
    assert all(i.earned == i.points for i in attempt.items if i is not item)  # objective now
    (row,) = results.results(exam, clock.now(), GRACE).rows
    assert row.result_label == "待阅卷"
    found = marking.next_answer(trainer, exam)
    assert found == (item, 1)
    mark(trainer, item, "7.5", [0])
    db.session.commit()
    db.session.refresh(attempt)
    assert item.earned == Decimal("7.50")
    assert not attempt.awaiting_marks
    assert attempt.score == Decimal("11.50") and attempt.passed and attempt.grade_label == "合格"
    assert marking.next_answer(trainer, exam) is None
    # The reports' stored figures follow the settled result.
    passed = db.session.scalar(
        select(func.sum(ExamSummary.passed)).where(ExamSummary.exam_id == exam.id)
    )
    assert passed == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "exam.mark"))
    assert entry.detail_dict["score"] == "7.50" and entry.actor_id == trainer.id


def test_a_mark_outside_the_items_points_is_refused(written_bank, learner, trainer):
    exam = written_exam([learner])
    item = written_item(take(learner, exam))
    for bad in ("10.5", "-1", "abc", "1.234"):
        with pytest.raises(MarkingError):
            mark(trainer, item, bad)
    with pytest.raises(MarkingError, match="得分要点"):
        mark(trainer, item, "2", [5])
    db.session.rollback()
    assert db.session.scalar(select(Mark.id)) is None


def test_named_markers_mark_blind_and_never_their_exams_candidates(
    written_bank, make_user, trainer
):
    first, second = make_user(name="考生甲"), make_user(name="考生乙")
    outsider, marker = make_user(name="旁人"), make_user(name="阅卷员")
    exam = written_exam([first, second])
    take(first, exam)
    theirs = written_item(take(second, exam, seed=2))
    # A candidate of the exam would read the model answer, the marking points and the
    # others' answers (DESIGN: a candidate never sees their own exam's questions).
    with pytest.raises(MarkingError, match="本考试的考生，不能阅卷：") as refused:
        marking.set_markers(actor(trainer), exam, [first.login, marker.login])
    assert first.login in refused.value.message
    marking.set_markers(actor(trainer), exam, [marker.login])
    db.session.commit()
    with pytest.raises(NotAMarker):
        marking.next_answer(outsider, exam)
    assert marking.next_answer(marker, exam)[0].id in {theirs.id} | {
        written_item(a).id for a in db.session.scalars(select(Attempt))
    }
    assert marking.markable_exams(marker) == [exam] and marking.markable_exams(first) == []


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR])
def test_the_three_privileged_accounts_are_never_markers(written_bank, make_user, trainer, role):
    exam = written_exam([make_user(name="考生")])
    account = make_user(role, name="三员之一")
    with pytest.raises(MarkingError, match="不担任阅卷人"):
        marking.set_markers(actor(trainer), exam, [account.login])
    db.session.add(ExamMarker(exam_id=exam.id, user_id=account.id))  # a row from before
    db.session.commit()
    assert not marking.is_marker(account, exam)


def test_a_named_marker_put_on_the_roster_stops_marking(written_bank, make_user, trainer):
    marker = make_user(name="阅卷员")
    exam = written_exam([make_user(name="考生")])
    marking.set_markers(actor(trainer), exam, [marker.login])
    add_batch(exam, [marker], name="补考批次")
    db.session.commit()
    with pytest.raises(NotAMarker):
        marking.next_answer(marker, exam)


def test_marking_screens_are_closed_while_writing_an_exam(
    written_bank, make_user, trainer, client, auth
):
    marker = make_user(name="阅卷员")
    exam = written_exam([make_user(name="考生")])
    marking.set_markers(actor(trainer), exam, [marker.login])
    other = written_exam([marker], title="阅卷员自己参加的另一场考试")
    attempts.start_attempt(marker, other, clock.now(), random.Random(1))
    db.session.commit()
    auth.login(marker)
    assert client.get(f"/marking/exams/{exam.id}").status_code == 403


def test_a_second_marker_does_not_see_the_first_mark(
    written_bank, learner, trainer, make_user, client, auth
):
    first_marker, second_marker = make_user(name="阅卷一"), make_user(name="阅卷二")
    exam = written_exam([learner], double_marking=True, marking_gap=Decimal(3))
    item = written_item(take(learner, exam))
    marking.set_markers(actor(trainer), exam, [first_marker.login, second_marker.login])
    db.session.commit()
    mark(first_marker, item, "7.5")
    db.session.commit()
    auth.login(second_marker)
    page = client.get(f"/marking/exams/{exam.id}").text
    assert "7.5" not in page and "阅卷一" not in page
    auth.logout()
    auth.login(trainer)  # the trainer too, while answers still wait for a mark
    assert "7.5" not in client.get(f"/marking/exams/{exam.id}").text


def test_two_markers_cannot_both_give_the_first_mark(written_bank, learner, trainer, make_user):
    other = make_user(Role.TRAINER)
    exam = written_exam([learner])
    item = written_item(take(learner, exam))
    task = marking.task(other, item.id)  # both opened the answer
    mark(trainer, item, 6)
    with pytest.raises(MarkingError, match="已评阅"):
        marking.give_mark(actor(other), other, item.id, task.round, "9", [])
    # Had both passed that check at once, the database keeps one standing mark a round.
    db.session.add(
        Mark(attempt_id=item.attempt_id, item_id=item.id, round=1, marker_id=other.id, score=9)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_double_marking_with_a_third_marker_on_disagreement(
    written_bank, learner, trainer, make_user
):
    second, third = make_user(Role.TRAINER), make_user(Role.TRAINER)
    exam = written_exam([learner], double_marking=True, marking_gap=Decimal(2))
    attempt = take(learner, exam)
    item = written_item(attempt)
    mark(trainer, item, 2)
    # The first marker does not mark it again; the second marks it blind (no first mark).
    assert marking.next_answer(trainer, exam) is None
    task = marking.task(second, item.id)
    assert task.round == 2 and task.earlier == []
    mark(second, item, 8)
    db.session.commit()
    assert attempt.awaiting_marks and item.earned is None  # 6 points apart: a third decides
    assert marking.next_answer(second, exam) is None
    task = marking.task(third, item.id)
    assert task.round == 3 and sorted(m.score for m in task.earlier) == [2, 8]
    mark(third, item, 5)
    db.session.commit()
    db.session.refresh(attempt)
    assert item.earned == Decimal(5) and attempt.score == Decimal(9) and not attempt.passed


def test_double_marks_within_the_gap_take_the_mean(written_bank, learner, trainer, make_user):
    second = make_user(Role.TRAINER)
    exam = written_exam([learner], double_marking=True, marking_gap=Decimal(2))
    attempt = take(learner, exam)
    item = written_item(attempt)
    mark(trainer, item, 7)
    mark(second, item, 8)
    db.session.commit()
    db.session.refresh(attempt)
    assert item.earned == Decimal("7.50") and attempt.score == Decimal("11.50")


def test_a_mark_is_corrected_with_a_reason_and_the_result_follows(
    written_bank, learner, trainer, make_user
):
    second, third = make_user(Role.TRAINER), make_user(Role.TRAINER)
    exam = written_exam([learner], double_marking=True, marking_gap=Decimal(2))
    attempt = take(learner, exam)
    item = written_item(attempt)
    first = mark(trainer, item, 2)
    mark(second, item, 8)
    mark(third, item, 5)
    db.session.commit()
    with pytest.raises(MarkingError, match="更正原因"):
        marking.correct_mark(actor(trainer), trainer, first, "7", [], "  ")
    learner_roles = make_user(name="别的学员")
    with pytest.raises(MarkingError):
        marking.correct_mark(actor(learner_roles), learner_roles, first, "7", [], "错了")
    corrected = marking.correct_mark(actor(trainer), trainer, first, "7", [0, 1], "漏看要点")
    db.session.commit()
    db.session.refresh(attempt)
    assert first.replaced and corrected.corrects_id == first.id and corrected.score == 7
    # Now 7 and 8 agree: the third mark no longer stands and the mean counts.
    assert item.earned == Decimal("7.50") and attempt.score == Decimal("11.50")
    assert attempt.passed
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "exam.mark_correct"))
    assert entry.detail_dict["reason"] == "漏看要点" and entry.detail_dict["old_score"] == "2.00"
    assert db.session.scalar(select(Mark).where(Mark.round == 3)).replaced


def test_a_trainer_corrects_anothers_mark_only_once_the_answer_is_settled(
    written_bank, learner, trainer, make_user, client, auth
):
    """Before that the trainer may be the answer's next marker, who must mark blind."""
    first_marker = make_user(name="阅卷一")
    exam = written_exam([learner], double_marking=True, marking_gap=Decimal(3))
    item = written_item(take(learner, exam))
    marking.set_markers(actor(trainer), exam, [first_marker.login])
    first = mark(first_marker, item, "7.5")
    db.session.commit()
    auth.login(trainer)
    page = client.get(f"/marking/marks/{first.id}/correct")
    assert page.status_code == 403 and "7.5" not in page.text
    mark(trainer, item, "8")  # the second mark, blind; within the gap: settled
    db.session.commit()
    assert client.get(f"/marking/marks/{first.id}/correct").status_code == 200


def test_no_model_answer_or_marking_point_before_release(
    written_bank, learner, trainer, client, auth, frozen_clock
):
    exam = written_exam([learner], review_policy="answers_after_close")
    auth.login(learner)
    started = client.post(f"/exams/{exam.id}/start")
    attempt_id = int(started.location.rsplit("/", 1)[1])
    page = client.get(started.location).text
    paper = client.get(f"/attempts/{attempt_id}/paper").text
    for text in (page, paper):
        assert not any(secret in text for secret in SECRETS)
    attempt = db.session.get(Attempt, attempt_id)
    written = next(i for i in json.loads(paper)["items"] if i.get("multiline"))
    assert written["max_chars"] == 800
    client.post(
        f"/attempts/{attempt_id}/answers",
        json={"item_id": written["item_id"], "answer": ["我的作答文字"], "seq": 1},
    )
    submitted = client.post(f"/attempts/{attempt_id}/submit", json={})
    assert submitted.status_code == 200
    result = client.get(f"/attempts/{attempt_id}/result").text
    assert "待阅卷" in result and not any(secret in result for secret in SECRETS)
    assert "待阅卷" in client.get("/exams/").text
    # After the close, still awaiting marks: nothing of the key yet.
    auth.logout()  # a day later: a login session lasts 12 hours
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    assert auth.login(learner).status_code == 302
    result = client.get(f"/attempts/{attempt_id}/result").text
    assert "待阅卷" in result and not any(secret in result for secret in SECRETS)
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    mark(trainer, written_item(attempt), 9)
    db.session.commit()
    result = client.get(f"/attempts/{attempt_id}/result").text
    assert MODEL_ANSWER in result and "我的作答文字" in result and "待阅卷" not in result


def test_candidate_rows_show_pending_in_results_and_count_once_marked(
    written_bank, make_user, trainer
):
    first, second = make_user(name="甲"), make_user(name="乙")
    exam = written_exam([first, second])
    take(first, exam)
    item = written_item(take(second, exam, seed=3))
    mark(trainer, item, 10)
    db.session.commit()
    outcome = results.results(exam, clock.now(), GRACE)
    labels = {row.name: row.result_label for row in outcome.rows}
    assert labels == {"甲": "待阅卷", "乙": "合格"}
    assert outcome.took == 2 and outcome.passed == 1


# --- the marking screens -------------------------------------------------------------


def test_marker_marks_through_the_screens_blind(written_bank, make_user, client, auth):
    candidate_user = make_user(name="独特考生名")
    marker = make_user(name="阅卷员")
    exam = written_exam([candidate_user])
    attempt = take(candidate_user, exam)
    marking.set_markers(SYSTEM, exam, [marker.login])
    db.session.commit()
    auth.login(marker)
    home = client.get("/marking/")
    assert exam.title in home.text
    overview = client.get(f"/marking/exams/{exam.id}")
    assert "已评定 <strong>0</strong>" in overview.text
    assert "保存阅卷人" not in overview.text  # only trainers name markers
    step = client.get(f"/marking/exams/{exam.id}/next")
    item = written_item(attempt)
    assert step.location == f"/marking/answers/{item.id}"
    page = client.get(step.location).text
    assert "独特考生名" not in page and candidate_user.login not in page  # blind
    assert MODEL_ANSWER in page and MARKING_POINTS[0][0] in page
    refused = client.post(step.location, data={"round": "1", "score": "11", "checked": ["0"]})
    assert refused.status_code == 200 and "满分" in refused.text
    done = client.post(step.location, data={"round": "1", "score": "4", "checked": ["0"]})
    assert done.location == f"/marking/exams/{exam.id}/next"
    final = client.get(done.location, follow_redirects=True)
    assert "暂时没有需要您评阅的答卷" in final.text
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).score == Decimal(8)
    assert client.post(f"/marking/exams/{exam.id}/markers", data={}).status_code == 403


def test_outsiders_get_no_marking_screens(written_bank, learner, make_user, client, auth):
    exam = written_exam([learner])
    item = written_item(take(learner, exam))
    auth.login(make_user(name="无关人员"))
    assert client.get("/marking/").status_code == 200
    assert client.get(f"/marking/exams/{exam.id}").status_code == 403
    assert client.get(f"/marking/answers/{item.id}").status_code == 403
    auth.logout()
    auth.login(learner)  # their own answer, even if they guessed its number
    assert client.get(f"/marking/answers/{item.id}").status_code == 403


def test_trainer_names_markers_and_corrects_a_mark(
    written_bank, learner, make_user, client, login_as
):
    exam = written_exam([learner])
    item = written_item(take(learner, exam))
    named = make_user(name="被指定阅卷人")
    trainer = login_as(Role.TRAINER)
    saved = client.post(f"/marking/exams/{exam.id}/markers", data={"logins": f"{named.login}\n"})
    assert saved.status_code == 302
    assert [user.id for user in marking.named_markers(exam)] == [named.id]
    bad = client.post(f"/marking/exams/{exam.id}/markers", data={"logins": "nobody-here"})
    assert "找不到这些账号" in client.get(bad.location).text
    given = mark(trainer, item, 6)
    db.session.commit()
    page = client.get(f"/marking/marks/{given.id}/correct")
    assert page.status_code == 200
    missing_reason = client.post(
        f"/marking/marks/{given.id}/correct", data={"score": "8", "reason": ""}
    )
    assert missing_reason.status_code == 200 and "请填写更正原因" in missing_reason.text
    client.post(f"/marking/marks/{given.id}/correct", data={"score": "8", "reason": "复核"})
    db.session.expire_all()
    assert written_item(db.session.get(Attempt, item.attempt_id)).earned == Decimal(8)


def test_written_questions_in_the_bank_form(law, client, login_as):
    login_as(Role.TRAINER)
    saved = client.post(
        "/bank/new",
        data={
            "type": "essay",
            "stem": "论述示范条例的立法目的。",
            "model_answer": "保护合法权益。",
            "marking_points": "指出保护权益 4\n说明依法行政（6分）",
            "max_chars": "1500",
            "difficulty": "",
            "save": "保存",
        },
    )
    assert saved.status_code == 302, saved.text
    detail = client.get(saved.location).text
    assert "保护合法权益" in detail and "说明依法行政" in detail
    refused = client.post(
        "/bank/new",
        data={
            "type": "short_answer",
            "stem": "简述。",
            "marking_points": "无分值",
            "difficulty": "",
            "save": "保存",
        },
    )
    assert "需要参考答案" in refused.text and "得分要点" in refused.text


def test_the_batch_helper_keeps_written_exams(written_bank, learner, make_user):
    """A 补考 batch of a written exam: the second attempt awaits marks on its own."""
    exam = written_exam([learner], attempts_allowed=2)
    add_batch(exam, [learner])
    first = take(learner, exam)
    assert first.awaiting_marks
    assert candidate.counted_attempt(exam, [first]) is first


def test_practice_leaves_out_written_questions_and_case_sub_questions(law):
    (loose,) = add_questions("single", 1)
    add_written()
    add_case(parts=2, law_name="宪法")
    assert queries.practice_question_ids() == [loose.id]
    assert [entry.question_id for entry in queries.law_sequence(law.id)] == [loose.id]


def test_the_regrade_preview_of_an_answer_awaiting_marks_shows_it_pending_as_applying_does(
    law, learner, trainer, client, auth
):
    """A 单选 key corrected while the written answer waits for marks: the preview says
    待阅卷 (no total, no pass/fail), as applying the regrade leaves the attempt."""
    (single, _) = add_questions("single", 2)
    add_written()
    exam = written_exam([learner])
    attempt = take(learner, exam)
    assert attempt.awaiting_marks
    draft = bank.current_draft(single)
    draft.answer = [0]
    bank.edit_question(SYSTEM, single, draft, "更正答案")
    db.session.commit()

    (row,) = regrade.regrade_preview(exam, single.id).rows
    assert (row.old_points, row.new_points) == (Decimal("2.00"), Decimal("0.00"))
    assert (row.old_score, row.new_score) == (None, None)
    assert (row.old_passed, row.new_passed) == (None, None)
    assert not row.score_changed and not row.pass_changed
    auth.login(trainer)
    page = client.get(f"/manage/exams/{exam.id}/regrade/{single.id}").text
    assert "待阅卷 → 待阅卷" in page and "不合格" not in page

    plan = regrade.apply_regrade(SYSTEM, exam, single.id)
    db.session.commit()
    db.session.refresh(attempt)
    (applied,) = plan.rows
    assert (attempt.score, attempt.passed) == (applied.new_score, applied.new_passed)
    # Once marked, the corrected key counts: 2 + 0 + 8 = 10, a pass.
    mark(trainer, written_item(attempt), "8")
    db.session.commit()
    db.session.refresh(attempt)
    assert attempt.score == Decimal("10.00") and attempt.passed


def test_marking_goes_batch_by_batch_with_each_batchs_progress(
    written_bank, make_user, client, auth
):
    """The exam's marking page shows each batch's progress; a marker works through one
    batch's answers (next, mark, next …) until it has none left."""
    first, second = make_user(name="甲"), make_user(name="乙")
    exam = written_exam([first])
    later = add_batch(exam, [second], name="第二批")
    first_item = written_item(take(first, exam))
    second_item = written_item(take(second, exam))
    marker = make_user(name="阅卷员")
    marking.set_markers(SYSTEM, exam, [marker.login])
    db.session.commit()

    by_batch = marking.batch_progress(exam, marker)
    assert (by_batch[later.id].total, by_batch[later.id].left) == (1, 1)
    assert by_batch[None].total == 2
    assert marking.next_answer(marker, exam, batch=later) == (second_item, 1)

    auth.login(marker)
    page = client.get(f"/marking/exams/{exam.id}").text
    assert "各场次进度" in page and "第一批" in page and "第二批" in page
    step = client.get(f"/marking/exams/{exam.id}/next?batch={later.id}")
    assert step.location == f"/marking/answers/{second_item.id}?batch={later.id}"
    answer = client.get(step.location).text
    assert "第二批：已评定 0 / 1" in answer
    done = client.post(step.location, data={"round": "1", "score": "5"})
    assert done.location == f"/marking/exams/{exam.id}/next?batch={later.id}"
    finished = client.get(done.location, follow_redirects=True).text
    assert "「第二批」暂时没有需要您评阅的答卷" in finished
    # The first batch's answer is still waiting; a batch of another exam is no batch here.
    assert marking.next_answer(marker, exam) == (first_item, 1)
    other = written_exam([make_user(name="丙")])
    assert (
        client.get(f"/marking/exams/{exam.id}/next?batch={other.batches[0].id}").status_code == 404
    )


def test_the_menu_asks_one_query_per_exam_however_many_answers_wait(
    written_bank, make_user, count_queries
):
    """A named marker who gave every first mark (the second marks are another's) has
    nothing to mark: the 阅卷 link's check walked every waiting answer on every page."""
    people = [make_user(name=f"考生{i}") for i in range(250)]
    marker, other = make_user(name="阅卷员甲"), make_user(name="阅卷员乙")
    exam = written_exam(people, double_marking=True)
    items = [written_item(take(person, exam)) for person in people]
    marking.set_markers(SYSTEM, exam, [marker.login, other.login])
    db.session.commit()
    for item in items:
        mark(marker, item, 5)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as queries:
        assert not marking.has_work(marker)
    assert len(queries) < 10
    assert marking.has_work(other)
