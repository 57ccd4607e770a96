"""Import 10,000 real questions through `flask bank import`, timed, on SQLite and
(with --postgres URL, an empty server database is created per run) PostgreSQL.

    python bench/import_bench.py [--rows 10000] [--runs 3] [--postgres postgresql://postgres@127.0.0.1/postgres]

Prints seconds per run and the median. Each run starts from an empty, migrated database.
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
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def fresh_database(kind: str, postgres: str | None, workdir: Path, number: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'bench{number}.db'}"
    name = f"xuefa_bench_{os.getpid()}_{number}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return postgres.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, postgres: str | None) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = {}
        for suffix in ("csv", "xlsx"):
            files[suffix] = workdir / f"real.{suffix}"
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "real_bank.py"),
                    str(files[suffix]),
                    "--limit",
                    str(args.rows),
                ],
                check=True,
            )
        kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
        number = 0
        for kind in kinds:
            for suffix, path in files.items():
                timings = []
                for _ in range(args.runs):
                    number += 1
                    url = fresh_database(kind, args.postgres, workdir, number)
                    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
                    run([*FLASK, "db", "upgrade"], env).check_returncode()
                    started = time.perf_counter()
                    result = run([*FLASK, "bank", "import", str(path), "--keep-duplicates"], env)
                    timings.append(time.perf_counter() - started)
                    if result.returncode != 0:
                        print(result.stdout[-2000:], result.stderr[-2000:])
                        raise SystemExit(f"import failed on {kind}/{suffix}")
                    last_line = result.stdout.strip().splitlines()[-1]
                    drop_database(url, args.postgres)
                median = statistics.median(timings)
                print(
                    f"{kind:10} {suffix:4} {args.rows} rows: runs "
                    f"{', '.join(f'{t:.1f}s' for t in timings)}; median {median:.1f}s "
                    f"= {args.rows / median:.0f} questions/s ({last_line})"
                )


if __name__ == "__main__":
    main()
