"""Practice at scale: a practice answer's throughput against the bare upsert, and the
due-today queue and the progress page for a person with thousands of memory states.

    python bench/practice_bench.py --database-url postgresql://postgres@127.0.0.1/xuefa_bench \
        [--people 100000] [--questions 20000] [--cards 50] [--heavy 5000] [--answers 300] \
        [--rounds 3] [--runs 15] [--fresh]

--fresh drops and creates the database, applies the migrations and seeds with
generate_series (no row goes through Python): `--people` learners, `--questions`
single-choice questions over 10 laws, `--cards` FSRS memory states per learner and `--heavy`
for learner 1 (100,000 × 50 + 5,000 ≈ 5,000,000 by default), learner 1's practice log
(one review per card) and 300 mistakes. Then, in process through Flask's test client (no
HTTP, no gunicorn), logged in as learner 1:

- `--rounds` rounds of: `--answers` bare upserts (bench/bare_upsert.py's app, on an attempt
  of 100 items) and `--answers` practice answers (POST /practice/answer: check, feedback,
  FSRS update, review log, notebook update, on questions served beforehand, half of them
  new to the person); answers a second each, and practice as a share of bare;
- in the same rounds, `--answers` saves of the real app's exam answer save
  (POST /attempts/<id>/answers, logged in as learner 2, the bare attempt's owner): the
  leanest logged-in write, for reference;
- `--runs` times each (after a warm-up): GET /practice/settings (a page that reads one
  row: what any logged-in page costs here), GET / (the home page with the due-today count),
  GET /practice/ (the practice page with its counts), GET /practice/question?mode=due (the
  first question of the due queue, served) and GET /practice/progress.

--concurrent N measures the answer as exam_day.py measures saves instead (after the seed,
or on seeded data): the real app and the bare app each through gunicorn with the same
settings (exam_day.py's Server: --workers 2 --worker-class sync unless told), one at a time
on the same cores, N client connections at once (aiohttp, `pip install -e ".[bench]"`).
Practice: learners 1..N, each logged in on its own connection, answer `--answers` questions
served to them beforehand, back to back; bare: N connections each saving its own item of
the bare attempt, `--answers` each. Alternating `--rounds` times; throughput is answers
over the wall time of the whole batch; the ratio is per round; server and PostgreSQL CPU
per request from /proc (exam_day.CpuWatch).

Run by hand, never by the test suite.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_bench import fresh_database, sqlalchemy_url  # noqa: E402

PASSWORD = "Practice@2026bench"
#: --concurrent: each connection's first requests of a batch, not measured
WARM = 10
LAWS = 10


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:.1f}s", flush=True)
    return now


def seed(people: int, questions: int, cards: int, heavy: int) -> None:
    from sqlalchemy import text

    from core.audit import SYSTEM
    from core.extensions import db
    from core.passwords import hash_password
    from question_bank import bank
    from training.models import Unit

    if heavy > questions or cards > questions:
        raise SystemExit("--heavy and --cards must not exceed --questions")
    started = total = time.perf_counter()
    unit = Unit(name="示范区人民政府")
    db.session.add(unit)
    laws = [bank.add_law(SYSTEM, f"压测法{number:02d}", "2020年") for number in range(1, LAWS + 1)]
    db.session.flush()
    law_versions = [law.versions[0].id for law in laws]
    run = lambda sql, **params: db.session.execute(text(sql), params)  # noqa: E731
    run(
        """INSERT INTO users (login, name, unit_id, position, is_leader, is_enforcement_officer,
               phone, id_number, password_hash, must_change_password, is_active,
               session_version, created_at, password_changed_at)
           SELECT 'learner' || g, '学员' || g, :unit, '', false, true, '', '', :hash, false,
               true, 1, now(), now()
           FROM generate_series(1, :people) g""",
        unit=unit.id,
        hash=hash_password(PASSWORD),
        people=people,
    )
    run("INSERT INTO user_roles (user_id, role) SELECT id, 'learner' FROM users")
    started = step(f"{people} learners", started)
    run(
        """INSERT INTO questions (status, current_number, type, difficulty, has_citation,
               search_text, fingerprint, created_at, review_note)
           SELECT 'active', 1, 'single', 1 + g % 5, true, '', md5(g::text), now(), ''
           FROM generate_series(1, :questions) g""",
        questions=questions,
    )
    run(
        """INSERT INTO question_versions (question_id, number, type, stem, choices, answer,
               blanks, explanation, difficulty, topic_names, change_note, created_at)
           SELECT id, 1, 'single',
               '压测题' || id || '：依照有关法律规定，下列关于行政执法程序的说法，哪一项是正确的？',
               '["执法人员不少于两人并出示执法证件", "可以由一名执法人员单独进行",
                 "无需告知当事人陈述申辩的权利", "可以事后补办全部手续"]'::json,
               '[0]'::json, '[]'::json, '执法时执法人员不得少于两人，并应当主动出示执法证件。',
               difficulty, '[]'::json, '', now()
           FROM questions"""
    )
    run(
        """INSERT INTO citations (version_id, law_version_id, article, article_suffix)
           SELECT v.id, (:versions)[1 + v.question_id % :laws], 1 + v.question_id % 200, 0
           FROM question_versions v""",
        versions=law_versions,
        laws=LAWS,
    )
    run(
        "UPDATE questions SET law_id = (:laws)[1 + id % :count]",
        laws=[law.id for law in laws],
        count=LAWS,
    )
    started = step(f"{questions} questions", started)
    # Learner 1 holds `heavy` cards, everyone else `cards`; question k of a learner is
    # (131 × learner + 397 × k) mod questions, distinct for k below the bank's size
    # because 397 is prime to it (checked below). Learner 1's cards are spread evenly among
    # everyone else's, one table page each, as a person's are who answered them over months
    # among everyone else's answers (inserted in a row they would share 70 pages).
    if questions % 397 == 0:
        raise SystemExit("--questions must not be a multiple of 397")
    run(
        """INSERT INTO practice_cards (user_id, question_id, state, step, stability, difficulty,
               due, last_review, reviews, last_correct)
           SELECT u.id, 1 + (131 * u.id + 397 * k) % :questions, 2, NULL,
               0.5 + random() * 60, 1 + random() * 9,
               now() AT TIME ZONE 'UTC' + (random() * 40 - 10) * interval '1 day',
               now() AT TIME ZONE 'UTC' - random() * 30 * interval '1 day', 1 + (random() * 5)::int,
               random() < 0.7
           FROM users u
           CROSS JOIN LATERAL
               generate_series(0, CASE WHEN u.id = 1 THEN :heavy ELSE :cards END - 1) k
           ORDER BY CASE WHEN u.id = 1 THEN k * :spread ELSE (u.id - 2) * :cards + k END""",
        questions=questions,
        heavy=heavy,
        cards=cards,
        spread=max(1, (people - 1) * cards // heavy),
    )
    started = step("memory states", started)
    run(
        """INSERT INTO practice_reviews (card_id, user_id, question_id, version_id, rating,
               correct, reviewed_at, duration_ms, mode)
           SELECT c.id, c.user_id, c.question_id, v.id, CASE WHEN c.last_correct THEN 3 ELSE 1 END,
               c.last_correct, c.last_review, 20000, 'random'
           FROM practice_cards c JOIN question_versions v ON v.question_id = c.question_id
           WHERE c.user_id = 1"""
    )
    run(
        """INSERT INTO practice_mistakes (user_id, question_id, version_id, source, wrong_count,
               right_streak, first_wrong_at, last_wrong_at)
           SELECT 1, c.question_id, v.id, 'practice', 1, 0, c.last_review, c.last_review
           FROM practice_cards c JOIN question_versions v ON v.question_id = c.question_id
           WHERE c.user_id = 1 ORDER BY c.id LIMIT 300"""
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    step("review log, mistakes, VACUUM ANALYZE", started)
    rows = db.session.scalar(text("SELECT count(*) FROM practice_cards"))
    print(f"seeded {rows:,} memory states in {time.perf_counter() - total:.1f}s", flush=True)


def bare_attempt() -> tuple[int, list[int]]:
    """An attempt of 100 items for the bare upsert to write into."""
    from sqlalchemy import select

    from core import clock
    from core.audit import SYSTEM
    from core.extensions import db
    from training.exams import attempts, setup, sittings
    from training.models import User

    now = clock.now()
    user = db.session.scalar(select(User).where(User.login == "learner2"))
    blueprint = setup.save_blueprint(
        SYSTEM,
        setup.BlueprintData(
            "压测：裸写入",
            [setup.SectionData("single", 100, Decimal(1))],
            random_per_candidate=True,
        ),
    )
    exam = setup.save_exam(
        SYSTEM,
        setup.ExamData(
            title="压测：裸写入",
            kind="annual",
            blueprint_id=blueprint.id,
            time_limit_minutes=600,
            pass_mark=Decimal(60),
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=1),
        ),
    )
    setup.publish(SYSTEM, exam)
    batch = sittings.create_batch(SYSTEM, exam, "压测", exam.opens_at, exam.closes_at)
    sittings.add_members(SYSTEM, batch, [user])
    attempt = attempts.start_attempt(user, exam, now, random.Random(1))
    db.session.commit()
    return attempt.id, [item.id for item in attempt.items]


def serve_for_answers(count: int, offset: int) -> list[int]:
    """Serve `count` questions to learner 1 (half of them with a card already), as the
    question page would; returns their ids in answer order."""
    from sqlalchemy import text

    from core.extensions import db

    known = db.session.scalars(
        text(
            "SELECT question_id FROM practice_cards WHERE user_id = 1 "
            "ORDER BY id LIMIT :n OFFSET :o"
        ),
        {"n": count // 2, "o": offset},
    ).all()
    new = db.session.scalars(
        text(
            """SELECT q.id FROM questions q WHERE NOT EXISTS (SELECT 1 FROM practice_cards c
               WHERE c.user_id = 1 AND c.question_id = q.id) ORDER BY q.id LIMIT :n OFFSET :o"""
        ),
        {"n": count - len(known), "o": offset},
    ).all()
    ids = [value for pair in zip(known, new, strict=False) for value in pair]
    ids += known[len(new) :] + new[len(known) :]
    db.session.execute(
        text(
            """INSERT INTO practice_served (user_id, question_id, version_id, served_at)
               SELECT 1, v.question_id, v.id, now() AT TIME ZONE 'UTC' - interval '30 seconds'
               FROM question_versions v WHERE v.question_id = ANY(:ids)
               ON CONFLICT (user_id, question_id) DO UPDATE
               SET served_at = excluded.served_at, answered_at = NULL,
                   version_id = excluded.version_id"""
        ),
        {"ids": list(ids)},
    )
    db.session.commit()
    return list(ids)


def timed(label: str, count: int, action) -> float:
    started = time.perf_counter()
    for index in range(count):
        action(index)
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"  {label}: {count} in {elapsed:.2f}s = {rate:.0f}/s", flush=True)
    return rate


def measure(client, url: str, runs: int, engine) -> dict:
    from sqlalchemy import event

    statements = []

    def note(*_args):
        statements.append(1)

    times, counts = [], []
    event.listen(engine, "before_cursor_execute", note)
    try:
        for _ in range(runs + 1):  # the first is a warm-up
            statements.clear()
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code}")
            times.append(elapsed)
            counts.append(len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    times, counts = times[1:], counts[1:]
    return {
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
        "queries": statistics.median(counts),
    }


def serve_to_many(people: list[int], count: int, offset: int, questions: int) -> dict:
    """Serve `count` questions to each of the learners (their ids by learner)."""
    from sqlalchemy import text

    from core.extensions import db

    db.session.execute(
        text(
            """INSERT INTO practice_served (user_id, question_id, version_id, served_at)
               SELECT u, v.question_id, v.id, now() AT TIME ZONE 'UTC' - interval '30 seconds'
               FROM unnest(CAST(:people AS integer[])) u CROSS JOIN generate_series(0, :count - 1) k
               JOIN question_versions v
                   ON v.question_id = 1 + (7919 * u + :offset + k) % :questions
               ON CONFLICT (user_id, question_id) DO UPDATE
               SET served_at = excluded.served_at, answered_at = NULL,
                   version_id = excluded.version_id"""
        ),
        {"people": people, "count": count, "offset": offset, "questions": questions},
    )
    db.session.commit()
    return {
        user: [1 + (7919 * user + offset + k) % questions for k in range(count)] for user in people
    }


async def concurrent(args, app, attempt_id: int, item_ids: list[int]) -> None:
    import secrets
    from types import SimpleNamespace

    import aiohttp
    from exam_day import CSRF, CpuWatch, Server
    from sqlalchemy import text

    from core.extensions import db

    if args.concurrent > len(item_ids):
        raise SystemExit(f"--concurrent at most {len(item_ids)} (the bare attempt's items)")
    with app.app_context():
        questions = db.session.scalar(text("SELECT count(*) FROM questions"))
    settings = SimpleNamespace(
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        log="/tmp/practice_bench.log",
    )
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "LOGIN_RATE_LIMIT": "1000000 per minute",
        "IDLE_TIMEOUT_MINUTES": "600",
    }
    real = Server("app:create_app()", settings, env, args.port)
    bare = Server("bare_upsert:create_app()", settings, env, args.port + 1, str(ROOT / "bench"))
    # Learner 2 is writing the bare attempt: practice is closed to them.
    people = [user for user in range(1, args.concurrent + 2) if user != 2]
    print(
        f"through gunicorn {args.workers}x{args.worker_class} (threads {args.threads}), "
        f"{args.concurrent} connections, {args.answers} each",
        flush=True,
    )

    async def log_in(session, user: int) -> str:
        async with session.get(real.url + "/login") as response:
            token = CSRF.search(await response.text()).group(1)
        form = {"login": f"learner{user}", "password": PASSWORD, "csrf_token": token}
        async with session.post(real.url + "/login", data=form, allow_redirects=False) as response:
            if response.status != 302:
                raise SystemExit(f"login of learner{user}: {response.status}")
        async with session.get(real.url + "/practice/settings") as response:
            return CSRF.search(await response.text()).group(1)

    async def answers(session, token: str, served: list[int]) -> None:
        for index, question_id in enumerate(served):
            form = {
                "csrf_token": token,
                "question_id": str(question_id),
                "mode": "random",
                "choice": str(index % 2),
            }
            async with session.post(
                real.url + "/practice/answer", data=form, headers={"Accept": "application/json"}
            ) as response:
                body = await response.json()
                assert response.status == 200 and "due" in body, body

    async def saves(session, item_id: int, count: int) -> None:
        for _ in range(count):
            seq = time.time_ns()
            body = {"item_id": item_id, "answer": [seq % 4], "seq": seq}
            async with session.post(
                f"{bare.url}/attempts/{attempt_id}/answers", json=body
            ) as response:
                assert response.status == 200, await response.text()

    async def batch(server, jobs) -> tuple[float, dict]:
        """Each connection's first WARM requests unmeasured, then the rest."""
        await asyncio.gather(*(job(True) for job in jobs))
        watch = CpuWatch(server, args.database_url)
        started = time.perf_counter()
        await asyncio.gather(*(job(False) for job in jobs))
        elapsed = time.perf_counter() - started
        return args.concurrent * args.answers / elapsed, watch.per(args.concurrent * args.answers)

    ratios, practice_rates, bare_rates = [], [], []
    sessions = {}
    try:
        for round_ in range(args.rounds):
            with app.app_context():
                count = args.answers + WARM
                served = serve_to_many(people, count, round_ * count, questions)
                db.session.remove()
            await real.start()
            if not sessions:
                for user in people:
                    session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=1),
                        cookie_jar=aiohttp.CookieJar(unsafe=True),
                    )
                    sessions[user] = (session, await log_in(session, user))
            practice_rate, practice_cpu = await batch(
                real,
                [
                    lambda warm, session=session, token=token, mine=served[user]: answers(
                        session, token, mine[:WARM] if warm else mine[WARM:]
                    )
                    for user, (session, token) in sessions.items()
                ],
            )
            real.stop()
            await bare.start()
            bare_rate, bare_cpu = await batch(
                bare,
                [
                    lambda warm, session=session, item=item: saves(
                        session, item, WARM if warm else args.answers
                    )
                    for item, (session, _) in zip(item_ids, sessions.values(), strict=False)
                ],
            )
            bare.stop()
            ratio = practice_rate / bare_rate
            ratios.append(ratio)
            practice_rates.append(practice_rate)
            bare_rates.append(bare_rate)
            print(
                f"round {round_ + 1}: practice answer {practice_rate:.0f}/s {practice_cpu}; "
                f"bare upsert {bare_rate:.0f}/s {bare_cpu}; practice / bare {ratio:.0%}",
                flush=True,
            )
    finally:
        real.stop()
        bare.stop()
        for session, _ in sessions.values():
            await session.close()
    print(
        f"practice answer: median {statistics.median(practice_rates):.0f}/s, bare upsert "
        f"{statistics.median(bare_rates):.0f}/s; practice / bare per round: "
        + ", ".join(f"{ratio:.0%}" for ratio in ratios)
        + f"; median {statistics.median(ratios):.0%}",
        flush=True,
    )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=20_000)
    parser.add_argument("--cards", type=int, default=50)
    parser.add_argument("--heavy", type=int, default=5_000)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true", help="drop, create and seed first")
    parser.add_argument("--concurrent", type=int, help="through gunicorn, this many connections")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("PostgreSQL only")
    if args.fresh:
        fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url

    import bare_upsert
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from core.extensions import db

    config = {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(args.database_url),
        "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    app = create_app(config)
    with app.app_context():
        if args.fresh:
            upgrade()
            seed(args.people, args.questions, args.cards, args.heavy)
        cards = db.session.scalar(text("SELECT count(*) FROM practice_cards"))
        heavy = db.session.scalar(text("SELECT count(*) FROM practice_cards WHERE user_id = 1"))
        attempt_id, item_ids = bare_attempt()
        engine = db.engine
        db.session.remove()
    print(f"{cards:,} memory states; learner 1 holds {heavy:,}", flush=True)
    if args.concurrent:
        asyncio.run(concurrent(args, app, attempt_id, item_ids))
        return

    bare = bare_upsert.create_app().test_client()
    client = app.test_client()
    login = client.post("/login", data={"login": "learner1", "password": PASSWORD})
    if login.status_code != 302:
        raise SystemExit(f"login failed: {login.status_code}")

    # The real app's exam answer save (two statements and JSON, the path that meets 40%
    # of the bare upsert through gunicorn in exam_day.py), by the attempt's owner: what
    # this single-client, in-process measure gives a logged-in write at its leanest.
    saver = app.test_client()
    login = saver.post("/login", data={"login": "learner2", "password": PASSWORD})
    if login.status_code != 302:
        raise SystemExit(f"login failed: {login.status_code}")

    ratios, bare_rates, practice_rates, save_rates = [], [], [], []
    seq = int(time.time() * 1000)
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}", flush=True)
        with app.app_context():
            served = serve_for_answers(args.answers, round_ * args.answers)

        def save_with(client_):
            """One exam answer save through this client (the bare app or the real one)."""

            def save(index: int) -> None:
                nonlocal seq
                seq += 1
                response = client_.post(
                    f"/attempts/{attempt_id}/answers",
                    json={
                        "item_id": item_ids[index % len(item_ids)],
                        "answer": [index % 4],
                        "seq": seq,
                    },
                )
                assert response.status_code == 200, response.text

            return save

        def practice_answer(index: int, served=served) -> None:
            response = client.post(
                "/practice/answer",
                data={"question_id": served[index], "mode": "random", "choice": str(index % 2)},
            )
            assert response.status_code == 200 and "due" in response.json, response.text[:500]

        bare_rate = timed("bare upsert", args.answers, save_with(bare))
        practice_rate = timed("practice answer", args.answers, practice_answer)
        save_rate = timed("exam answer save (reference)", args.answers, save_with(saver))
        bare_rates.append(bare_rate)
        practice_rates.append(practice_rate)
        save_rates.append(save_rate / bare_rate)
        ratios.append(practice_rate / bare_rate)
    print(
        f"practice answer: median {statistics.median(practice_rates):.0f}/s, bare upsert "
        f"{statistics.median(bare_rates):.0f}/s; practice / bare per round: "
        + ", ".join(f"{ratio:.0%}" for ratio in ratios)
        + "; the exam save / bare per round: "
        + ", ".join(f"{ratio:.0%}" for ratio in save_rates),
        flush=True,
    )
    for label, url in (
        ("floor: the settings page (login, session, one read)", "/practice/settings"),
        ("home page (due-today count)", "/"),
        ("practice page (counts)", "/practice/"),
        ("due queue: next question", "/practice/question?mode=due"),
        ("progress page", "/practice/progress"),
    ):
        result = measure(client, url, args.runs, engine)
        print(
            f"{label}: median {result['median_ms']:.1f} ms "
            f"({result['min_ms']:.1f}–{result['max_ms']:.1f}), {result['queries']:.0f} queries",
            flush=True,
        )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
