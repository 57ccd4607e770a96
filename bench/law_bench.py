"""The law library's speed on the real 民法典 (1,260 articles, from ../shared/laws, never
copied into the repository), on SQLite and (with --postgres URL, a database created per
run) PostgreSQL:

- import: `plan_law_import` + `commit_law_import` of 民法典.md into an empty library;
- diff: importing a revised 民法典 (made here from the real text: 100 articles reworded,
  5 removed, 5 inserted, so most later articles move) as the next version, which diffs it
  article by article and reviews the questions citing it (200 made-up questions), and
  `diff_articles` alone on the same pair;
- article page: GET of 200 article pages of the imported text by a logged-in trainer.

    python bench/law_bench.py [--laws ../shared/laws] [--runs 3] [--postgres postgresql://postgres@127.0.0.1/postgres]

Prints each figure's median over the runs (pages: median and 95th percentile).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from core.audit import SYSTEM  # noqa: E402
from core.extensions import db  # noqa: E402
from core.passwords import hash_password  # noqa: E402
from core.roles import Role  # noqa: E402
from question_bank import bank  # noqa: E402
from question_bank.drafts import LawRefDraft, QuestionDraft  # noqa: E402
from question_bank.statutes.diff import diff_articles  # noqa: E402
from question_bank.statutes.library import (  # noqa: E402
    commit_law_import,
    main_articles,
    plan_law_import,
)
from question_bank.statutes.parse import parse_statute  # noqa: E402
from training.models import Unit, User  # noqa: E402

PASSWORD = "Bench-passw0rd"


def revised_text(original: str, seed: int = 7) -> str:
    """The 民法典 as a made-up next version: renumbered, some articles reworded."""
    parsed = parse_statute(original.encode(), "民法典.md")
    rng = random.Random(seed)
    texts = [article.text for article in parsed.main_articles]
    for index in rng.sample(range(len(texts)), 100):
        texts[index] = texts[index].replace("应当", "必须", 1) + "（修订）"
    for index in sorted(rng.sample(range(len(texts)), 5), reverse=True):
        del texts[index]
    for index in rng.sample(range(len(texts)), 5):
        texts.insert(index, f"新增条文第{index}号：本条为基准测试新增的规定，与其他条文不同。")
    lines = [
        "中华人民共和国民法典",
        "",
        "（2030年1月1日第二十届全国人民代表大会第一次会议修订）",
        "",
    ]
    for number, text in enumerate(texts, start=1):
        first, *rest = text.split("\n")
        lines.append(f"第{number}条　{first}")
        lines.extend(rest)
    return "\n".join(lines)


def fresh_database(kind: str, postgres: str | None, workdir: Path, number: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'law{number}.db'}"
    name = f"xuefa_law_bench_{os.getpid()}_{number}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return "postgresql+psycopg://" + postgres.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, postgres: str | None) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}")


def one_run(url: str, original: str, revised: str) -> dict[str, float | list[float]]:
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOGIN_RATE_LIMIT": "1000 per minute",
        }
    )
    figures: dict[str, float | list[float]] = {}
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        plan = plan_law_import(original.encode(), "民法典.md", "民法典", "2020年")
        result = commit_law_import(SYSTEM, plan)
        db.session.commit()
        figures["import"] = time.perf_counter() - started
        first = result.version
        rng = random.Random(1)
        for number in rng.sample(range(1, 1261), 200):
            bank.add_question(
                SYSTEM,
                QuestionDraft(
                    "true_false",
                    f"基准测试题：民法典第{number}条",
                    ["正确", "错误"],
                    [0],
                    [],
                    law_refs=[LawRefDraft("民法典", "2020年", number)],
                ),
            )
        db.session.commit()
        old = [((a.number, a.suffix), a.text) for a in main_articles(first.id)]
        new_parsed = parse_statute(revised.encode(), "民法典.txt").main_articles
        new = [((a.number, a.suffix), a.text) for a in new_parsed]
        started = time.perf_counter()
        diff_articles(old, new)
        figures["diff only"] = time.perf_counter() - started
        started = time.perf_counter()
        plan = plan_law_import(revised.encode(), "民法典.txt", "民法典")
        second = commit_law_import(SYSTEM, plan)
        db.session.commit()
        figures["revision import"] = time.perf_counter() - started
        print("   ", second.summary_line(), f"；改引 {len(second.moved)}")

        unit = Unit(name="基准测试单位")
        user = User(
            login="bench_trainer",
            name="基准测试",
            unit=unit,
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        user.set_roles({Role.TRAINER})
        db.session.add_all([unit, user])
        db.session.commit()
        version_id = second.version.id
    client = app.test_client()
    client.post("/login", data={"login": "bench_trainer", "password": PASSWORD})
    pages = []
    for number in random.Random(2).sample(range(1, 1261), 200):
        started = time.perf_counter()
        response = client.get(f"/laws/{version_id}/articles/{number}")
        pages.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    figures["article page"] = pages
    with app.app_context():
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--laws", default=str(ROOT.parent / "shared" / "laws"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    original = (Path(args.laws) / "民法典.md").read_text(encoding="utf-8")
    revised = revised_text(original)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        number = 0
        for kind in kinds:
            runs = []
            for _ in range(args.runs):
                number += 1
                url = fresh_database(kind, args.postgres, Path(tmp), number)
                runs.append(one_run(url, original, revised))
                if kind == "postgresql":
                    drop_database(url, args.postgres)
            for name in ("import", "diff only", "revision import"):
                values = [run[name] for run in runs]
                shown = ", ".join(f"{v:.2f}" for v in values)
                print(f"{kind} {name}: median {statistics.median(values):.2f} s ({shown})")
            pages = sorted(t for run in runs for t in run["article page"])
            p95 = pages[int(len(pages) * 0.95)]
            print(
                f"{kind} article page: median {statistics.median(pages) * 1000:.1f} ms, "
                f"p95 {p95 * 1000:.1f} ms ({len(pages)} pages)"
            )


if __name__ == "__main__":
    main()
