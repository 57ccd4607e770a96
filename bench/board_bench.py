"""Time the live board, the results page and the results export at a large roster.

    python bench/board_bench.py --database-url URL [--roster 12000] [--runs 7] [--fresh]

Seeds (on a database of its own: --fresh drops and creates a PostgreSQL database, or removes
a SQLite file, then applies the migrations) a district of 50 units, N learners on the roster
of one batch of a published 10-question exam, a third of them handed in (two thirds of those
passed), a sixth writing, the rest not started, and a system administrator. Then it times,
in process through Flask's test client (no HTTP, no gunicorn), `--runs` times each:

    GET  /manage/batches/<batch>/board          the live board (also its last page, and
                                                filtered by 考生0001: both new)
    GET  /manage/exams/<exam>/results           the results page
    POST /manage/exams/<exam>/results/export/xlsx  the export (audited: one entry per run)

and prints the median, min and max wall time, the statements sent to the database per request
(a SQLAlchemy before_cursor_execute listener) and the size of the answer. Uses only these URLs
and the tables' columns that every version has, so the same script times an older checkout
(copy it there and run it from there). Run by hand, never by the test suite.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Board@2026bench"
UNITS = 50


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def fresh_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    if not name.isidentifier():
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    with psycopg.connect(server + "/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")


def seed(roster: int) -> tuple[int, int]:
    """The roster, the exam and its batch; returns (exam id, batch id)."""
    from sqlalchemy import insert, select, text

    from core import clock
    from core.audit import SYSTEM
    from core.extensions import db
    from core.passwords import hash_password
    from core.roles import Role
    from question_bank import bank
    from question_bank.drafts import LawRefDraft, QuestionDraft
    from training.exams import setup, sittings
    from training.exams.models import Attempt, BatchMember
    from training.models import Unit, User, UserRole

    started = time.perf_counter()
    district = Unit(name="示范区人民政府")
    db.session.add(district)
    db.session.flush()
    units = []
    for number in range(1, UNITS + 1):
        unit = Unit(name=f"示范区第{number:02d}局", parent_id=district.id)
        db.session.add(unit)
        units.append(unit)
    db.session.flush()
    password_hash = hash_password(PASSWORD)  # once: everyone shares it
    admin = User(
        login="boardadmin",
        name="压测管理员",
        unit_id=district.id,
        password_hash=password_hash,
        must_change_password=False,
    )
    admin.set_roles({Role.SYSTEM_ADMIN})
    db.session.add(admin)
    db.session.execute(
        insert(User),
        [
            {
                "login": f"board{number:05d}",
                "name": f"考生{number:05d}",
                "unit_id": units[number % UNITS].id,
                "password_hash": password_hash,
                "must_change_password": False,
            }
            for number in range(1, roster + 1)
        ],
    )
    ids = db.session.scalars(
        select(User.id)
        .where(User.login.like("board%"), User.login != "boardadmin")
        .order_by(User.id)
    ).all()
    db.session.execute(
        insert(UserRole), [{"user_id": id_, "role": Role.LEARNER.value} for id_ in ids]
    )

    bank.add_law(SYSTEM, "宪法", "2018年修正")
    for number in range(1, 11):
        bank.add_question(
            SYSTEM,
            QuestionDraft(
                "true_false",
                f"压测判断题{number}：宪法是国家的根本法。",
                ["正确", "错误"],
                [0],
                [],
                law_refs=[LawRefDraft("宪法", None, number)],
            ),
        )
    now = clock.now()
    blueprint = setup.save_blueprint(
        SYSTEM,
        setup.BlueprintData("压测组卷", [setup.SectionData("true_false", 10, Decimal(10))]),
    )
    exam = setup.save_exam(
        SYSTEM,
        setup.ExamData(
            title="压测：年度学法考试",
            kind="annual",
            blueprint_id=blueprint.id,
            time_limit_minutes=600,
            pass_mark=Decimal(60),
            opens_at=now - timedelta(hours=2),
            closes_at=now + timedelta(days=2),
            grade_bands=[[90, "优秀"], [60, "合格"]],
        ),
    )
    setup.publish(SYSTEM, exam)
    batch = sittings.create_batch(
        SYSTEM, exam, "压测场次", now - timedelta(hours=1), now + timedelta(days=1)
    )
    db.session.execute(insert(BatchMember), [{"batch_id": batch.id, "user_id": id_} for id_ in ids])
    attempts = []
    for index, user_id in enumerate(ids):
        kind = index % 6
        if kind >= 3:
            continue  # half have not started
        submitted = kind < 2
        score = Decimal(90 if index % 3 else 40) if submitted else None
        attempts.append(
            {
                "exam_id": exam.id,
                "batch_id": batch.id,
                "user_id": user_id,
                "number": 1,
                "status": "submitted" if submitted else "in_progress",
                "started_at": now - timedelta(minutes=30),
                "deadline_at": now + timedelta(hours=9),
                "submitted_at": now - timedelta(minutes=5) if submitted else None,
                "submitted_by": "candidate" if submitted else "",
                "score": score,
                "max_score": Decimal(100),
                "passed": (score >= 60) if submitted else None,
                "grade_label": ("优秀" if score >= 60 else "不合格") if submitted else "",
            }
        )
    db.session.execute(insert(Attempt), attempts)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does soon after such a load: without statistics the planner
        # takes the new tables for empty.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    print(
        f"seeded {roster} on the roster ({len(attempts)} attempts) "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return exam.id, batch.id


def measure(client, method: str, url: str, runs: int, engine) -> dict:
    from sqlalchemy import event

    statements = []

    def note(*_args):
        statements.append(1)

    times, counts, sizes = [], [], []
    event.listen(engine, "before_cursor_execute", note)
    try:
        for _ in range(runs + 1):  # the first is a warm-up
            statements.clear()
            started = time.perf_counter()
            response = client.open(url, method=method)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{method} {url}: {response.status_code}")
            times.append(elapsed)
            counts.append(len(statements))
            sizes.append(len(response.data))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    times, counts, sizes = times[1:], counts[1:], sizes[1:]
    return {
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
        "queries": statistics.median(counts),
        "bytes": statistics.median(sizes),
    }


def bench_app(database_url: str):
    """The app on the benchmark's database, with CSRF off for the test client."""
    os.environ["DATABASE_URL"] = database_url
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database_url),
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def logged_in(app, login: str, password: str):
    """A test client signed in as `login`."""
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"login failed: {response.status_code}")
    return client


def print_load(when: str) -> None:
    load = os.getloadavg()
    print(f"load average {when}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)


def print_header() -> None:
    print(f"{'request':<28}{'median':>10}{'min':>10}{'max':>10}{'queries':>9}{'size':>12}")


def print_figures(label: str, figures: dict) -> None:
    print(
        f"{label:<28}{figures['median_ms']:>8.0f}ms{figures['min_ms']:>8.0f}ms"
        f"{figures['max_ms']:>8.0f}ms{figures['queries']:>9.0f}"
        f"{figures['bytes'] / 1024:>10.0f}kB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--roster", type=int, default=12_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop, create and seed first")
    args = parser.parse_args()
    if args.fresh:
        fresh_database(args.database_url)
    app = bench_app(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from core.extensions import db
    from training.exams.models import Batch

    with app.app_context():
        if args.fresh:
            upgrade()
            exam_id, batch_id = seed(args.roster)
        else:
            batch = db.session.scalar(select(Batch).where(Batch.name == "压测场次"))
            if batch is None:
                raise SystemExit("nothing seeded yet: run with --fresh")
            exam_id, batch_id = batch.exam_id, batch.id
        engine = db.engine
        db.session.remove()
    client = logged_in(app, "boardadmin", PASSWORD)
    print_load("before")
    print_header()
    for label, method, url in (
        ("board", "GET", f"/manage/batches/{batch_id}/board"),
        ("board, last page", "GET", f"/manage/batches/{batch_id}/board?page=240"),
        ("board, name filter", "GET", f"/manage/batches/{batch_id}/board?q=%E8%80%83%E7%94%9F0001"),
        ("results page", "GET", f"/manage/exams/{exam_id}/results"),
        ("export xlsx", "POST", f"/manage/exams/{exam_id}/results/export/xlsx"),
    ):
        print_figures(label, measure(client, method, url, args.runs, engine))
    print_load("after")


if __name__ == "__main__":
    main()
