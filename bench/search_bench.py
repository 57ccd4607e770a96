"""Search a 50,000-question bank: the trainers' list query (count + first page of 50,
cases grouped as one entry each, and the page's rows loaded), timed per keyword on SQLite
and (with --postgres URL, a fresh database) PostgreSQL, beside the plain question query
(count + first page of questions, no grouping) in the same run.

    python bench/search_bench.py [--questions 50000] [--repeat 15] [--postgres postgresql://postgres@127.0.0.1/postgres]

The bank is the real question data (../shared/data), repeated with numbered stems until
it holds --questions rows, imported through `flask bank import`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = ["行政处罚", "拾得人", "罚", "合同 违约", "民法典 第一千", "无此词语甲乙丙"]


def build_bank(url: str, env: dict, source: Path) -> None:
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [*flask, "bank", "import", str(source), "--keep-duplicates"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"  built in {time.perf_counter() - started:.0f}s")


def time_searches(url: str, repeat: int) -> None:
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from core.extensions import db
    from question_bank.search import QuestionFilters, list_entries, list_rows, question_query

    def plain(filters):
        return db.paginate(question_query(filters), page=1, per_page=50, error_out=False)

    def grouped(filters):
        page = db.paginate(list_entries(filters), page=1, per_page=50, error_out=False)
        list_rows(filters, list(page.items))
        return page

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        for keyword in KEYWORDS:
            for name, query in (("plain", plain), ("list", grouped)):
                timings, total = [], 0
                for _ in range(repeat):
                    started = time.perf_counter()
                    total = query(QuestionFilters(keyword=keyword)).total
                    timings.append((time.perf_counter() - started) * 1000)
                    db.session.remove()
                print(
                    f"  {keyword!r:14} {name:5} {total:6} hits  median "
                    f"{statistics.median(timings):6.1f} ms"
                    f"  (min {min(timings):.1f}, max {max(timings):.1f})"
                )
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bank.csv"
        real = 18_000  # about how many real rows import cleanly
        copies = -(-args.questions // real)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "real_bank.py"),
                str(source),
                "--copies",
                str(copies),
            ],
            check=True,
        )
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        source.write_text("".join(lines[: args.questions + 1]), encoding="utf-8")
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'search.db'}")]
        database = f"xuefa_search_{os.getpid()}"
        if args.postgres:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {database}")
                connection.execute(f"CREATE DATABASE {database}")
            targets.append(("postgresql", args.postgres.rsplit("/", 1)[0] + "/" + database))
        try:
            for kind, url in targets:
                print(f"{kind}: {args.questions} questions")
                env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
                build_bank(url, env, source)
                time_searches(url, args.repeat)
        finally:
            if args.postgres:
                with psycopg.connect(args.postgres, autocommit=True) as connection:
                    connection.execute(f"DROP DATABASE IF EXISTS {database}")


if __name__ == "__main__":
    main()
