"""`flask backup` while candidates save answers, then `flask restore`: every answer the
server acknowledged before the backup began is in the restored database.

On PostgreSQL (TEST_DATABASE_URL) this runs pg_dump and pg_restore; it is skipped there
when they are not installed (.ci/run installs postgresql-client).
"""

import random
import shutil
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from core import clock
from core.extensions import db
from training.exams import attempts
from training.exams.models import Response
from training.models import User

from .conftest import POSTGRES_URL
from .factories import make_exam, standard_bank

SAVERS = 4

needs_tools = pytest.mark.skipif(
    bool(POSTGRES_URL) and shutil.which("pg_dump") is None, reason="pg_dump is not installed"
)


@pytest.fixture
def exam_in_progress(app, make_user):
    standard_bank()
    people = [make_user() for _ in range(SAVERS)]
    exam = make_exam(roster=people)
    taken = []
    for number, person in enumerate(people):
        attempt = attempts.start_attempt(person, exam, clock.now(), random.Random(number))
        # Items with choices, so that [0] and [1] are answers each of them can take.
        chosen = [item.id for item in attempt.items if item.question_version.choices]
        taken.append((person.id, attempt.id, chosen))
    db.session.commit()
    return taken


def _wait_until(condition, seconds=30.0):
    """Poll until `condition()` holds, bounded: a loaded machine saves slower, not less."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _saver(app, person_id, attempt_id, item_ids, acknowledged, stop):
    """Save answers back to back as the save view does; each committed save is an
    acknowledged one (the view answers 200 only after the commit)."""
    seq = 0
    with app.app_context():
        while not stop.is_set():
            seq += 1
            item_id = item_ids[seq % len(item_ids)]
            answer = [seq % 2]
            result = attempts.save_answer(
                person_id, attempt_id, item_id, answer, seq, clock.now(), timedelta(0)
            )
            db.session.commit()
            assert result.saved
            acknowledged.append((attempt_id, item_id, seq))
        db.session.remove()


@needs_tools
def test_a_backup_taken_during_saves_restores_every_acknowledged_answer(
    app, runner, exam_in_progress, tmp_path
):
    acknowledged: list[tuple[int, int, int]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_saver, args=(app, *taken, acknowledged, stop))
        for taken in exam_in_progress
    ]
    for thread in threads:
        thread.start()
    _wait_until(lambda: len(acknowledged) > 20)
    before_backup = list(acknowledged)
    backup = tmp_path / "backup" / "exam-day.dump"
    result = runner.invoke(args=["backup", str(backup)])
    _wait_until(lambda: len(acknowledged) > len(before_backup) + SAVERS)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.output and backup.stat().st_size > 0
    assert len(before_backup) > 20 and len(acknowledged) > len(before_backup)

    db.session.remove()
    restored = runner.invoke(args=["restore", str(backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    db.session.remove()
    db.engine.dispose()
    held = {(row.attempt_id, row.item_id): row.seq for row in db.session.scalars(select(Response))}
    newest: dict[tuple[int, int], int] = {}
    for attempt_id, item_id, seq in before_backup:
        newest[(attempt_id, item_id)] = max(seq, newest.get((attempt_id, item_id), 0))
    missing = {key: seq for key, seq in newest.items() if held.get(key, 0) < seq}
    assert missing == {}
    # The restore put the backup back: answers acknowledged after it are gone again.
    last = max(seq for _, _, seq in acknowledged)
    assert max(held.values()) < last


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    if POSTGRES_URL:
        pytest.skip("the SQLite check; pg_restore refuses such a file itself")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code != 0 and "不是本系统的完整备份" in result.output
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = runner.invoke(args=["restore", str(empty), "--yes"])
    assert result.exit_code != 0 and "不是本系统的完整备份" in result.output
    assert runner.invoke(args=["restore", str(tmp_path / "none.db"), "--yes"]).exit_code != 0


def test_restore_asks_before_overwriting(app, runner, tmp_path):
    backup = tmp_path / "copy.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    result = runner.invoke(args=["restore", str(backup)], input="n\n")
    assert result.exit_code != 0 and "确定恢复吗" in result.output


@needs_tools
def test_restore_refuses_while_the_site_uses_the_database(app, runner, make_user, tmp_path):
    """A running worker keeps per-process copies under ids a restore hands out again."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: sessions of other processes are visible in pg_stat_activity")
    backup = tmp_path / "copy.dump"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    added = make_user()
    db.session.commit()
    added_id = added.id
    db.session.remove()
    site = create_engine(db.engine.url)  # a worker of the running site
    with site.connect():
        result = runner.invoke(args=["restore", str(backup), "--yes"])
    site.dispose()
    assert result.exit_code != 0 and "其他连接" in result.output
    assert db.engine.url.username in result.output  # who is connected, by role name
    db.session.remove()
    assert db.session.get(User, added_id) is not None  # nothing was restored
