"""The database goes away on exam day: saves answer 503 with Retry-After and one log line,
the server records the outage when the database is back, deadlines inside it move by its
length (audited), nothing is submitted by the clock meanwhile, and an administrator can
reopen an attempt that was submitted during one.

The database is made unreachable by refusing every new connection (as a stopped server
does) after the pool is emptied; tests/training/test_outage_postgres.py stops a real
PostgreSQL server.
"""

import json
import logging
import os
import random
import socket
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, select, text

from core import outages
from core.audit import Actor, AuditEntry
from core.extensions import db
from core.outages import Outage
from core.roles import Role
from training.exams import attempts
from training.exams import outages as exam_outages
from training.exams.models import Attempt

from ..factories import GRACE, add_batch, correct_answer

LOST = "server closed the connection unexpectedly (test outage)"


class Database:
    """Switch the app's database off and on, as a stopped server would be."""

    def __init__(self, app):
        self.app = app
        self.down = False
        self._listeners = []
        event.listen(db.engine, "do_connect", self._connect)

    def _connect(self, dialect, conn_rec, cargs, cparams):
        if self.down:
            raise dialect.loaded_dbapi.OperationalError("connection refused (test outage)")
        return None

    def stop(self):
        db.session.remove()
        db.engine.dispose()  # pooled connections would outlive the "server"
        self.down = True

    def start(self):
        self.down = False

    def lose_connection_at(self, fragment: str) -> None:
        """The server goes away while a request is under way: the next statement that
        contains `fragment` finds its connection gone (PostgreSQL: the backend is really
        terminated), and no new connection is let through until start()."""

        fired = []

        def cut(connection, cursor, statement, parameters, context, executemany):
            if fragment not in statement or fired:
                return
            fired.append(statement)
            self.down = True
            dialect = connection.dialect
            if dialect.name != "postgresql":
                raise dialect.loaded_dbapi.OperationalError(LOST)
            pid = connection.connection.dbapi_connection.info.backend_pid
            killer = create_engine(connection.engine.url)
            with killer.begin() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.dispose()

        def lost(context):
            # SQLite has no server to lose: say of the stand-in what a driver says of a
            # dropped connection, so that the pool discards it as it would.
            if str(context.original_exception) == LOST:
                context.is_disconnect = True

        for name, listener in (("before_cursor_execute", cut), ("handle_error", lost)):
            event.listen(db.engine, name, listener, insert=True)
            self._listeners.append((name, listener))

    def remove(self):
        event.remove(db.engine, "do_connect", self._connect)
        for name, listener in self._listeners:
            event.remove(db.engine, name, listener)


@pytest.fixture(autouse=True)
def busy_candidates(app):
    """The tests jump the clock across the hour of an exam; the page's saves in between,
    which keep a session from the idle timeout, are left out."""
    app.config["IDLE_TIMEOUT_MINUTES"] = 24 * 60


@pytest.fixture
def database(app):
    switch = Database(app)
    yield switch
    switch.start()
    switch.remove()


def start(client, exam) -> Attempt:
    response = client.post(f"/exams/{exam.id}/start")
    assert response.status_code == 302, response.text
    db.session.expire_all()
    return db.session.scalar(select(Attempt).order_by(Attempt.id.desc()))


def save(client, attempt, item, answer, seq):
    return client.post(
        f"/attempts/{attempt.id}/answers", json={"item_id": item.id, "answer": answer, "seq": seq}
    )


def reload(attempt) -> Attempt:
    db.session.expire_all()
    return db.session.get(Attempt, attempt.id)


def test_saves_answer_503_with_retry_after_and_one_log_line_while_the_database_is_down(
    client, auth, learner, exam, database, caplog
):
    auth.login(learner)
    attempt = start(client, exam)
    item = attempt.items[0]
    database.stop()
    with caplog.at_level(logging.INFO):
        response = save(client, attempt, item, [0], 1)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    assert response.json["error"] == "database_unavailable"
    assert "保存在您的设备上" in response.json["message"]
    lines = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(lines) == 1, [record.getMessage() for record in lines]
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert f"POST /attempts/{attempt.id}/answers" in lines[0].getMessage()

    page = client.get(f"/attempts/{attempt.id}")  # a page gets the error page, same status
    assert page.status_code == 503 and "数据库暂时无法连接" in page.text
    assert page.headers["Retry-After"]

    database.start()
    assert save(client, attempt, item, [0], 2).status_code == 200


def test_a_connection_lost_after_the_user_was_loaded_answers_503_too(
    client, auth, learner, exam, database, caplog
):
    """A restart in the middle of a request: the user is loaded, then the save's claim
    finds the connection gone. The rolled-back user must not be read again (500)."""
    auth.login(learner)
    attempt = start(client, exam)
    database.lose_connection_at("UPDATE attempts")
    with caplog.at_level(logging.INFO):
        response = save(client, attempt, attempt.items[0], [0], 1)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    assert response.json["error"] == "database_unavailable"
    lines = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]

    database.start()
    database.lose_connection_at("FROM attempts")  # a page: the user is loaded, then this
    page = client.get(f"/attempts/{attempt.id}")
    assert page.status_code == 503 and "数据库暂时无法连接" in page.text

    database.start()
    assert save(client, attempt, attempt.items[0], [0], 2).status_code == 200


def test_the_response_hooks_read_nothing_from_the_database(client, auth, learner, database):
    """The view's commit expires every loaded object, the signed-in user too: a response
    hook that read it again would query the database after the view, and a connection lost
    just then would turn a finished page into a 500."""
    auth.login(learner)
    database.lose_connection_at("WHERE users.id = ")
    response = client.get("/")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_the_first_request_after_the_outage_records_it_with_its_start_and_end(
    app, client, auth, learner, exam, database, frozen_clock
):
    auth.login(learner)
    attempt = start(client, exam)
    item = attempt.items[0]
    began = frozen_clock.now
    database.stop()
    assert save(client, attempt, item, [0], 1).status_code == 503
    frozen_clock.now = began + timedelta(seconds=10)
    assert client.get(f"/attempts/{attempt.id}/paper").status_code == 503
    marker = outages.watch().marker
    assert json.loads(marker.read_text()) == {
        "start": began.isoformat(),
        "last": frozen_clock.now.isoformat(),
    }
    database.start()
    frozen_clock.now = began + timedelta(seconds=15)
    assert save(client, attempt, item, [0], 2).status_code == 200
    outage = db.session.scalar(select(Outage))
    assert (outage.started_at, outage.ended_at) == (began, frozen_clock.now)
    assert outage.source == f"{socket.gethostname()}-{os.getpid()}"
    assert not marker.exists() and not outages.watch().pending
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outage.record"))
    assert entry.object_id == str(outage.id) and "15 秒" in entry.summary
    assert client.get("/").status_code == 200
    assert db.session.scalar(select(Outage).where(Outage.id != outage.id)) is None  # once


def test_an_outage_across_the_deadline_costs_no_answer(
    client, auth, learner, exam, questions, database, frozen_clock
):
    """The issue's case: 41 s of outage starting 8 s before the deadline."""
    auth.login(learner)
    attempt = start(client, exam)
    by_question = {item.question_version.question_id: item for item in attempt.items}
    first, second = questions["single1"], questions["true_false"]
    assert save(client, attempt, by_question[first.id], correct_answer(first), 1).status_code == 200
    deadline = attempt.deadline_at
    queued = correct_answer(second)
    frozen_clock.now = deadline - timedelta(seconds=8)
    database.stop()
    assert save(client, attempt, by_question[second.id], queued, 2).status_code == 503
    frozen_clock.now = deadline + timedelta(seconds=33)
    assert save(client, attempt, by_question[second.id], queued, 2).status_code == 503
    database.start()
    # The page sends its queue again once the server answers: past deadline + grace by the
    # old deadline, within it by the moved one.
    frozen_clock.now = deadline + timedelta(seconds=33 + 5)
    response = save(client, attempt, by_question[second.id], queued, 2)
    assert response.status_code == 200, response.text
    attempt = reload(attempt)
    assert attempt.status == "in_progress"
    assert attempt.deadline_at == deadline + timedelta(seconds=46)  # the outage as recorded
    assert attempt.outage_seconds == 46
    extension = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "attempt.outage_extend")
    )
    assert extension.detail_dict == {"extended": [{"attempt": attempt.id, "seconds": 46}]}

    frozen_clock.now = attempt.deadline_at + GRACE + timedelta(seconds=1)
    assert client.get(f"/attempts/{attempt.id}/result").status_code == 200
    attempt = reload(attempt)
    assert (attempt.status, attempt.submitted_by) == ("submitted", "deadline")
    assert attempt.score == 4  # both answers count: 2 points each


def test_a_host_name_with_dots_does_not_hide_its_outage(
    client, auth, learner, exam, database, monkeypatch
):
    monkeypatch.setattr(outages, "_host", lambda: "exam1.sifaju.gov.cn")
    auth.login(learner)
    attempt = start(client, exam)
    item = attempt.items[0]
    database.stop()
    assert save(client, attempt, item, [0], 1).status_code == 503
    database.start()
    assert save(client, attempt, item, [0], 2).status_code == 200
    outage = db.session.scalar(select(Outage))
    assert outage is not None and outage.source == f"exam1.sifaju.gov.cn-{os.getpid()}"
    assert not list(outages.watch().directory.iterdir()) and not outages.watch().pending


def test_deadlines_outside_an_outage_do_not_move(app, learner, exam, make_user, frozen_clock):
    other = make_user()

    add_batch(exam, [other])
    early = attempts.start_attempt(learner, exam, frozen_clock.now, random.Random(1))
    frozen_clock.now += timedelta(minutes=30)
    late = attempts.start_attempt(other, exam, frozen_clock.now, random.Random(2))
    db.session.commit()
    # An outage 20 minutes into the later attempt: neither deadline is inside it.
    db.session.add(
        Outage(
            started_at=frozen_clock.now + timedelta(minutes=20),
            ended_at=frozen_clock.now + timedelta(minutes=21),
            source="test",
        )
    )
    db.session.flush()
    assert exam_outages.extend_for_outages(GRACE) == {}
    # One that holds the earlier deadline: only that attempt moves, by its length.
    db.session.add(
        Outage(
            started_at=early.deadline_at - timedelta(seconds=5),
            ended_at=early.deadline_at + timedelta(seconds=55),
            source="test",
        )
    )
    db.session.flush()
    before = early.deadline_at
    assert exam_outages.extend_for_outages(GRACE) == {early.id: 60}
    db.session.expire_all()
    assert early.deadline_at == before + timedelta(seconds=60)
    assert late.outage_seconds == 0


def test_overlapping_records_of_several_workers_count_once_and_chained_outages_add_up(
    app, learner, exam, frozen_clock
):
    attempt = attempts.start_attempt(learner, exam, frozen_clock.now, random.Random(1))
    db.session.commit()
    deadline = attempt.deadline_at
    # Two workers saw the same outage with slightly different ends.
    for start, end in ((-10, 30), (-8, 32)):
        db.session.add(
            Outage(
                started_at=deadline + timedelta(seconds=start),
                ended_at=deadline + timedelta(seconds=end),
                source=f"worker{start}",
            )
        )
    db.session.flush()
    assert exam_outages.extend_for_outages(GRACE) == {attempt.id: 42}
    assert exam_outages.extend_for_outages(GRACE) == {}  # again: nothing more
    # A second outage in which the moved deadline falls: it moves again.
    moved = deadline + timedelta(seconds=42)
    db.session.add(
        Outage(
            started_at=moved - timedelta(seconds=1),
            ended_at=moved + timedelta(seconds=9),
            source="later",
        )
    )
    db.session.flush()
    assert exam_outages.extend_for_outages(GRACE) == {attempt.id: 10}
    db.session.expire_all()
    assert attempt.deadline_at == deadline + timedelta(seconds=52)


def _marker_of_another_worker(app, start, last, claimed_by: int | None = None):
    """A sibling worker's note of an outage; with `claimed_by`, as a process (that pid)
    leaves it while it writes the record."""
    directory = outages.watch().directory
    directory.mkdir(parents=True, exist_ok=True)
    # The parent process stands in for a live sibling worker.
    path = directory / f"{socket.gethostname()}-{os.getppid()}"
    if claimed_by is not None:
        path = path.with_name(f"{path.name}.claimed-{claimed_by}")
    path.write_text(json.dumps({"start": start.isoformat(), "last": last.isoformat()}))
    return path


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_nothing_is_submitted_by_the_clock_while_its_deadline_sits_in_an_unrecorded_outage(
    app, runner, learner, exam, frozen_clock
):
    attempt = attempts.start_attempt(learner, exam, frozen_clock.now, random.Random(1))
    db.session.commit()
    deadline = attempt.deadline_at
    _marker_of_another_worker(
        app, deadline - timedelta(seconds=8), deadline + timedelta(seconds=20)
    )
    frozen_clock.now = deadline + timedelta(seconds=45)
    assert not attempts.finalize_if_expired(attempt, frozen_clock.now, GRACE)
    assert attempts.finalize_expired(frozen_clock.now, GRACE) == 0
    assert attempt.status == "in_progress"

    # The cron job reaches the database: it records the sibling's outage (ending at most a
    # minute after the last failure it saw), moves the deadline and submits nothing.
    result = runner.invoke(args=["exams", "finalize"])
    assert result.exit_code == 0 and "0 份" in result.output, result.output
    outage = db.session.scalar(select(Outage))
    assert outage.started_at == deadline - timedelta(seconds=8)
    assert outage.ended_at == frozen_clock.now  # the cron ran within that minute
    attempt = reload(attempt)
    assert attempt.status == "in_progress"
    assert attempt.deadline_at == deadline + timedelta(seconds=53)
    assert not list(outages.watch().directory.iterdir())


def test_a_request_in_any_worker_records_a_siblings_outage(
    client, auth, learner, exam, frozen_clock
):
    auth.login(learner)
    attempt = start(client, exam)
    deadline = attempt.deadline_at
    _marker_of_another_worker(
        None, deadline - timedelta(seconds=5), deadline + timedelta(seconds=5)
    )
    frozen_clock.now = deadline + timedelta(seconds=40)  # past deadline + grace by the old deadline
    response = save(client, attempt, attempt.items[0], [0], 1)
    assert response.status_code == 200, response.text
    assert reload(attempt).outage_seconds == 45


def test_a_save_that_meets_a_record_being_written_is_sent_again_not_refused(
    client, auth, learner, exam, frozen_clock
):
    """The drill's case: the first request after the outage went to another worker, which
    is still writing the record when a queued save, late by the old deadline, arrives."""
    auth.login(learner)
    attempt = start(client, exam)
    deadline = attempt.deadline_at
    start_, last = deadline - timedelta(seconds=5), deadline + timedelta(seconds=5)
    path = _marker_of_another_worker(None, start_, last, claimed_by=os.getppid())
    frozen_clock.now = deadline + timedelta(seconds=40)
    item = attempt.items[0]
    response = save(client, attempt, item, [0], 1)
    assert response.status_code == 503, response.text
    assert response.json["error"] == "outage_recording"
    assert response.headers["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    assert "保存在您的设备上" in response.json["message"]
    assert reload(attempt).status == "in_progress"

    # The other worker commits its record and drops the marker; the page sends again.
    marker = outages.Marker(path, path.name.split(".")[0], start_, last)
    exam_outages.record_outages([(marker, frozen_clock.now)], GRACE)
    db.session.commit()
    path.unlink()
    response = save(client, attempt, item, [0], 1)
    assert response.status_code == 200, response.text
    assert reload(attempt).outage_seconds == 45


def test_a_record_left_half_written_by_a_dead_worker_is_written_by_the_next_request(
    client, auth, learner, exam, frozen_clock
):
    auth.login(learner)
    attempt = start(client, exam)
    deadline = attempt.deadline_at
    _marker_of_another_worker(
        None,
        deadline - timedelta(seconds=5),
        deadline + timedelta(seconds=5),
        claimed_by=_dead_pid(),
    )
    frozen_clock.now = deadline + timedelta(seconds=40)
    response = save(client, attempt, attempt.items[0], [0], 1)
    assert response.status_code == 200, response.text
    assert reload(attempt).outage_seconds == 45
    assert not list(outages.watch().directory.iterdir())


def test_a_save_late_before_the_outage_began_is_still_refused(
    client, auth, learner, exam, frozen_clock
):
    auth.login(learner)
    attempt = start(client, exam)
    deadline = attempt.deadline_at
    began = deadline + GRACE + timedelta(seconds=10)
    _marker_of_another_worker(None, began, began + timedelta(seconds=5), os.getppid())
    frozen_clock.now = began + timedelta(seconds=20)
    response = save(client, attempt, attempt.items[0], [0], 1)
    assert response.status_code == 409 and response.json["error"] == "closed"


# --- reopening --------------------------------------------------------------------------


@pytest.fixture
def submitted_in_outage(learner, exam, frozen_clock):
    """An attempt the clock submitted inside a recorded outage (a server that did not see
    the outage, or before outages were recorded)."""
    attempt = attempts.start_attempt(learner, exam, frozen_clock.now, random.Random(1))
    outage = Outage(
        started_at=attempt.deadline_at - timedelta(seconds=8),
        ended_at=attempt.deadline_at + timedelta(seconds=33),
        source="test",
    )
    db.session.add(outage)
    attempts.submit(attempt, attempt.deadline_at + timedelta(seconds=31), "deadline")
    db.session.commit()
    frozen_clock.now = attempt.deadline_at + timedelta(minutes=10)
    return attempt, outage


def test_an_admin_reopens_an_attempt_submitted_during_an_outage(
    client, login_as, learner, submitted_in_outage, frozen_clock
):
    attempt, outage = submitted_in_outage
    admin = login_as(Role.SYSTEM_ADMIN)
    page = client.get("/manage/outages")
    assert page.status_code == 200
    assert learner.name in page.text and "41 秒" in page.text
    assert 'value="1"' in page.text  # the minutes lost: 8 s + the grace → 1 minute
    response = client.post(
        f"/manage/outages/{outage.id}/attempts/{attempt.id}/reopen", data={"minutes": 5}
    )
    assert response.status_code == 302
    attempt = reload(attempt)
    assert (attempt.status, attempt.submitted_at, attempt.score) == ("in_progress", None, None)
    assert attempt.deadline_at == frozen_clock.now + timedelta(minutes=5)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.reopen"))
    assert entry.actor_id == admin.id and entry.detail_dict["minutes"] == 5
    assert entry.detail_dict["before"]["submitted_by"] == "deadline"
    # No longer listed, and a second reopen is refused.
    reopen_url = f"/manage/outages/{outage.id}/attempts/{attempt.id}/reopen"
    assert reopen_url not in client.get("/manage/outages").text
    again = client.post(
        reopen_url,
        data={"minutes": 5},
        follow_redirects=True,
    )
    assert "尚未交卷" in again.text


def test_reopening_is_refused_for_ones_own_attempt_and_outside_ones_units(
    client, auth, make_user, make_unit, root_unit, exam, frozen_clock
):

    other_unit = make_unit("另一单位")
    admin = make_user(Role.SYSTEM_ADMIN, Role.LEARNER)
    stranger = make_user(unit=other_unit)
    unit_admin = make_user(Role.UNIT_ADMIN, unit=root_unit)
    add_batch(exam, [admin, stranger])
    found = {}
    for person in (admin, stranger):
        attempt = attempts.start_attempt(person, exam, frozen_clock.now, random.Random(1))
        found[person.id] = attempt
    outage = Outage(
        started_at=frozen_clock.now + timedelta(minutes=59),
        ended_at=frozen_clock.now + timedelta(minutes=61),
        source="test",
    )
    db.session.add(outage)
    for attempt in found.values():
        attempts.submit(attempt, attempt.deadline_at + timedelta(seconds=31), "deadline")
    db.session.commit()
    frozen_clock.now += timedelta(minutes=70)

    auth.login(admin)
    own = client.post(
        f"/manage/outages/{outage.id}/attempts/{found[admin.id].id}/reopen",
        data={"minutes": 5},
        follow_redirects=True,
    )
    assert "不能重新开放自己的答卷" in own.text
    assert reload(found[admin.id]).status == "submitted"
    auth.logout()

    auth.login(unit_admin)
    assert stranger.name not in client.get("/manage/outages").text
    response = client.post(
        f"/manage/outages/{outage.id}/attempts/{found[stranger.id].id}/reopen",
        data={"minutes": 5},
    )
    assert response.status_code == 404
    assert reload(found[stranger.id]).status == "submitted"


def test_an_attempt_outside_the_outage_cannot_be_reopened_for_it(
    app, learner, exam, make_user, frozen_clock
):
    attempt = attempts.start_attempt(learner, exam, frozen_clock.now, random.Random(1))
    attempts.submit(attempt, frozen_clock.now + timedelta(minutes=5), "candidate")
    outage = Outage(
        started_at=frozen_clock.now + timedelta(hours=3),
        ended_at=frozen_clock.now + timedelta(hours=3, seconds=30),
        source="test",
    )
    db.session.add(outage)
    db.session.commit()
    admin = make_user(Role.SYSTEM_ADMIN)
    actor = Actor(id=admin.id, login=admin.login)
    with pytest.raises(attempts.ExamError, match="不在这次数据库中断之内"):
        exam_outages.reopen(actor, attempt, outage, 5, frozen_clock.now, GRACE)
