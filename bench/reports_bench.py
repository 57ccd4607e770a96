# ruff: noqa: E501  (the SQL reads best unwrapped)
"""Reports at scale: a generated district and its exam history, then every dashboard and
report page timed.

    .venv/bin/python bench/reports_bench.py seed    --database-url postgresql://postgres@127.0.0.1/xuefa_bench_reports [--scale 1.0]
    .venv/bin/python bench/reports_bench.py measure --database-url postgresql://postgres@127.0.0.1/xuefa_bench_reports [--runs 7]

`seed` drops and creates the database, migrates it and writes in SQL (generate_series,
INSERT ... SELECT; nothing row by row in Python), at --scale 1.0: 150 units in three levels,
100,000 learners (5% 领导干部), 20,000 single-choice questions, 50 exams over five years
(two batches each) with 20,000 submitted first attempts each (1,000,000 attempts, rosters
to match). One exam, the item-analysis exam, gets its papers and responses (50 questions,
20,000 attempts: 1,000,000 paper items and 1,000,000 responses, points following a made-up
ability so the items discriminate); the others' attempts carry scores only (papers for all
1,000,000 would be 50,000,000 rows: more than this machine's disk and time allow). Then
`flask reports rebuild-summaries`, timed.

`measure` first times bare references (a trivial statement, a count of the analysed
exam's paper items, a GROUP BY over the attempts), then each page --runs times in process
through Flask's test client (after one warm-up; the item analysis also after one more
attempt is handed in before each run, after every attempt's revision is bumped as a regrade
does, and cold, its stored counts deleted) as a unit admin of the root unit (every unit in scope), a
unit admin of one bureau, and a trainer, and prints median, min and max, with the load
average before and after.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from board_bench import fresh_database, sqlalchemy_url  # noqa: E402

PASSWORD = "Bench@2026"
EXAMS = 50
ANALYSED_ITEMS = 50


def _app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SECRET_KEY": "bench"})


def seed(args) -> None:
    fresh_database(args.database_url)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from core.extensions import db
    from core.passwords import hash_password
    from training.reports import summaries

    users = int(100_000 * args.scale)
    questions = int(20_000 * args.scale)
    per_exam = int(20_000 * args.scale)
    app = _app(args.database_url)
    with app.app_context():
        upgrade()
        run = db.session.execute
        started = time.perf_counter()

        def step(label: str, sql: str, **params) -> None:
            begin = time.perf_counter()
            # One statement at a time: psycopg binds parameters server-side, one command each.
            for statement in filter(str.strip, sql.split(";")):
                wanted = {name: value for name, value in params.items() if f":{name}" in statement}
                run(text(statement), wanted)
            db.session.commit()
            print(f"  {label}: {time.perf_counter() - begin:.1f} s", flush=True)

        # 1 district, 10 bureaus, 139 sections: 150 units in three levels.
        step("units", """
            INSERT INTO units (id, name, parent_id, sort_order) VALUES (1, '示范市人民政府', NULL, 0);
            INSERT INTO units (id, name, parent_id, sort_order)
              SELECT 1 + g, '第' || g || '局', 1, g FROM generate_series(1, 10) g;
            INSERT INTO units (id, name, parent_id, sort_order)
              SELECT 11 + g, '第' || (1 + (g - 1) % 10) || '局第' || g || '科', 2 + (g - 1) % 10, g
              FROM generate_series(1, 139) g;
            SELECT setval('units_id_seq', 150);
        """)  # fmt: skip
        step("users", """
            INSERT INTO users (login, name, unit_id, position, is_leader, is_enforcement_officer,
                               phone, id_number, password_hash, must_change_password, is_active,
                               session_version, created_at)
              SELECT 'bench' || lpad(g::text, 6, '0'), '学员' || g, 1 + (g * 7919) % 150, '',
                     g % 20 = 0, false, '', '', :hash, false, true, 1, now()
              FROM generate_series(1, :users) g;
            INSERT INTO user_roles (user_id, role) SELECT id, 'learner' FROM users;
        """, users=users, hash=hash_password(PASSWORD))  # fmt: skip
        step("questions", """
            INSERT INTO questions (status, current_number, type, difficulty, has_citation,
                                   search_text, fingerprint, created_at, review_note)
              SELECT CASE WHEN g % 97 = 0 THEN 'needs_review' ELSE 'active' END, 1, 'single',
                     1 + g % 5, g % 13 <> 0, '压测单选题' || g, md5(g::text), now(), ''
              FROM generate_series(1, :questions) g;
            INSERT INTO question_versions (question_id, number, type, stem, choices, answer, blanks,
                                           explanation, difficulty, topic_names, change_note, created_at)
              SELECT id, 1, 'single', '压测单选题' || id || '：下列说法正确的是',
                     '["甲", "乙", "丙", "丁"]', '[0]', '[]', '', difficulty, '[]', '', now()
              FROM questions;
        """, questions=questions)  # fmt: skip
        # Fifty exams, ten a year over five years, each with two batches; fixed papers of
        # fifty questions worth two points each.
        step("exams", """
            INSERT INTO blueprints (id, name, random_per_candidate, shuffle_questions,
                                    shuffle_choices, created_at)
              VALUES (1, '压测组卷', false, false, false, now());
            INSERT INTO blueprint_sections (blueprint_id, position, question_type, count, points)
              VALUES (1, 1, 'single', 50, 2);
            INSERT INTO exams (id, title, kind, status, blueprint_id, time_limit_minutes, pass_mark,
                               grade_bands, attempts_allowed, counting, one_attempt_per_batch,
                               retake_after_pass, opens_at, closes_at, review_policy,
                               multiple_policy, instructions, pools, created_at, pools_revision)
              SELECT e, (2022 + (e - 1) / 10) || '年第' || (1 + (e - 1) % 10) || '场学法考试',
                     CASE WHEN e % 10 = 0 THEN 'pre_appointment' ELSE 'annual' END,
                     CASE WHEN e = 50 THEN 'published' ELSE 'closed' END, 1, 60, 60,
                     '[[90, "优秀"], [60, "合格"]]', 1, 'best', false, false,
                     make_timestamp(2022 + (e - 1) / 10, 1 + (e - 1) % 10, 10, 1, 0, 0),
                     CASE WHEN e = 50 THEN now() + interval '1 day'
                          ELSE make_timestamp(2022 + (e - 1) / 10, 1 + (e - 1) % 10, 20, 1, 0, 0) END,
                     'score', 'all_or_nothing', '', '[]', now(), 1
              FROM generate_series(1, 50) e;
            UPDATE exams SET opens_at = now() - interval '2 hours' WHERE id = 50;
            SELECT setval('exams_id_seq', 50);
            SELECT setval('blueprints_id_seq', 1);
            INSERT INTO batches (exam_id, name, opens_at, closes_at, created_at)
              SELECT e.id, '第' || b || '批', e.opens_at, e.closes_at, now()
              FROM exams e CROSS JOIN generate_series(1, 2) b ORDER BY e.id, b;
        """)  # fmt: skip
        # Each exam: per_exam people (a different slice of everyone), half in each batch,
        # first attempts handed in with a score around 75.
        step("rosters", """
            INSERT INTO batch_members (batch_id, user_id, extra_minutes, past_close_minutes)
              SELECT (SELECT min(id) FROM batches WHERE exam_id = e) + g % 2,
                     1 + ((e * 20011 + g) % :users), 0, 0
              FROM generate_series(1, 50) e CROSS JOIN generate_series(1, :per_exam) g;
        """, users=users, per_exam=per_exam)  # fmt: skip
        step("attempts", """
            INSERT INTO attempts (exam_id, batch_id, user_id, number, status, started_at,
                                  deadline_at, submitted_at, submitted_by, score, max_score,
                                  passed, grade_label, outage_seconds, flags)
              SELECT b.exam_id, m.batch_id, m.user_id, 1, 'submitted', b.opens_at,
                     b.opens_at + interval '1 hour', b.opens_at + interval '50 minutes',
                     'candidate', s.score, 100, s.score >= 60,
                     CASE WHEN s.score >= 90 THEN '优秀' WHEN s.score >= 60 THEN '合格' ELSE '不合格' END,
                     0, '[]'
              FROM batch_members m JOIN batches b ON b.id = m.batch_id
              CROSS JOIN LATERAL (SELECT least(100, greatest(0, round(
                  75 + 40 * (((m.user_id * 2654435761::bigint + b.exam_id * 40503) % 1000) / 1000.0 - 0.5)
                  + (m.user_id % 7) - 3)))::numeric(7, 2) AS score) s;
        """)  # fmt: skip
        # The item-analysis exam (the first): its 50 questions, papers and responses.
        step("papers", """
            UPDATE exams SET pools = (SELECT json_build_array(json_agg(json_build_array(q.id, v.id, 4) ORDER BY q.id))
                                      FROM questions q JOIN question_versions v ON v.question_id = q.id
                                      WHERE q.id <= :items) WHERE id = 1;
            INSERT INTO paper_items (attempt_id, position, question_version_id, points, choice_order, earned, picked)
              SELECT a.id, p, p, 2, '[0, 1, 2, 3]', e.earned,
                     CASE WHEN e.earned > 0 THEN '[0]'::json ELSE json_build_array(1 + (a.id + p) % 3) END
              FROM attempts a CROSS JOIN generate_series(1, :items) p
              CROSS JOIN LATERAL (SELECT CASE WHEN ((a.id * 2654435761::bigint + p * 97) % 1000) / 1000.0
                                                   < 0.25 + 0.7 * ((a.user_id * 40503::bigint) % 1000) / 1000.0 * (1 - p / 120.0)
                                              THEN 2 ELSE 0 END AS earned) e
              WHERE a.exam_id = 1;
            INSERT INTO responses (attempt_id, item_id, answer, seq, saved_at)
              SELECT i.attempt_id, i.id, i.picked, i.position, now() FROM paper_items i;
            UPDATE attempts a SET score = s.total, passed = s.total >= 60,
                   grade_label = CASE WHEN s.total >= 90 THEN '优秀' WHEN s.total >= 60 THEN '合格' ELSE '不合格' END
              FROM (SELECT attempt_id, sum(earned) AS total FROM paper_items GROUP BY attempt_id) s
              WHERE s.attempt_id = a.id;
        """, items=ANALYSED_ITEMS)  # fmt: skip
        step("analyze", "ANALYZE")
        begin = time.perf_counter()
        rows = summaries.rebuild()
        db.session.commit()
        print(f"  rebuild-summaries: {rows} rows, {time.perf_counter() - begin:.1f} s")
        from core.roles import Role
        from training.models import User

        for login, role, unit_id in (
            ("benchroot", Role.UNIT_ADMIN, 1),
            ("benchbureau", Role.UNIT_ADMIN, 2),
            ("benchtrainer", Role.TRAINER, 1),
        ):
            user = User(login=login, name=login, unit_id=unit_id, password_hash=hash_password(PASSWORD),
                        must_change_password=False)  # fmt: skip
            user.set_roles({role})
            db.session.add(user)
        db.session.commit()
        counts = run(text(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM units), "
            "(SELECT count(*) FROM questions), (SELECT count(*) FROM attempts), "
            "(SELECT count(*) FROM paper_items), (SELECT count(*) FROM responses), "
            "(SELECT count(*) FROM exam_summaries)"
        )).one()  # fmt: skip
        print(
            "seeded: users {}, units {}, questions {}, attempts {}, paper items {}, responses {}, "
            "summary rows {}".format(*counts)
        )
        print(f"seed total {time.perf_counter() - started:.0f} s")


def _time(client, url: str, runs: int, before=None) -> tuple[float, float, float, int]:
    client.get(url)  # warm-up
    timings = []
    status = 0
    for _ in range(runs):
        if before:
            before()
        begin = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - begin) * 1000)
        status = response.status_code
    return statistics.median(timings), min(timings), max(timings), status


#: bare references, timed in the same run: the floor under the pages above
BARE = [
    (
        "bare: one trivial statement (SELECT 1)",
        "SELECT 1",
    ),
    (
        "bare: count exam 1's 1,000,000 paper items",
        "SELECT count(*) FROM paper_items p JOIN attempts a ON a.id = p.attempt_id WHERE a.exam_id = 1",
    ),
    (
        "bare: GROUP BY exam over 1,000,000 attempts",
        "SELECT exam_id, count(*), sum(score) FROM attempts GROUP BY exam_id",
    ),
]


def _bare(app, runs: int) -> None:
    from sqlalchemy import text

    from core.extensions import db

    with app.app_context():
        for label, sql in BARE:
            db.session.execute(text(sql)).all()  # warm-up
            timings = []
            for _ in range(runs):
                begin = time.perf_counter()
                db.session.execute(text(sql)).all()
                timings.append((time.perf_counter() - begin) * 1000)
            db.session.rollback()
            print(
                f"{label:<48} {statistics.median(timings):8.0f} ms  ({min(timings):.0f}–{max(timings):.0f})",
                flush=True,
            )


def _forget_counts(app) -> None:
    """The item analysis cold: its stored counts deleted, so the next request counts."""
    from core.extensions import db
    from training.reports.models import ItemAnalysisCounts

    with app.app_context():
        db.session.execute(ItemAnalysisCounts.__table__.delete())
        db.session.commit()


def _hand_in_one(app) -> None:
    """One more first attempt at the analysed exam, handed in and scored (its paper of
    fifty items and their answers), as a submission leaves it: the stored counts are then
    one attempt behind."""
    from sqlalchemy import text

    from core.extensions import db

    with app.app_context():
        run = db.session.execute
        attempt_id = run(text("""
            INSERT INTO attempts (exam_id, batch_id, user_id, number, status, started_at,
                                  deadline_at, submitted_at, submitted_by, score, max_score,
                                  passed, grade_label, outage_seconds, flags, revision)
              SELECT 1, (SELECT min(id) FROM batches WHERE exam_id = 1), u.id, 1, 'submitted',
                     now(), now() + interval '1 hour', now(), 'candidate', 0, 100, false, '',
                     0, '[]', 1
              FROM users u
              WHERE u.login LIKE 'bench0%' AND NOT EXISTS (
                  SELECT 1 FROM attempts a WHERE a.exam_id = 1 AND a.user_id = u.id)
              ORDER BY u.id LIMIT 1
            RETURNING id
        """)).scalar_one()  # fmt: skip
        run(text("""
            INSERT INTO paper_items (attempt_id, position, question_version_id, points, choice_order, earned, picked)
              SELECT :attempt, p, p, 2, '[0, 1, 2, 3]', CASE WHEN (p + :attempt) % 3 = 0 THEN 0 ELSE 2 END,
                     CASE WHEN (p + :attempt) % 3 = 0 THEN '[2]'::json ELSE '[0]'::json END
              FROM generate_series(1, :items) p
        """), {"attempt": attempt_id, "items": ANALYSED_ITEMS})  # fmt: skip
        run(text("""
            INSERT INTO responses (attempt_id, item_id, answer, seq, saved_at)
              SELECT attempt_id, id, picked, position, now()
              FROM paper_items WHERE attempt_id = :attempt
        """), {"attempt": attempt_id})  # fmt: skip
        run(text("""
            UPDATE attempts SET score = (SELECT sum(earned) FROM paper_items WHERE attempt_id = :attempt)
            WHERE id = :attempt
        """), {"attempt": attempt_id})  # fmt: skip
        db.session.commit()


def _regrade_all(app) -> None:
    """Every attempt of the analysed exam scored again, as a regrade leaves them (their
    revisions bumped): what they added to the counts is not known any more."""
    from sqlalchemy import text

    from core.extensions import db

    with app.app_context():
        db.session.execute(text("UPDATE attempts SET revision = revision + 1 WHERE exam_id = 1"))
        db.session.commit()


def measure(args) -> None:
    app = _app(args.database_url)
    app.config["WTF_CSRF_ENABLED"] = False
    print(f"load average before: {os.getloadavg()}")
    _bare(app, args.runs)
    plan = {
        "benchroot": [
            ("home (unit admin of the root: all 150 units)", "/"),
            ("report, no filter", "/reports/"),
            ("report, year 2026", "/reports/?year=2026"),
            ("report, one exam (batches)", "/reports/?exam_id=1"),
            ("report, a bureau's subtree", "/reports/?unit_id=2"),
            ("report, 领导干部 only", "/reports/?leaders=y"),
            ("report export (xlsx)", "/reports/export.xlsx"),
            ("one person's attempts", "/reports/people/1000"),
            ("results page of a 20,000 exam (page 1)", "/manage/exams/1/results"),
            ("results page, page 150", "/manage/exams/1/results?page=150"),
        ],
        "benchbureau": [
            ("home (unit admin of a bureau)", "/"),
            ("report, no filter (bureau)", "/reports/"),
        ],
        "benchtrainer": [
            ("home (trainer)", "/"),
            ("item analysis, 20,000 attempts (counts stored)", "/reports/exams/1/items"),
            ("question across exams (counts stored)", "/reports/questions/1"),
        ],
    }
    # No app context around the requests: Flask-Login keeps the user in `g`, which would
    # then outlive a request and carry one login's user into the next client's requests.
    for login, pages in plan.items():
        client = app.test_client()
        response = client.post("/login", data={"login": login, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        for label, url in pages:
            median, low, high, status = _time(client, url, args.runs)
            print(f"{label:<48} {median:8.0f} ms  ({low:.0f}–{high:.0f})  [{status}]", flush=True)
        if login == "benchtrainer":
            for label, before in (
                ("item analysis, after one more submission", lambda: _hand_in_one(app)),
                ("item analysis, after a regrade of all", lambda: _regrade_all(app)),
                ("item analysis, cold (counts deleted)", lambda: _forget_counts(app)),
            ):
                runs = args.runs if "submission" in label else max(3, args.runs // 2)
                median, low, high, status = _time(client, "/reports/exams/1/items", runs, before)
                print(f"{label:<48} {median:8.0f} ms  ({low:.0f}–{high:.0f})  [{status}]")
    print(f"load average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["seed", "measure"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    seed(args) if args.command == "seed" else measure(args)


if __name__ == "__main__":
    main()
