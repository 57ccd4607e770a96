"""The waiting room (候考): the exam's page counts down to the batch's start by the server's
clock and opens the paper then, asking for JSON; it records nothing about the wait."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import AuditEntry
from core.extensions import db
from training.exams.models import Attempt

from ..factories import add_batch, make_exam, take

JSON = {"Accept": "application/json"}


@pytest.fixture
def upcoming(questions, learner, frozen_clock):
    """An exam whose only batch for `learner` opens in 10 minutes."""
    exam = make_exam(roster=[])
    now = clock.now()
    add_batch(
        exam, [learner], opens_at=now + timedelta(minutes=10), closes_at=now + timedelta(hours=2)
    )
    return exam


def room(page: str) -> str:
    return page.split("data-waiting-room")[1].split("</section>")[0]


def test_the_page_counts_down_by_the_servers_clock_from_the_waiting_rooms_start(
    app, client, auth, learner, upcoming, frozen_clock
):
    auth.login(learner)
    opens_at = frozen_clock.now + timedelta(minutes=10)
    frozen_clock.now = opens_at - timedelta(minutes=20)
    early = client.get(f"/exams/{upcoming.id}").text
    assert "data-waiting-room" not in early
    assert "开考前 15 分钟起可在本页候考" in early

    frozen_clock.now = opens_at - timedelta(minutes=9, seconds=30)
    waiting = room(client.get(f"/exams/{upcoming.id}").text)
    assert 'data-opens-in="570"' in waiting and "9:30" in waiting
    assert f'data-spread="{app.config["EXAM_START_SPREAD_SECONDS"]}"' in waiting
    assert f'data-start-url="/exams/{upcoming.id}/start"' in waiting
    assert 'name="csrf_token"' in waiting or app.config["WTF_CSRF_ENABLED"] is False
    assert "不必重新登录" in waiting and "考试时长从您打开试卷时起算" in waiting


def test_waiting_records_nothing(client, auth, learner, upcoming):
    auth.login(learner)

    def counts():
        return (
            db.session.scalar(select(func.count(Attempt.id))),
            db.session.scalar(select(func.count(AuditEntry.id))),
        )

    before = counts()
    for _ in range(3):
        assert "data-waiting-room" in client.get(f"/exams/{upcoming.id}").text
    assert counts() == before


def test_start_before_the_batch_opens_says_when_to_ask_again(
    client, auth, learner, upcoming, frozen_clock
):
    auth.login(learner)
    frozen_clock.now += timedelta(minutes=9, seconds=58)
    early = client.post(f"/exams/{upcoming.id}/start", headers=JSON)
    assert early.status_code == 409
    assert early.json["error"] == "not_open_yet" and early.json["retry_after"] == 2
    assert early.headers["Retry-After"] == "2"
    assert db.session.scalar(select(func.count(Attempt.id))) == 0

    frozen_clock.now += timedelta(seconds=3)
    opened = client.post(f"/exams/{upcoming.id}/start", headers=JSON)
    assert opened.status_code == 200
    attempt = db.session.scalar(select(Attempt))
    assert opened.json == {"url": f"/attempts/{attempt.id}"}
    # time counts from the candidate's own start, not from the batch's
    assert attempt.deadline_at == frozen_clock.now + timedelta(minutes=60)
    again = client.post(f"/exams/{upcoming.id}/start", headers=JSON)
    assert again.json == {"url": f"/attempts/{attempt.id}"}  # resumes, never a second paper


def test_start_that_cannot_happen_says_why_without_a_retry(
    client, auth, learner, questions, frozen_clock
):
    exam = make_exam(roster=[])
    now = clock.now()
    add_batch(
        exam, [learner], opens_at=now - timedelta(minutes=50), closes_at=now - timedelta(minutes=10)
    )
    auth.login(learner)
    response = client.post(f"/exams/{exam.id}/start", headers=JSON)
    assert response.status_code == 409 and response.json["error"] == "cannot_start"
    assert response.json["message"] and "Retry-After" not in response.headers


def test_a_candidate_waiting_for_a_retake_waits_in_the_same_room(
    client, auth, learner, questions, frozen_clock
):
    exam = make_exam(
        roster=[learner], attempts_allowed=2, retake_after_pass=True, one_attempt_per_batch=True
    )
    take(learner, exam)
    now = clock.now()
    retake = add_batch(
        exam, [learner], opens_at=now + timedelta(minutes=5), closes_at=now + timedelta(hours=1)
    )
    auth.login(learner)
    waiting = room(client.get(f"/exams/{exam.id}").text)
    assert 'data-opens-in="300"' in waiting and retake.name in waiting


@pytest.mark.parametrize(("window_minutes", "spread"), [(60, 0), (60.5, 30), (120, 60)])
def test_starts_are_spread_only_over_the_time_the_batch_leaves_beyond_the_limit(
    app, client, auth, learner, questions, frozen_clock, window_minutes, spread
):
    """A candidate started late in a batch exactly as long as the exam would lose the
    seconds at its close: there the page starts everyone at once."""
    app.config["EXAM_START_SPREAD_SECONDS"] = 60
    exam = make_exam(roster=[])  # a time limit of 60 minutes
    opens_at = clock.now() + timedelta(minutes=5)
    closes_at = opens_at + timedelta(minutes=window_minutes)
    add_batch(exam, [learner], opens_at=opens_at, closes_at=closes_at)
    auth.login(learner)
    waiting = room(client.get(f"/exams/{exam.id}").text)
    assert f'data-spread="{spread}"' in waiting
    assert ("不会因此减少" in waiting) == bool(spread)
