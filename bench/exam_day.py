"""Exam day under load: candidates played through the real HTTP flow against gunicorn.

    python bench/exam_day.py MODE --database-url URL [options]

Seed the database first (bench/exam_seed.py seed). The driver starts gunicorn itself on
127.0.0.1 (`app:create_app()`, --workers 2 unless told otherwise, the login rate limit
raised through the environment), resets the attempts (unless --no-reset), runs, stops the
server, prints a summary and exits non-zero on any 5xx, failed candidate, reload mismatch
or leaked key. It never runs longer than --max-seconds: past that it stops everything.

Modes
  spike   N candidates (--candidates) all start within --ramp seconds (default 60): log in,
          open the rules page, start, load the paper, save every answer at --think seconds
          (mean, exponential; --fast: no pause) with changed answers, repeated and late
          out-of-order saves, reload midway (the server's responses must match what it
          acknowledged), submit twice (scored once), open the result.
  soak    the same flow at an exam's real pace (--think 40: 60 questions in about an
          hour) for --minutes: everyone logs in and starts within --ramp, reloads halfway,
          and submits what was saved when the minutes are up.
  logins  logins per second (GET /login + POST /login) at --connections.
  starts  exam starts per second (POST start: draws and freezes a paper) at --connections,
          candidates logged in beforehand; then paper loads per second.
  saves   answer saves per second and p50/p95/p99 latency at --connections (default 128),
          each connection one candidate with a started attempt; --bare also measures the
          bare single-upsert app (bench/bare_upsert.py) with the same gunicorn settings in
          the same run, alternating --rounds times, and reports the ratio. --rate R
          offers R saves/s on a fixed schedule instead (an exam hall's load), latency
          counted from when each save was due.

Every acknowledged save is written to a JSONL log (--log) for bench/check_exam_day.py:
  {"t": "save", "a": attempt, "i": item, "s": seq, "v": answer, "ack": seq the server holds}
  {"t": "sent", ...}     sent without a reply (may or may not have been applied)
  {"t": "start", "a": attempt, "u": login}   {"t": "submit", "a": attempt, "at": utc iso}
  {"t": "summary", ...}  status counts per request kind, at the end
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from exam_seed import info_path  # noqa: E402

HOST = "127.0.0.1"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
ATTEMPT_URL = re.compile(r"/attempts/(\d+)$")
LEAKY_KEYS = {"answer", "answers", "key", "correct", "explanation", "earned", "is_correct"}


class Failed(Exception):
    """A candidate's flow could not go on; the message says where."""


class RunError(Exception):
    """The run cannot go on (the server would not start or died, set-up failed)."""


# --- the server --------------------------------------------------------------------


def process_cpu_seconds(pids) -> float:
    """User + system CPU of the given processes, from /proc (0 for those gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


RIDE_OUT_STATUSES = frozenset({502, 503, 504})


def postgres_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database, and the server's WAL writer,
    checkpointer and background writer (not other databases' backends: other tests may be
    running on the same server)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return []
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
            "AND pid <> pg_backend_pid()) OR backend_type IN "
            "('walwriter', 'checkpointer', 'background writer')"
        ).fetchall()
    return [pid for (pid,) in rows]


class Server:
    """gunicorn on 127.0.0.1 in its own process group, stopped for sure at the end."""

    def __init__(
        self,
        app_spec: str,
        args,
        env: dict,
        port: int,
        pythonpath: str | None = None,
        workers: int | None = None,
        nice: int = 0,
    ):
        self.port = port
        command = [
            *(["nice", "-n", str(nice)] if nice else []),
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers or args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--backlog",
            "4096",
            "--timeout",
            "60",
            "--no-control-socket",
        ]
        if pythonpath:
            command += ["--pythonpath", pythonpath]
        self.command = [*command, app_spec]
        self.env = env
        self.process: subprocess.Popen | None = None
        self.partner: Server | None = None  # the saves' pool, counted with this one
        self.log = Path(args.log).with_suffix(f".server{port}.log")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RunError(f"gunicorn exited; see {self.log}")
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        self.stop()
        raise RunError(f"gunicorn did not answer /healthz in 30 s; see {self.log}")

    def pids(self) -> list[int]:
        own = [] if self.process is None else [self.process.pid, *children(self.process.pid)]
        return own + (self.partner.pids() if self.partner else [])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


class Profiler:
    """py-spy (not a project dependency: install it into the venv) on the server's workers
    while a measurement runs; writes collapsed stacks and prints where the time goes."""

    def __init__(self, path: str | None):
        self.path = path
        self.process: subprocess.Popen | None = None

    def start(self, server: "Server") -> None:
        if not self.path or self.process is not None:
            return
        spy = Path(sys.executable).parent / "py-spy"
        self.process = subprocess.Popen(
            [
                *(str(spy), "record", "--pid", str(server.process.pid), "--subprocesses"),
                *("--format", "raw", "--nolineno", "--rate", "250", "--output", self.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(0.5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        print(f"profile: {self.path}")
        for line in top_frames(self.path):
            print("  " + line)


def top_frames(path: str, count: int = 30) -> list[str]:
    """The functions most often on the stack (inclusive) in py-spy's collapsed output."""
    inclusive, own, total = Counter(), Counter(), 0
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return ["(no profile written)"]
    for line in lines:
        stack, _, samples = line.rpartition(" ")
        samples = int(samples)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        if frames:
            own[frames[-1]] += samples
    rows = [f"{total} samples; inclusive %, own %, function"]
    for frame, samples in inclusive.most_common(count):
        rows.append(f"{100 * samples / total:5.1f} {100 * own[frame] / total:5.1f}  {frame}")
    return rows


# --- measuring ---------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.status = defaultdict(Counter)  # kind -> status -> count
        self.errors = defaultdict(Counter)  # kind -> exception name -> count
        self.latency = defaultdict(list)  # kind -> seconds
        self.problems = Counter()  # failed flows, reload mismatches, leaks ...
        self.rode_out = defaultdict(Counter)  # kind -> status or "no answer" -> resent
        self.examples = {}
        self.recording = True

    def problem(self, name: str, example: str = "") -> None:
        self.problems[name] += 1
        self.examples.setdefault(name, example[:300])

    def fivexx(self) -> int:
        """5xx answers, leaving out the 503s of a database outage ridden out (--ride-out)."""
        return sum(
            n
            for kind, by in self.status.items()
            for s, n in by.items()
            if s >= 500 and not (s in RIDE_OUT_STATUSES and self.rode_out[kind][s])
        )

    def summary(self) -> dict:
        return {
            "status": {kind: dict(sorted(by.items())) for kind, by in self.status.items()},
            "errors": {kind: dict(by) for kind, by in self.errors.items()},
            "problems": dict(self.problems),
            "examples": self.examples,
            "fivexx": self.fivexx(),
            "resent_after_fault": {kind: dict(by) for kind, by in self.rode_out.items()},
        }


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class AckLog:
    def __init__(self, path: Path):
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, **entry) -> None:
        self.file.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.file.close()


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


# --- one candidate -----------------------------------------------------------------


class Candidate:
    def __init__(self, login: str, run: "Run"):
        self.login = login
        self.run = run
        self.session: aiohttp.ClientSession | None = None
        self.base = ""
        self.saves_base = ""  # --saves-workers: the saves' own pool
        self.token = ""  # the CSRF token of the rules page, for the start button
        self.attempt_id: int | None = None
        self.items: list[dict] = []
        self.csrf = ""
        self.seq = 0
        self.acked: dict[int, tuple[int, list]] = {}  # item -> (newest seq held, answer)
        self.sent: dict[int, dict[int, list]] = defaultdict(dict)  # item -> seq -> answer

    def open(self, base_url: str) -> None:
        self.base = base_url
        self.saves_base = self.run.saves_url or base_url
        # No limit on waiting for a free connection (the run's hard stop bounds it); a
        # server that stops answering a request fails it after --request-timeout.
        timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=30, sock_read=self.run.args.request_timeout
        )
        self.session = aiohttp.ClientSession(
            connector=self.run.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for an IP address host
            timeout=timeout,
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(self, kind: str, method: str, path: str, **kwargs):
        """One request; returns (status, body bytes, headers). Failed on no answer.

        With --ride-out N, as the exam page does, a request that gets no answer or a 502,
        503 or 504 is sent again (after Retry-After, at most 5 s) for up to N seconds."""
        ride_out = self.run.args.ride_out
        if not ride_out:
            return await self.call_once(kind, method, path, **kwargs)
        give_up_at = time.monotonic() + ride_out
        while True:
            try:
                status, body, headers = await self.call_once(kind, method, path, **kwargs)
            except Failed:
                if time.monotonic() >= give_up_at:
                    raise
                self.run.stats.rode_out[kind]["no answer"] += 1
                await asyncio.sleep(1)
                continue
            if status not in RIDE_OUT_STATUSES or time.monotonic() >= give_up_at:
                return status, body, headers
            self.run.stats.rode_out[kind][status] += 1
            await asyncio.sleep(min(float(headers.get("Retry-After") or 1), 5.0))

    async def call_once(self, kind: str, method: str, path: str, **kwargs):
        stats = self.run.stats
        started = time.perf_counter()
        try:
            async with self.session.request(
                method,
                path if path.startswith("http") else self.base + path,
                allow_redirects=False,
                **kwargs,
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            if stats.recording:
                stats.errors[kind][type(error).__name__] += 1
            raise Failed(f"{kind}: {type(error).__name__} {error}") from error
        if stats.recording:
            stats.status[kind][response.status] += 1
            stats.latency[kind].append(time.perf_counter() - started)
        return response.status, body, response.headers

    async def login_flow(self) -> None:
        status, body, _ = await self.call("login_page", "GET", "/login")
        token = CSRF.search(body.decode())
        if status != 200 or token is None:
            raise Failed(f"login page: {status}")
        status, body, headers = await self.call(
            "login",
            "POST",
            "/login",
            data={
                "login": self.login,
                "password": self.run.info["password"],
                "csrf_token": token.group(1),
            },
        )
        if status != 302 or "/login" in headers.get("Location", ""):
            raise Failed(f"login: {status} {body[:200]!r}")

    async def rules_page(self) -> str:
        status, body, _ = await self.call("rules_page", "GET", f"/exams/{self.run.exam_id}")
        token = CSRF.search(body.decode())
        if status != 200 or token is None:
            raise Failed(f"rules page: {status}")
        return token.group(1)

    async def start(self, token: str) -> None:
        status, body, headers = await self.call(
            "start", "POST", f"/exams/{self.run.exam_id}/start", data={"csrf_token": token}
        )
        found = ATTEMPT_URL.search(headers.get("Location", ""))
        if status != 302 or found is None:
            raise Failed(f"start: {status} {headers.get('Location')} {body[:200]!r}")
        self.attempt_id = int(found.group(1))
        self.run.log.write(t="start", a=self.attempt_id, u=self.login)

    async def load_paper(self, kind: str = "paper") -> dict:
        status, body, _ = await self.call(kind, "GET", f"/attempts/{self.attempt_id}/paper")
        if status != 200:
            raise Failed(f"{kind}: {status} {body[:200]!r}")
        paper = json.loads(body)
        self.check_no_key(paper)
        self.items = paper["items"]
        self.csrf = paper["csrf_token"]
        held = [r["seq"] for r in paper.get("responses", {}).values()]
        self.seq = max([self.seq, *held])
        return paper

    def check_no_key(self, paper: dict) -> None:
        for item in paper.get("items", []):
            leaked = LEAKY_KEYS & set(item)
            leaked |= {k for c in item.get("choices", []) for k in LEAKY_KEYS & set(c)}
            if leaked or not isinstance(item.get("blanks", 0), int):
                self.run.stats.problem("key_leak", f"{self.attempt_id}: {sorted(leaked)}")

    def answer_for(self, item: dict, rng: random.Random) -> list:
        values = [choice["value"] for choice in item.get("choices", [])]
        if item["type"] == "multiple" and len(values) > 1:
            return sorted(rng.sample(values, rng.randint(1, len(values))))
        if values:
            return [rng.choice(values)]
        return [f"答案{rng.randint(1, 9)}" for _ in range(max(1, item.get("blanks", 1)))]

    async def save(self, item_id: int, answer: list, seq: int, kind: str = "save") -> bool:
        """Send one save; log it; True if the server acknowledged it."""
        self.sent[item_id][seq] = answer
        try:
            status, body, _ = await self.call(
                kind,
                "POST",
                self.saves_base + f"/attempts/{self.attempt_id}/answers",
                json={"item_id": item_id, "answer": answer, "seq": seq},
                headers={"X-CSRFToken": self.csrf},
            )
        except Failed:
            self.run.log.write(t="sent", a=self.attempt_id, i=item_id, s=seq, v=answer)
            raise
        if status == 200:
            reply = json.loads(body)
            held = reply.get("seq")
            if not reply.get("saved") or not isinstance(held, int):
                self.run.stats.problem("bad_save_reply", body.decode()[:200])
                return False
            self.run.log.write(t="save", a=self.attempt_id, i=item_id, s=seq, v=answer, ack=held)
            newest = self.acked.get(item_id, (0, None))[0]
            if held < max(seq, newest):
                self.run.stats.problem(
                    "older_seq_acknowledged", f"{self.attempt_id}/{item_id}: {held} < {seq}"
                )
            if held > newest:
                self.acked[item_id] = (held, self.sent[item_id].get(held))
            return True
        if status >= 500:
            self.run.log.write(t="sent", a=self.attempt_id, i=item_id, s=seq, v=answer)
        else:
            self.run.log.write(t="refused", a=self.attempt_id, i=item_id, s=seq, status=status)
        raise Failed(f"{kind}: {status} {body[:200]!r}")

    def compare_with_server(self, paper: dict) -> None:
        """After a reload the server must hold exactly what it acknowledged."""
        held = paper.get("responses", {})
        for item_id, (seq, answer) in self.acked.items():
            server = held.get(str(item_id))
            if server is None or server["seq"] < seq:
                self.run.stats.problem(
                    "reload_lost_answer", f"attempt {self.attempt_id} item {item_id}"
                )
            elif server["seq"] == seq and server["answer"] != answer:
                self.run.stats.problem(
                    "reload_wrong_answer", f"attempt {self.attempt_id} item {item_id}"
                )
            elif server["seq"] > seq and server["seq"] not in self.sent[item_id]:
                self.run.stats.problem(
                    "reload_unknown_seq", f"attempt {self.attempt_id} item {item_id}"
                )

    async def submit(self) -> None:
        path = f"/attempts/{self.attempt_id}/submit"
        headers = {"X-CSRFToken": self.csrf}
        status, body, _ = await self.call("submit", "POST", path, json={}, headers=headers)
        if status != 200 or not json.loads(body).get("submitted"):
            raise Failed(f"submit: {status} {body[:200]!r}")
        self.run.log.write(t="submit", a=self.attempt_id, at=utc_now_iso())
        result_url = json.loads(body).get("result_url") or f"/attempts/{self.attempt_id}/result"
        await asyncio.sleep(0.2)
        # A second press (or a second tab): idempotent, must not score again.
        status, body, _ = await self.call("submit_again", "POST", path, json={}, headers=headers)
        if status != 200:
            raise Failed(f"second submit: {status} {body[:200]!r}")
        status, body, _ = await self.call("result", "GET", result_url)
        if status != 200:
            raise Failed(f"result: {status}")

    async def take_exam(
        self,
        delay: float,
        think: float,
        rng: random.Random,
        end_at: float | None = None,
        start_at: float | None = None,
    ) -> None:
        """The whole exam-day flow for one candidate. With `end_at` (a monotonic time) the
        candidate reloads halfway to it and submits what was saved when it comes. With
        `start_at` the candidate logs in after `delay` (the waiting room) and opens the
        paper at `start_at`; without it, arrives after `delay` and does both at once.
        The time from arriving (or from `start_at`) to the paper loaded is time_to_paper."""
        await asyncio.sleep(delay)
        arrived = time.monotonic()
        await self.login_flow()
        token = await self.rules_page()
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            arrived = time.monotonic()
        await self.start(token)
        status, _, _ = await self.call("exam_page", "GET", f"/attempts/{self.attempt_id}")
        if status != 200:
            raise Failed(f"exam page: {status}")
        await self.load_paper()
        self.run.stats.latency["time_to_paper"].append(time.monotonic() - arrived)
        self.run.papers_open_at.append(time.monotonic())
        actions = plan_actions(self.items, rng)
        midway = len(actions) // 2
        reload_at = None if end_at is None else (time.monotonic() + end_at) / 2
        for number, (action, item) in enumerate(actions):
            if think:
                pause = rng.expovariate(1 / think)
                if end_at is not None:
                    pause = min(pause, max(0.0, end_at - time.monotonic()))
                await asyncio.sleep(pause)
            if end_at is not None and time.monotonic() >= end_at:
                break
            if number == midway if reload_at is None else reload_at <= time.monotonic():
                # Reload the page: the server's answers must be those it acknowledged.
                reload_at = float("inf")
                await self.call("exam_page", "GET", f"/attempts/{self.attempt_id}")
                self.compare_with_server(await self.load_paper("paper_reload"))
            item_id = item["item_id"]
            if action == "repeat" and item_id in self.acked:
                # A retry of the last save of this item (same seq, same answer).
                seq, answer = self.acked[item_id]
                await self.save(item_id, answer, seq, "save_repeat")
            elif action == "late" and item_id in self.acked:
                # An older save arriving after a newer one: the newer must stay.
                self.seq += 2
                older, newer = self.seq - 1, self.seq
                await self.save(item_id, self.answer_for(item, rng), newer)
                self.sent[item_id][older] = self.answer_for(item, rng)
                await self.save(item_id, self.sent[item_id][older], older, "save_late")
            else:
                self.seq += 1
                await self.save(item_id, self.answer_for(item, rng), self.seq)
        await self.submit()


def plan_actions(items: list[dict], rng: random.Random) -> list[tuple[str, dict]]:
    """Answer every question in order, with changed answers, retries and late saves."""
    actions = []
    for item in items:
        actions.append(("answer", item))
        if actions and rng.random() < 0.2:
            actions.append(("change", rng.choice(items[: items.index(item) + 1])))
        if rng.random() < 0.1:
            actions.append(("repeat", item))
        if rng.random() < 0.05:
            actions.append(("late", item))
    return actions


# --- a run -------------------------------------------------------------------------


class Run:
    def __init__(self, args):
        self.args = args
        self.info = json.loads(info_path(args.database_url).read_text())
        self.exam_id = self.info["exam_id"]
        self.stats = Stats()
        self.papers_open_at: list[float] = []  # monotonic times of first paper loads
        self.log = AckLog(Path(args.log))
        self.connector: aiohttp.TCPConnector | None = None
        self.profiler = Profiler(args.profile)
        self.saves_url: str | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "SECRET_KEY": secrets.token_hex(16),
            "LOGIN_RATE_LIMIT": "1000000 per minute",
            "IDLE_TIMEOUT_MINUTES": "600",
        }

    def candidates(self, count: int, offset: int = 0) -> list[Candidate]:
        logins = self.info["logins"][offset : offset + count]
        if len(logins) < count:
            raise RunError(
                f"only {len(logins)} candidates from #{offset + 1}; seed more (--candidates)"
            )
        return [Candidate(login, self) for login in logins]

    def new_connector(self, limit: int) -> aiohttp.TCPConnector:
        # Per host: with --saves-workers the saves' pool has connections of its own, as
        # each browser's would be.
        return aiohttp.TCPConnector(limit=0, limit_per_host=limit)


async def bounded(count: int, coroutines):
    """Run coroutines with at most `count` at a time; returns their exceptions too."""
    gate = asyncio.Semaphore(count)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


def tally_failures(run: Run, results) -> int:
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, Failed):
            raise failure
        run.stats.problem("failed_candidate", str(failure))
    return len(failures)


async def flow_mode(run: Run, server: Server) -> dict:
    """spike / soak: whole candidates, started within the ramp."""
    args = run.args
    people = run.candidates(args.candidates)
    think = 0.0 if args.fast else args.think
    if think is None:
        think = 40.0 if args.mode == "soak" else 3.0
    # With --waiting-room W everyone logs in within the first W seconds and the exam
    # starts at W: each opens the paper within --ramp of it, as the waiting room's spread does.
    exam_start = time.monotonic() + args.waiting_room
    end_at = exam_start + args.minutes * 60 if args.mode == "soak" else None
    rng = random.Random(args.seed)
    run.connector = run.new_connector(args.connections)
    for person in people:
        person.open(server.url)
    run.profiler.start(server)
    watch = CpuWatch(server, run.args.database_url)
    started = time.perf_counter()

    def timing() -> dict:
        if not args.waiting_room:
            return {"delay": rng.uniform(0, args.ramp)}
        return {
            "delay": rng.uniform(0, args.waiting_room),
            "start_at": exam_start + rng.uniform(0, args.ramp),
        }

    results = await asyncio.gather(
        *(
            person.take_exam(
                think=think, rng=random.Random(rng.random()), end_at=end_at, **timing()
            )
            for person in people
        ),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    run.profiler.stop()
    failed = tally_failures(run, results)
    for person in people:
        await person.close()
    saves = sum(run.stats.status[k][200] for k in ("save", "save_repeat", "save_late"))
    cpu = watch.per(len(people))
    return {
        "other_cpu_pct": cpu["other_cpu_pct"],
        "cpu_ms_per_candidate": cpu["cpu_ms"],
        "candidates": len(people),
        "completed": len(people) - failed,
        "elapsed_s": round(elapsed, 1),
        "last_paper_open_s": round(max(run.papers_open_at, default=exam_start) - exam_start, 1),
        "think_s": round(think, 2),
        "saves_acknowledged": saves,
        "saves_per_s": round(saves / elapsed, 1),
        "latency_ms": latency_table(run.stats),
    }


def latency_table(stats: Stats) -> dict:
    return {
        kind: {
            "n": len(values),
            "p50": round(percentile(values, 0.50) * 1000, 1),
            "p95": round(percentile(values, 0.95) * 1000, 1),
            "p99": round(percentile(values, 0.99) * 1000, 1),
        }
        for kind, values in sorted(stats.latency.items())
    }


async def logins_mode(run: Run, server: Server) -> dict:
    args = run.args
    rounds = []
    for number in range(args.rounds):
        people = run.candidates(args.candidates)
        run.connector = run.new_connector(args.connections)
        for person in people:
            person.open(server.url)
        run.stats.latency.pop("login", None)
        run.profiler.start(server)
        watch = CpuWatch(server, run.args.database_url)
        started = time.perf_counter()
        results = await bounded(args.connections, (p.login_flow() for p in people))
        elapsed = time.perf_counter() - started
        cpu = watch.per(len(people))
        run.profiler.stop()
        failed = tally_failures(run, results)
        for person in people:
            await person.close()
        await run.connector.close()
        latencies = run.stats.latency["login"]
        rounds.append(
            {
                "logins_per_s": round((len(people) - failed) / elapsed, 1),
                "failed": failed,
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                **cpu,
            }
        )
        print(f"  round {number + 1}: {rounds[-1]}", flush=True)
    return {"rounds": rounds, **median_spread(rounds, "logins_per_s")}


def median_spread(rounds: list[dict], key: str) -> dict:
    values = [r[key] for r in rounds]
    return {
        f"median_{key}": round(statistics.median(values), 1),
        "spread": [min(values), max(values)],
    }


async def prepare(run: Run, people: list[Candidate], server: Server, start: bool) -> None:
    """Log in (and start, and load the paper) without timing: set-up for a measurement."""
    run.stats.recording = False

    async def ready(person: Candidate):
        await person.login_flow()
        token = await person.rules_page()
        if start:
            await person.start(token)
            await person.load_paper()
        return token

    for person in people:
        person.open(server.url)
    results = await bounded(32, (ready(p) for p in people))
    run.stats.recording = True
    if failed := tally_failures(run, results):
        raise RunError(f"{failed} candidates could not be prepared: {run.stats.examples}")
    for person, token in zip(people, results, strict=True):
        person.token = token


async def starts_mode(run: Run, server: Server) -> dict:
    args = run.args
    rounds = []
    for number in range(args.rounds):
        people = run.candidates(args.candidates, number * args.candidates)
        run.connector = run.new_connector(args.connections)
        await prepare(run, people, server, start=False)
        for kind in ("start", "paper"):
            run.stats.latency.pop(kind, None)
        run.profiler.start(server)
        watch = CpuWatch(server, run.args.database_url)
        started = time.perf_counter()
        results = await bounded(args.connections, (p.start(p.token) for p in people))
        elapsed = time.perf_counter() - started
        cpu = watch.per(len(people))
        run.profiler.stop()
        failed = tally_failures(run, results)
        paper_profile = Profiler(args.profile and args.profile + ".paper")
        paper_profile.start(server)
        started = time.perf_counter()
        results = await bounded(args.connections, (p.load_paper() for p in people))
        paper_elapsed = time.perf_counter() - started
        paper_profile.stop()
        failed += tally_failures(run, results)
        for person in people:
            await person.close()
        await run.connector.close()
        rounds.append(
            {
                "starts_per_s": round(len(people) / elapsed, 1),
                "papers_per_s": round(len(people) / paper_elapsed, 1),
                "failed": failed,
                "start_p99_ms": round(percentile(run.stats.latency["start"], 0.99) * 1000, 1),
                **cpu,
            }
        )
        print(f"  round {number + 1}: {rounds[-1]}", flush=True)
    return {"rounds": rounds, **median_spread(rounds, "starts_per_s")}


async def hammer(run: Run, people: list[Candidate], seconds: float, kind: str) -> dict:
    """Each candidate saves answers back to back for `seconds`; the rate and latencies."""
    run.stats.latency.pop(kind, None)
    stop = time.perf_counter() + seconds
    rng = random.Random(run.args.seed)

    # --rate: an open loop, each connection sending on a fixed schedule (the offered load
    # of an exam hall), latency counted from when the save was due, so a server that falls
    # behind is charged for the wait; without it, every connection sends back to back.
    interval = len(people) / run.args.rate if run.args.rate else 0.0
    late = run.stats.latency[kind + "_due"] = []

    async def loop(person: Candidate, due: float):
        while time.perf_counter() < stop:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            item = rng.choice(person.items)
            person.seq += 1
            await person.save(item["item_id"], person.answer_for(item, rng), person.seq, kind)
            if interval:
                late.append(time.perf_counter() - due)
                due += interval

    started = time.perf_counter()
    results = await asyncio.gather(
        *(loop(p, started + rng.uniform(0, interval)) for p in people), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    failed = tally_failures(run, results)
    latencies = late if interval else run.stats.latency[kind]
    run.stats.latency.pop(kind + "_due")
    return {
        "saves_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "failed_connections": failed,
    }


async def measured(run: Run, server: Server, people, kind: str) -> dict:
    """Warm up, then hammer for --duration, with the CPU each side used per save."""
    args = run.args
    run.stats.recording = False
    await hammer(run, people, args.warmup, kind + "_warmup")
    run.stats.recording = True
    if kind == "save":
        run.profiler.start(server)
    watch = CpuWatch(server, run.args.database_url)
    result = await hammer(run, people, args.duration, kind)
    result.update(watch.per(len(run.stats.latency[kind])))
    run.profiler.stop()
    return result


class CpuWatch:
    """CPU the server, PostgreSQL, this client and everything else used over a span."""

    def __init__(self, server: "Server", database_url: str):
        self.server = server
        self.database_url = database_url
        self.before = self.sample()
        self.started = time.perf_counter()

    def sample(self) -> dict:
        return {
            "server": {pid: process_cpu_seconds([pid]) for pid in self.server.pids()},
            "postgres": {
                pid: process_cpu_seconds([pid]) for pid in postgres_pids(self.database_url)
            },
            "client": {0: client_cpu()},
            "machine": {0: machine_busy_seconds()},
        }

    def per(self, count: int) -> dict:
        """CPU milliseconds per operation by side, and the share of the machine that other
        processes took meanwhile (much of it means a disturbed measurement). Processes
        that started meanwhile count from zero."""
        after = self.sample()
        elapsed = time.perf_counter() - self.started
        spent = {
            side: sum(now - self.before[side].get(pid, 0.0) for pid, now in values.items())
            for side, values in after.items()
        }
        other = max(0.0, spent["machine"] - spent["server"] - spent["postgres"] - spent["client"])
        return {
            "cpu_ms": {
                side: round(spent[side] * 1000 / max(count, 1), 2)
                for side in ("server", "postgres", "client")
            },
            "other_cpu_pct": round(100 * other / (elapsed * os.cpu_count()), 1),
        }


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def saves_mode(run: Run, server: Server) -> dict:
    args = run.args
    people = run.candidates(args.connections)
    run.connector = run.new_connector(args.connections)
    await prepare(run, people, server, start=True)
    bare = None
    if args.bare:
        bare = Server("bare_upsert:create_app()", args, run.env, args.port + 1, str(ROOT / "bench"))
    rounds = []
    try:
        for number in range(args.rounds):
            entry = {"app": await measured(run, server, people, "save")}
            if bare is not None:
                server.stop()  # one server at a time: the same two cores for each
                await bare.start()
                for person in people:
                    person.base = person.saves_base = bare.url
                entry["bare"] = await measured(run, bare, people, "save_bare")
                bare.stop()
                await server.start()
                for person in people:
                    person.base = person.saves_base = server.url
                entry["ratio"] = round(
                    entry["app"]["saves_per_s"] / entry["bare"]["saves_per_s"], 3
                )
            rounds.append(entry)
            print(f"  round {number + 1}: {json.dumps(entry)}", flush=True)
    finally:
        if bare is not None:
            bare.stop()
        for person in people:
            await person.close()
    summary = {"rounds": rounds}
    for side in ("app", "bare"):
        if side in rounds[0]:
            values = [r[side]["saves_per_s"] for r in rounds]
            p99 = [r[side]["p99_ms"] for r in rounds]
            summary[side] = {
                "median_saves_per_s": statistics.median(values),
                "spread": [min(values), max(values)],
                "median_p99_ms": statistics.median(p99),
                "p99_spread": [min(p99), max(p99)],
            }
    if bare is not None:
        ratios = [r["ratio"] for r in rounds]
        summary["median_ratio"] = statistics.median(ratios)
        summary["ratio_spread"] = [min(ratios), max(ratios)]
    return summary


MODES = {
    "spike": flow_mode,
    "soak": flow_mode,
    "logins": logins_mode,
    "starts": starts_mode,
    "saves": saves_mode,
}


def reset_attempts(url: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "exam_seed.py"), "reset", "--database-url", url],
        check=True,
        capture_output=True,
    )


async def run_mode(run: Run, server: Server) -> dict:
    args = run.args
    if args.saves_workers:
        server.partner = Server(
            "app:create_app()", args, run.env, args.port + 2, workers=args.saves_workers
        )
        await server.partner.start()
        run.saves_url = server.partner.url
    await server.start()
    try:
        return await MODES[args.mode](run, server)
    finally:
        run.profiler.stop()
        if run.connector is not None:
            await run.connector.close()
        server.stop()
        if server.partner:
            server.partner.stop()


def default_max_seconds(args) -> int:
    if args.mode == "soak":
        return args.waiting_room + args.minutes * 60 + 300
    if args.mode == "spike":
        return 1800
    if args.mode == "saves":
        return 120 + args.rounds * 2 * (args.duration + args.warmup + 20)
    return 900


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Exam-day load driver", formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--database-url", required=True, help="the seeded database")
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--connections", type=int, default=None, help="client connections")
    parser.add_argument("--ramp", type=float, default=60, help="spike/soak: seconds to start all")
    parser.add_argument(
        "--waiting-room",
        type=float,
        default=0,
        help="spike/soak: everyone logs in within these seconds first; the exam starts then",
    )
    parser.add_argument("--think", type=float, help="mean seconds between saves (spike 3, soak 40)")
    parser.add_argument("--fast", action="store_true", help="spike: no think time")
    parser.add_argument("--minutes", type=float, default=10, help="soak: duration")
    parser.add_argument("--duration", type=float, default=20, help="saves: measured seconds")
    parser.add_argument("--warmup", type=float, default=3, help="saves: unmeasured seconds")
    parser.add_argument("--rounds", type=int, default=1, help="logins/starts/saves: repeats")
    parser.add_argument("--bare", action="store_true", help="saves: also the bare upsert")
    parser.add_argument(
        "--rate", type=float, help="saves: offered saves/s (open loop) instead of flat out"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--saves-workers",
        type=int,
        default=0,
        help="answer saves go to a pool of their own with this many workers (port + 2), "
        "as deploy/haproxy.cfg routes them",
    )
    parser.add_argument(
        "--entry-nice",
        type=int,
        default=0,
        help="run the pool that takes logins and starts at this nice value",
    )
    parser.add_argument("--request-timeout", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-reset", action="store_true", help="keep earlier attempts")
    parser.add_argument("--log", help="acknowledgement log (JSONL)")
    parser.add_argument("--max-seconds", type=float, help="hard stop for the whole run")
    parser.add_argument(
        "--ride-out",
        type=float,
        default=0,
        help="resend a request that got no answer or a 502/503/504 for up to this many seconds",
    )
    parser.add_argument("--profile", help="py-spy the server's workers into this file")
    args = parser.parse_args(argv)
    defaults = {
        "spike": (1000, 256),
        "soak": (10_000, 512),
        "logins": (1000, 128),
        "starts": (1000, 128),
        "saves": (128, 128),
    }[args.mode]
    args.candidates = args.candidates or defaults[0]
    args.connections = args.connections or defaults[1]
    args.log = args.log or f"/tmp/exam_day_{args.mode}_{os.getpid()}.jsonl"
    args.max_seconds = args.max_seconds or default_max_seconds(args)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.no_reset and args.mode != "logins":
        reset_attempts(args.database_url)
    run = Run(args)
    server = Server("app:create_app()", args, run.env, args.port, nice=args.entry_nice)

    # The last resort: whatever hangs, the process and its server end by max-seconds + 30.
    def hard_stop():
        print(f"HARD STOP after {args.max_seconds + 30:.0f}s", file=sys.stderr, flush=True)
        server.stop()
        os._exit(3)

    watchdog = threading.Timer(args.max_seconds + 30, hard_stop)
    watchdog.daemon = True
    watchdog.start()
    print(
        f"{args.mode}: {args.candidates} candidates, {args.connections} connections, "
        f"gunicorn {args.workers}x{args.worker_class}, log {args.log}",
        flush=True,
    )
    timed_out = False
    try:
        result = asyncio.run(asyncio.wait_for(run_mode(run, server), args.max_seconds))
    except TimeoutError:
        timed_out, result = True, {}
    except (RunError, KeyboardInterrupt) as error:
        run.stats.problem("run_error", str(error) or type(error).__name__)
        result = {"error": str(error) or type(error).__name__}
    finally:
        server.stop()
        watchdog.cancel()
    summary = run.stats.summary()
    summary.update(mode=args.mode, result=result, hard_stop=timed_out)
    run.log.write(t="summary", **summary)
    run.log.close()
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    bad = summary["fivexx"] or run.stats.problems or timed_out
    if bad:
        print("FAILED: 5xx, failed candidates, lost answers or a hard stop (see above)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
