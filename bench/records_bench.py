"""Time a person's study record and a unit's compliance page at scale.

    python bench/records_bench.py --database-url URL [--people 100000] [--runs 7] [--fresh]

Seeds (--fresh drops and creates the PostgreSQL database and migrates) a district of 20
units of people/20 each (5,000 at the full size), people/5 activities (20,000: 1,000 a unit
over the last three years, 1.5 hours each) with 95 attendees each from their unit (1,900,000
attendance rows), and an annual exam with one submitted attempt for every person (seven in
ten passed): 2,000,000 activity and credit rows at the full size. Then it times, in process
through Flask's test client (no HTTP), after one warm-up, `--runs` times each:

    GET /records/people/<id>                      a person's record, viewed by an admin
                                                  (audited: one entry per run)
    GET /records/compliance/?unit=<unit>          a unit's compliance page (5,000 people)
    GET /records/compliance/export?unit=<unit>    its export

and, as the bare reference in the same run, the compliance page's data read by three plain
psycopg queries (no ORM, rules or template); prints the median, min and max wall time, the
statements per request and the size. The seed writes attendance by SQL, so it rebuilds
record_year_totals (training.records.totals) after.
Run by hand, never by the test suite.
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The board benchmark's database and timing helpers (run from bench/, or as bench/x.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from board_bench import (  # noqa: E402
    bench_app,
    fresh_database,
    logged_in,
    measure,
    print_figures,
    print_header,
    print_load,
)

PASSWORD = "Records@2026bench"
UNITS = 20
ATTENDEES = 95


def seed(people: int) -> None:
    from sqlalchemy import select, text

    from core import clock
    from core.audit import SYSTEM
    from core.extensions import db
    from core.passwords import hash_password
    from core.roles import Role
    from question_bank import bank
    from question_bank.drafts import LawRefDraft, QuestionDraft
    from training.exams import setup, sittings
    from training.models import Unit, User
    from training.records import totals

    started = time.perf_counter()
    per_unit = people // UNITS
    district = Unit(name="示范区人民政府")
    db.session.add(district)
    db.session.flush()
    units = [Unit(name=f"示范区第{n:02d}局", parent_id=district.id) for n in range(1, UNITS + 1)]
    db.session.add_all(units)
    db.session.flush()
    unit_ids = [unit.id for unit in units]
    assert unit_ids == list(range(unit_ids[0], unit_ids[0] + UNITS))
    password_hash = hash_password(PASSWORD)
    admin = User(
        login="recordsadmin",
        name="压测管理员",
        unit_id=district.id,
        password_hash=password_hash,
        must_change_password=False,
    )
    admin.set_roles({Role.SYSTEM_ADMIN})
    db.session.add(admin)
    db.session.flush()
    params = {"hash": password_hash, "unit0": unit_ids[0], "per_unit": per_unit, "n": people}
    db.session.execute(
        text(
            "INSERT INTO users (login, name, unit_id, position, is_leader,"
            " is_enforcement_officer, phone, id_number, password_hash, must_change_password,"
            " is_active, session_version, created_at)"
            " SELECT 'rb' || lpad(g::text, 6, '0'), '人员' || g, :unit0 + (g - 1) / :per_unit,"
            " '', g % 10 = 0, g % 7 = 0, '', '', :hash, false, true, 1, now()"
            " FROM generate_series(1, :n) g"
        ),
        params,
    )
    first = db.session.scalar(select(User.id).where(User.login == "rb000001"))
    db.session.execute(
        text(
            "INSERT INTO user_roles (user_id, role) SELECT id, :role FROM users"
            " WHERE login LIKE 'rb%'"
        ),
        {"role": Role.LEARNER.value},
    )
    db.session.execute(
        text(
            "INSERT INTO record_activities (kind, held_on, title, topic, laws_studied,"
            " presenter, place, case_type, law_day, report_text, credit_hours, unit_id,"
            " recorded_by, created_at)"
            " SELECT (ARRAY['pre_meeting', 'court_hearing', 'lecture', 'law_day'])[1 + g % 4],"
            " current_date - (g % 1000), '压测活动' || g, '', '', '', '', '', '', '', 1.5,"
            " :unit0 + (g - 1) % :units, :admin, now()"
            " FROM generate_series(1, :n) g"
        ),
        {
            "unit0": unit_ids[0],
            "units": UNITS,
            "admin": admin.id,
            "n": people // 5,
        },
    )
    db.session.execute(
        text(
            "INSERT INTO record_attendances (activity_id, user_id, status, remark)"
            " SELECT a.id, :first + (a.unit_id - :unit0) * :per_unit + (a.id * 97 + j) % :per_unit,"
            " 'approved', ''"
            " FROM record_activities a CROSS JOIN generate_series(0, :attendees - 1) j"
        ),
        {
            "first": first,
            "unit0": unit_ids[0],
            "per_unit": per_unit,
            "attendees": min(ATTENDEES, per_unit),
        },
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
        SYSTEM, setup.BlueprintData("压测组卷", [setup.SectionData("true_false", 10, Decimal(10))])
    )
    exam = setup.save_exam(
        SYSTEM,
        setup.ExamData(
            title="压测：年度学法考试",
            kind="annual",
            blueprint_id=blueprint.id,
            time_limit_minutes=60,
            pass_mark=Decimal(60),
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=2),
            grade_bands=[[90, "优秀"], [60, "合格"]],
        ),
    )
    setup.publish(SYSTEM, exam)
    batch = sittings.create_batch(
        SYSTEM, exam, "压测场次", now - timedelta(days=30), now + timedelta(days=1)
    )
    db.session.execute(
        text(
            "INSERT INTO attempts (exam_id, batch_id, user_id, number, status, started_at,"
            " deadline_at, submitted_at, submitted_by, score, max_score, passed, grade_label,"
            " outage_seconds, flags)"
            " SELECT :exam, :batch, id, 1, 'submitted', :at, :at, :at, 'candidate',"
            " CASE WHEN id % 10 < 7 THEN 80 ELSE 40 END, 100, id % 10 < 7,"
            " CASE WHEN id % 10 < 7 THEN '合格' ELSE '不合格' END, 0, '[]'"
            " FROM users WHERE login LIKE 'rb%'"
        ),
        {"exam": exam.id, "batch": batch.id, "at": now - timedelta(days=1)},
    )
    totals.rebuild()  # the attendance went in by SQL, past the app's upkeep of the totals
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    rows = db.session.scalar(text("SELECT count(*) FROM record_attendances"))
    print(
        f"seeded {people} people, {rows} attendance rows, {people} attempts"
        f" in {time.perf_counter() - started:.1f}s",
        flush=True,
    )


BARE_QUERIES = (
    "SELECT id, name, unit_id, is_leader, is_enforcement_officer FROM users"
    " WHERE is_active AND unit_id = %(unit)s",
    "SELECT t.* FROM record_year_totals t JOIN users u ON u.id = t.user_id"
    " WHERE u.is_active AND u.unit_id = %(unit)s AND t.year = %(year)s",
    "SELECT a.user_id, e.kind FROM attempts a JOIN exams e ON e.id = a.exam_id"
    " JOIN users u ON u.id = a.user_id WHERE u.is_active AND u.unit_id = %(unit)s"
    " AND a.status = 'submitted' AND a.passed AND a.submitted_at >= %(start)s",
)


def bare_reference(database_url: str, unit: int, runs: int) -> dict:
    """The compliance page's data in three plain psycopg queries (no ORM, no rules, no
    template): what the database and the driver alone take, in the same run."""
    from datetime import datetime

    import psycopg

    year = datetime.now().year
    params = {"unit": unit, "year": year, "start": datetime(year - 1, 12, 31, 16)}
    times = []
    with psycopg.connect(database_url) as connection:
        for _ in range(runs + 1):
            started = time.perf_counter()
            rows = sum(len(connection.execute(sql, params).fetchall()) for sql in BARE_QUERIES)
            times.append(time.perf_counter() - started)
    times = times[1:]
    return {
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
        "queries": len(BARE_QUERIES),
        "bytes": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop, create and seed first")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark seeds with PostgreSQL's generate_series")
    if args.fresh:
        fresh_database(args.database_url)
    app = bench_app(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from core.extensions import db
    from training.models import Unit, User

    with app.app_context():
        if args.fresh:
            upgrade()
            seed(args.people)
        person = db.session.scalar(select(User.id).where(User.login == "rb000042"))
        unit = db.session.scalar(select(Unit.id).where(Unit.name == "示范区第01局"))
        if person is None:
            raise SystemExit("nothing seeded yet: run with --fresh")
        engine = db.engine
        db.session.remove()
    client = logged_in(app, "recordsadmin", PASSWORD)
    print_load("before")
    print_header()
    for label, url in (
        ("person's record", f"/records/people/{person}"),
        ("unit compliance page", f"/records/compliance/?unit={unit}"),
        ("unit compliance export", f"/records/compliance/export?unit={unit}"),
    ):
        print_figures(label, measure(client, "GET", url, args.runs, engine))
    bare = bare_reference(args.database_url, unit, args.runs)
    print_figures("bare: the page's data", bare | {"bytes": 0})
    print_load("after")


if __name__ == "__main__":
    main()
