"""CPU per request of a candidate's whole flow, in process (Flask's test client), with an
optional cProfile of one step.

    python bench/request_cpu.py --database-url URL [--candidates 300] [--first 1]
        [--profile start|paper|submit|...] [--sort cumulative|tottime]

Uses the exam that bench/exam_seed.py seeded into URL (run `exam_seed.py reset` between runs:
a candidate who has started resumes instead). Each candidate logs in, opens the rules page,
starts, opens the exam page and the paper, saves one answer, submits and opens the result; the
median CPU of this process per request is printed (the database's CPU is not in it). CSRF is
off, so the figures leave out its check (about 0.2 ms a request).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from exam_seed import info_path, sqlalchemy_url  # noqa: E402

STEPS = ("login_page", "login", "rules", "start", "page", "paper", "save", "submit", "result")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--first", type=int, default=0, help="index of the first candidate")
    parser.add_argument("--profile", choices=STEPS)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    info = json.loads(info_path(args.database_url).read_text())
    os.environ["DATABASE_URL"] = sqlalchemy_url(args.database_url)
    os.environ.setdefault("LOGIN_RATE_LIMIT", "1000000 per minute")
    from app import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-" + "x" * 32})
    profiler = cProfile.Profile(time.process_time)
    spent = {step: [] for step in STEPS}

    def timed(step, call, *a, **kw):
        began = time.process_time()
        if step == args.profile:
            profiler.enable()
        response = call(*a, **kw)
        profiler.disable()
        spent[step].append(time.process_time() - began)
        if response.status_code >= 400:
            raise SystemExit(f"{step}: HTTP {response.status_code}")
        return response

    exam = info["exam_id"]
    for login in info["logins"][args.first : args.first + args.candidates]:
        client = app.test_client()
        timed("login_page", client.get, "/login")
        timed("login", client.post, "/login", data={"login": login, "password": info["password"]})
        timed("rules", client.get, f"/exams/{exam}")
        started = timed(
            "start", client.post, f"/exams/{exam}/start", headers={"Accept": "application/json"}
        )
        url = started.get_json()["url"]
        timed("page", client.get, url)
        item = timed("paper", client.get, f"{url}/paper").get_json()["items"][0]
        body = {"item_id": item["item_id"], "answer": [0], "seq": 1}
        timed("save", client.post, f"{url}/answers", json=body)
        timed("submit", client.post, f"{url}/submit", json={})
        timed("result", client.get, f"{url}/result")
    for step, seconds in spent.items():
        print(f"{step:10} {statistics.median(seconds) * 1000:7.2f} ms  (median of {len(seconds)})")
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(50)
        print(out.getvalue())


if __name__ == "__main__":
    main()
