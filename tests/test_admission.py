"""Admission control: logins and exam starts beyond what a process admits at once are
refused at once with 503 and Retry-After (nothing written), while answer saves go through."""

import threading

import pytest
from sqlalchemy import func, select

from core.admission import Gate
from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from training.exams.models import Attempt
from training.models import LoginSession

from .factories import make_exam
from .training.test_exam_views import choice_item, paper_of, save, start

JSON = {"Accept": "application/json"}


def test_the_gate_admits_its_slots_lets_its_queue_wait_and_refuses_the_rest():
    gate = Gate(slots=1, queue=1, wait=5)
    assert gate.enter()
    waited = []
    waiter = threading.Thread(target=lambda: waited.append(gate.enter()))
    waiter.start()
    while gate._waiting == 0:  # the waiter is in the queue
        threading.Event().wait(0.01)
    assert not gate.enter()  # the queue is full: refused at once
    gate.leave()  # the waiter gets the slot
    waiter.join(5)
    assert waited == [True]
    gate.leave()
    assert gate.enter()
    gate.leave()


def test_a_waiter_gives_up_after_the_wait():
    gate = Gate(slots=1, queue=1, wait=0.05)
    assert gate.enter()
    assert not gate.enter()
    gate.leave()


@pytest.fixture
def full_gate(app):
    """Every slot of this process taken and nobody allowed to wait: the next costly
    request is refused."""
    gate = Gate(slots=1, queue=0, wait=0)
    assert gate.enter()
    app.extensions["admission"], before = gate, app.extensions["admission"]
    yield gate
    app.extensions["admission"] = before


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_login_beyond_the_gate_is_told_to_come_back_and_changes_nothing(
    app, client, auth, learner, full_gate
):
    entries, sessions = count(AuditEntry), count(LoginSession)
    refused = auth.login(learner)
    assert refused.status_code == 503
    low, high = app.config["ADMISSION_RETRY_SECONDS"]
    assert low <= int(refused.headers["Retry-After"]) <= high
    assert "人数较多" in refused.text and "秒后重试" in refused.text
    assert (count(AuditEntry), count(LoginSession)) == (entries, sessions)
    assert client.get("/login").status_code == 200  # the page itself is not gated
    full_gate.leave()
    assert auth.login(learner).status_code == 302


def test_a_start_beyond_the_gate_gets_json_503_and_no_attempt_while_saves_go_through(
    app, client, auth, learner, questions
):
    exam = make_exam(roster=[learner])
    other = make_exam(roster=[learner])
    auth.login(learner)
    attempt_id = start(client, exam)
    item = choice_item(paper_of(client, attempt_id))
    gate = Gate(slots=1, queue=0, wait=0)
    gate.enter()
    app.extensions["admission"], before = gate, app.extensions["admission"]
    try:
        refused = client.post(f"/exams/{other.id}/start", headers=JSON)
        assert refused.status_code == 503
        assert refused.json["error"] == "busy" and "秒后重试" in refused.json["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert count(Attempt) == 1
        assert save(client, attempt_id, item, [0], 1).status_code == 200
    finally:
        app.extensions["admission"] = before


def test_only_a_learner_takes_a_slot_for_a_start(app, client, auth, make_user, exam):
    """Otherwise anyone looping on the start (anonymous, a trainer) could keep the slots
    busy at the exam's opening and every candidate would be told to come back."""
    entered = []

    class CountingGate(Gate):
        def enter(self):
            entered.append(True)
            return super().enter()

    app.extensions["admission"], before = CountingGate(1, 0, 0), app.extensions["admission"]
    try:
        assert client.post(f"/exams/{exam.id}/start", headers=JSON).status_code == 401
        assert entered == []
        auth.login(make_user(Role.TRAINER))
        entered.clear()  # the login's own slot
        assert client.post(f"/exams/{exam.id}/start", headers=JSON).status_code == 403
        assert entered == []
    finally:
        app.extensions["admission"] = before


def test_a_login_told_to_come_back_does_not_spend_the_addresss_allowance(
    app, client, auth, learner, full_gate
):
    """An exam hall behind one NAT address shares the per-address login limit: the 503s of
    admission control must not use it up."""
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    login = learner.login
    assert [auth.login(login).status_code for _ in range(4)] == [503] * 4
    full_gate.leave()
    assert auth.login(login).status_code == 302
