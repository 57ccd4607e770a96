"""Seed an exam day: candidates, a 20,000-question bank, a published exam, an open batch.

    python bench/exam_seed.py seed  --database-url URL [--candidates 10000] [--fresh]
    python bench/exam_seed.py reset --database-url URL    # forget every attempt, keep the rest

`seed` creates (on an empty database it may create itself with --fresh: a PostgreSQL
database named in URL is dropped and created, a SQLite file is removed) N candidate accounts
cand00001… sharing one password (hashed once), imports a bank of the real question data of
../shared/data through `flask bank import`, and builds through the project's own service
functions (training.exams.setup, .sittings) a random-per-candidate shuffled blueprint, a published
exam and one batch open now with every candidate on its roster. It writes what the driver
needs (exam id, logins, password) to a JSON info file beside the database.

`reset` deletes every attempt with its paper and responses, so the next run starts again
from candidates who have not started. The bank and the accounts stay.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PASSWORD = "Exam@2026day"
LOGIN_PREFIX = "cand"
EXAM_TITLE = "压测：年度学法考试"
REAL_IMPORTABLE = 18_000  # about how many real rows the bank accepts
# The real data has single and multiple choice only (no 判断 or 填空).
SECTIONS = [("single", 40, Decimal(1)), ("multiple", 20, Decimal(3))]


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def info_path(url: str) -> Path:
    """Where seed writes (and the driver reads) the exam's details for this database."""
    name = url.rsplit("/", 1)[-1].replace(".", "_") or "db"
    return Path(tempfile.gettempdir()) / f"xuefa_exam_seed_{name}.json"


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


def flask(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"flask {' '.join(args)} failed")
    return result.stdout


def import_bank(env: dict, questions: int) -> None:
    from real_bank import DEFAULT_SOURCES, HEADER, template_rows

    copies = -(-questions // REAL_IMPORTABLE)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bank.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            for number, row in enumerate(template_rows(DEFAULT_SOURCES, copies=copies)):
                if number == questions:
                    break
                writer.writerow(row)
        started = time.perf_counter()
        last = flask(env, "bank", "import", str(path), "--keep-duplicates").strip().splitlines()
        print(f"bank: {last[-1]} ({time.perf_counter() - started:.0f}s)")


def seed(args) -> None:
    url = args.database_url
    if args.fresh:
        fresh_database(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    flask(env, "db", "upgrade")
    os.environ["DATABASE_URL"] = url

    from sqlalchemy import func, insert, select

    from app import create_app
    from core import clock
    from core.audit import SYSTEM
    from core.extensions import db
    from core.passwords import hash_password
    from core.roles import Role
    from question_bank.models import Question
    from training.exams import setup, sittings
    from training.models import Unit, User, UserRole

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SECRET_KEY": "bench"})
    with app.app_context():
        if db.session.scalar(select(func.count(Question.id))) < args.questions:
            import_bank(env, args.questions)
        bank_size = db.session.scalar(select(func.count(Question.id)))

        started = time.perf_counter()
        unit = db.session.scalar(select(Unit).where(Unit.name == "压测单位"))
        if unit is None:
            unit = Unit(name="压测单位")
            db.session.add(unit)
            db.session.flush()
        present = db.session.scalar(
            select(func.count(User.id)).where(User.login.like(f"{LOGIN_PREFIX}%"))
        )
        password_hash = hash_password(PASSWORD)  # once: every candidate shares it
        rows = [
            {
                "login": f"{LOGIN_PREFIX}{number:05d}",
                "name": f"考生{number:05d}",
                "unit_id": unit.id,
                "password_hash": password_hash,
                "must_change_password": False,
            }
            for number in range(present + 1, args.candidates + 1)
        ]
        if rows:
            db.session.execute(insert(User), rows)
            ids = db.session.scalars(
                select(User.id).where(User.login.in_([row["login"] for row in rows]))
            ).all()
            db.session.execute(
                insert(UserRole), [{"user_id": id_, "role": Role.LEARNER.value} for id_ in ids]
            )
        candidates = db.session.scalars(
            select(User)
            .where(User.login.like(f"{LOGIN_PREFIX}%"))
            .order_by(User.login)
            .limit(args.candidates)
        ).all()
        print(f"candidates: {len(candidates)} ({time.perf_counter() - started:.1f}s)")

        now = clock.now()
        blueprint = setup.save_blueprint(
            SYSTEM,
            setup.BlueprintData(
                name=f"压测组卷 {now:%Y%m%d%H%M%S}",
                sections=[setup.SectionData(t, n, p) for t, n, p in SECTIONS],
                random_per_candidate=True,
                shuffle_questions=True,
                shuffle_choices=True,
            ),
        )
        exam = setup.save_exam(
            SYSTEM,
            setup.ExamData(
                title=EXAM_TITLE,
                kind="annual",
                blueprint_id=blueprint.id,
                time_limit_minutes=args.time_limit,
                pass_mark=Decimal(60),
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=2),
                grade_bands=[[90, "优秀"], [80, "良好"], [60, "合格"]],
                review_policy="score",
                multiple_policy="partial",
            ),
        )
        setup.publish(SYSTEM, exam)
        batch = sittings.create_batch(
            SYSTEM, exam, "压测场次", now - timedelta(minutes=5), now + timedelta(days=1)
        )
        sittings.add_members(SYSTEM, batch, list(candidates))
        db.session.commit()
        info = {
            "database_url": url,
            "exam_id": exam.id,
            "batch_id": batch.id,
            "logins": [user.login for user in candidates],
            "password": PASSWORD,
            "questions_per_paper": blueprint.question_count,
            "bank_size": bank_size,
            "time_limit_minutes": args.time_limit,
        }
        db.engine.dispose()
    info_path(url).write_text(json.dumps(info, ensure_ascii=False))
    print(
        f"exam {info['exam_id']} (batch {info['batch_id']}): {len(info['logins'])} candidates, "
        f"{info['questions_per_paper']} questions each from a bank of {bank_size}; "
        f"info in {info_path(url)}"
    )


def reset(args) -> None:
    """Delete every attempt (papers, responses) so candidates can start afresh."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(args.database_url))
    with engine.begin() as connection:
        for table in ("responses", "paper_items", "attempts"):
            connection.execute(text(f"DELETE FROM {table}"))
        if engine.dialect.name == "postgresql":
            connection.execute(text("UPDATE users SET locked_until = NULL"))
            connection.execute(text("DELETE FROM login_failures"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE responses, paper_items, attempts"))
    else:
        with engine.connect() as connection:
            connection.execute(text("UPDATE users SET locked_until = NULL"))
            connection.execute(text("DELETE FROM login_failures"))
            connection.commit()
    engine.dispose()
    print("attempts reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seed_parser = commands.add_parser("seed")
    seed_parser.add_argument("--database-url", required=True)
    seed_parser.add_argument("--candidates", type=int, default=10_000)
    seed_parser.add_argument("--questions", type=int, default=20_000)
    seed_parser.add_argument("--time-limit", type=int, default=60, help="minutes")
    seed_parser.add_argument("--fresh", action="store_true", help="drop and create first")
    reset_parser = commands.add_parser("reset")
    reset_parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    {"seed": seed, "reset": reset}[args.command](args)


if __name__ == "__main__":
    main()
