"""What keeping exam_summaries costs a submit: the median time of attempts.submit (score
the paper, close the attempt) plus the commit, with the summary upsert and without it.

    .venv/bin/python bench/submit_cost.py --database-url postgresql://postgres@127.0.0.1/xuefa_bench_submit

Seeds (always fresh: the database is dropped and created) one unit, N candidates, a bank
of 60 判断 and a fixed 60-question exam, starts every attempt and answers it, then submits
them one per transaction, alternating with and without the summary call, in process.
"""

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_bench import fresh_database, sqlalchemy_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--candidates", type=int, default=400)
    args = parser.parse_args()
    fresh_database(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from core import clock
    from core.audit import SYSTEM
    from core.extensions import db
    from question_bank import bank
    from question_bank.drafts import QuestionDraft
    from training.exams import attempts, setup, sittings
    from training.models import Unit, User
    from training.reports import summaries

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(args.database_url), "SECRET_KEY": "bench"}
    )
    with app.app_context():
        upgrade()
        unit = Unit(name="压测单位")
        db.session.add(unit)
        db.session.flush()
        db.session.execute(
            insert(User),
            [
                {"login": f"sub{n:05d}", "name": f"考生{n:05d}", "unit_id": unit.id,
                 "password_hash": "x", "must_change_password": False}
                for n in range(args.candidates)
            ],
        )  # fmt: skip
        for n in range(60):
            bank.add_question(
                SYSTEM, QuestionDraft("true_false", f"压测判断题{n}", ["正确", "错误"], [0], [])
            )
        blueprint = setup.save_blueprint(
            SYSTEM,
            setup.BlueprintData("压测", [setup.SectionData("true_false", 60, Decimal(1))]),
        )
        now = clock.now()
        exam = setup.save_exam(
            SYSTEM,
            setup.ExamData(
                title="压测考试", kind="annual", blueprint_id=blueprint.id,
                time_limit_minutes=60, pass_mark=Decimal(36),
                opens_at=now.replace(year=now.year - 1), closes_at=now.replace(year=now.year + 1),
            ),
        )  # fmt: skip
        setup.publish(SYSTEM, exam, random.Random(1))
        batch = sittings.create_batch(SYSTEM, exam, "压测批次", exam.opens_at, exam.closes_at)
        users = db.session.scalars(select(User).order_by(User.id)).all()
        sittings.add_members(SYSTEM, batch, users)
        db.session.commit()
        started = []
        for user in users:
            attempt = attempts.start_attempt(user, exam, clock.now(), random.Random(user.id))
            db.session.flush()
            for seq, item in enumerate(attempt.items, start=1):
                attempts.save_answer(
                    user.id, attempt.id, item.id, [random.randint(0, 1)], seq, clock.now(),
                    attempts.timedelta(seconds=30),
                )  # fmt: skip
            started.append(attempt.id)
        db.session.commit()

        real = summaries.attempt_submitted
        timings = {"with": [], "without": []}
        for index, attempt_id in enumerate(started):
            mode = "with" if index % 2 else "without"
            summaries.attempt_submitted = real if mode == "with" else (lambda attempt: None)
            attempts.summaries.attempt_submitted = summaries.attempt_submitted
            db.session.expire_all()
            attempt = db.session.get(attempts.Attempt, attempt_id)
            begin = time.perf_counter()
            attempts.submit(attempt, clock.now(), "candidate")
            db.session.commit()
            timings[mode].append((time.perf_counter() - begin) * 1000)
        summaries.attempt_submitted = real
        for mode, values in timings.items():
            values.sort()
            print(
                f"submit {mode:>7} summary upsert: median {statistics.median(values):.2f} ms "
                f"(p10 {values[len(values) // 10]:.2f}, p90 {values[9 * len(values) // 10]:.2f}), "
                f"n={len(values)}"
            )


if __name__ == "__main__":
    main()
