"""Past one machine: two app instances (bin/serve) behind HAProxy with deploy/haproxy.cfg,
and on PostgreSQL behind PgBouncer in transaction mode with deploy/pgbouncer.ini. A
candidate logs in on one instance, saves on the other and submits on the first, then a
second candidate does it all through the balancer, whose saves all reach the saves' pool:
nothing refused, nothing lost.

Debian's haproxy and pgbouncer are installed by bin/test (as root), like Chromium."""

import configparser
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
import pytest

from .test_serve import ROOT, _free_port, _healthy

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
SECRET = "scale-out-test"
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
PASSWORD = "Demo@2026"

pytestmark = pytest.mark.skipif(
    not shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    or bool(POSTGRES_URL and not shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")),
    reason="needs Debian's haproxy (and pgbouncer on PostgreSQL): bin/test installs them",
)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Candidate:
    """A browser's cookies, sending each request to the base URL it is given."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect
        )

    def send(self, base, path, form=None, body=None, headers=None, accept="application/json"):
        data, sent = None, {"Accept": accept, **(headers or {})}
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(base + path, data=data, headers=sent)
        try:
            with self.opener.open(request, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def page(self, base, path) -> str:
        status, page = self.send(base, path, accept="text/html")
        assert status == 200, (status, page[:500])
        return page

    def login(self, base, login):
        token = _csrf_token(self.page(base, "/login"))
        form = {"csrf_token": token, "login": login, "password": PASSWORD}
        status, _ = self.send(base, "/login", form=form, accept="text/html")
        assert status == 302, status

    def start_an_exam(self, base) -> int:
        """Starts the first open exam on the candidate's list: the attempt's id."""
        page = self.page(base, "/exams/")
        token = _csrf_token(page)
        for exam_id in dict.fromkeys(re.findall(r'href="/exams/(\d+)"', page)):
            status, reply = self.send(base, f"/exams/{exam_id}/start", form={"csrf_token": token})
            if status == 200:
                return int(json.loads(reply)["url"].rsplit("/", 1)[1])
        raise AssertionError(f"no exam could be started: {page[:2000]}")


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]


def _answer(item) -> list | None:
    if item["input"] == "blanks":
        return [f"答{n}" for n in range(len(item["blanks"]))]
    return [0] if item["choices"] else None


def _take(candidate, start_on, save_on, submit_on) -> tuple[int, dict]:
    """Start, save every answer, submit: the attempt id and what was saved (item -> answer)."""
    attempt_id = candidate.start_an_exam(start_on)
    status, reply = candidate.send(save_on, f"/attempts/{attempt_id}/paper")
    assert status == 200, reply
    paper = json.loads(reply)
    token = {"X-CSRFToken": paper["csrf_token"]}
    saved = {}
    for seq, item in enumerate(paper["items"], start=1):
        answer = _answer(item)
        if answer is None:
            continue
        body = {"item_id": item["item_id"], "answer": answer, "seq": seq}
        status, reply = candidate.send(
            save_on, f"/attempts/{attempt_id}/answers", body=body, headers=token
        )
        assert status == 200, reply
        saved[item["item_id"]] = answer
    status, reply = candidate.send(
        submit_on, f"/attempts/{attempt_id}/submit", body={}, headers=token
    )
    assert status == 200 and json.loads(reply)["submitted"], reply
    candidate.page(start_on, json.loads(reply)["result_url"])
    return attempt_id, saved


@pytest.fixture
def database(tmp_path):
    """(URL migrations use, URL the instances use, extra environment of the instances)."""
    if not POSTGRES_URL:
        url = f"sqlite:///{tmp_path / 'scale.db'}"
        yield url, url, {}
        return
    name = f"xuefa_scale_out_{os.getpid()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    direct = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    server = psycopg.conninfo.conninfo_to_dict(POSTGRES_URL)
    port = _free_port()
    # PgBouncer will not run as root: as root, it is started as the postgres user (-u),
    # which must reach its files.
    files = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    files.chmod(0o777)
    settings = configparser.ConfigParser()
    settings.read(ROOT / "deploy" / "pgbouncer.ini")
    settings["databases"] = {
        name: f"host={server.get('host', '127.0.0.1')} port={server.get('port', 5432)} dbname={name}"
    }
    (files / "users.txt").write_text(f'"{server.get("user", "postgres")}" ""\n')
    settings["pgbouncer"].update(
        listen_addr="127.0.0.1",
        listen_port=str(port),
        auth_type="trust",
        auth_file=str(files / "users.txt"),
        unix_socket_dir="",
        logfile=str(files / "pgbouncer.log"),
        pidfile=str(files / "pgbouncer.pid"),
    )
    with (files / "pgbouncer.ini").open("w") as file:
        settings.write(file)
    as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
    bouncer_log = (files / "stderr.log").open("w")
    bouncer = subprocess.Popen(
        [
            shutil.which("pgbouncer", path="/usr/sbin:/usr/bin"),
            *as_user,
            str(files / "pgbouncer.ini"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=bouncer_log,
        start_new_session=True,
    )
    pooled = f"postgresql://{server.get('user', 'postgres')}@127.0.0.1:{port}/{name}"
    try:
        yield direct, pooled, {"DATABASE_POOLER": "pgbouncer"}
    finally:
        os.killpg(bouncer.pid, signal.SIGTERM)
        bouncer.wait(timeout=30)
        bouncer_log.close()
        shutil.rmtree(files, ignore_errors=True)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _flask(url, *arguments, **extra):
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, **extra}
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", *arguments],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _saved_answers(url, attempt_id) -> dict:
    query = "SELECT item_id, answer FROM responses WHERE attempt_id = %s"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute(query.replace("%s", "?"), (attempt_id,)).fetchall()
    else:
        with psycopg.connect(url) as connection:
            rows = connection.execute(query, (attempt_id,)).fetchall()
    return {
        item: answer if isinstance(answer, list) else json.loads(answer) for item, answer in rows
    }


def _balancer(port: int, apps: list[str], saves: list[str], log) -> subprocess.Popen:
    """HAProxy with deploy/haproxy.cfg on 127.0.0.1:port, one worker per instance."""
    return subprocess.Popen(
        [shutil.which("haproxy", path="/usr/sbin:/usr/bin"), "-db", "-f", str(HAPROXY_CFG)],
        env={
            **os.environ,
            "HAPROXY_BIND": f"127.0.0.1:{port}",
            "APP1": apps[0],
            "APP2": apps[1],
            "SAVES1": saves[0],
            "SAVES2": saves[1],
            "WORKERS": "1",
        },
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )


def test_a_candidate_moves_between_instances_and_through_the_balancer(tmp_path, database):
    direct, pooled, extra = database
    _flask(direct, "db", "upgrade")
    _flask(direct, "seed-demo", XUEFA_DEMO="1")
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"app{port}.log" for port in ports]
    servers = []
    for port, log in zip(ports, logs, strict=True):
        env = {
            **os.environ,
            **extra,
            "DATABASE_URL": pooled,
            "SECRET_KEY": SECRET,
            "BIND": f"127.0.0.1:{port}",
            "WORKERS": "1",
            "PROXY_FIX_X_FOR": "1",
        }
        with log.open("w") as output:
            servers.append(
                subprocess.Popen(
                    [str(ROOT / "bin" / "serve")],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    balancer_port = _free_port()
    balancer_log = (tmp_path / "haproxy.log").open("w")
    balancer = _balancer(
        balancer_port,
        apps=[f"127.0.0.1:{port}" for port in ports],
        saves=[f"127.0.0.1:{ports[1]}"] * 2,  # the second instance is also the saves' pool
        log=balancer_log,
    )
    try:
        assert all(_healthy(port) for port in ports), [log.read_text()[-2000:] for log in logs]
        assert _healthy(balancer_port), (tmp_path / "haproxy.log").read_text()
        time.sleep(2.5)  # both servers seen up by the balancer's checks
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        balancer_url = f"http://127.0.0.1:{balancer_port}"

        one = Candidate()
        one.login(first, "staff01")
        attempt_id, saved = _take(one, start_on=first, save_on=second, submit_on=first)
        assert saved and _saved_answers(direct, attempt_id) == saved

        requests_before = [len(log.read_text().splitlines()) for log in logs]
        two = Candidate()
        two.login(balancer_url, "staff02")
        attempt_id, saved = _take(two, balancer_url, balancer_url, balancer_url)
        assert saved and _saved_answers(direct, attempt_id) == saved
        served = [
            log.read_text().splitlines()[before:]
            for log, before in zip(logs, requests_before, strict=True)
        ]
        assert all(len(lines) >= 3 for lines in served), served  # round robin used both
        saves = [
            sum(f"/attempts/{attempt_id}/answers" in line for line in lines) for lines in served
        ]
        assert saves == [0, len(saved)], saves  # every save went to the saves' pool
    finally:
        os.killpg(balancer.pid, signal.SIGTERM)
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for process in (balancer, *servers):
            process.wait(timeout=30)
        balancer_log.close()


def test_the_balancer_sheds_in_chinese_with_retry_after(tmp_path):
    dead = [f"127.0.0.1:{_free_port()}" for _ in range(2)]  # nothing listens there
    port = _free_port()
    with (tmp_path / "haproxy.log").open("w") as log:
        balancer = _balancer(port, apps=dead, saves=dead, log=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5)
                except urllib.error.HTTPError as error:
                    refusal = error
                    break
                except OSError:
                    assert time.monotonic() < deadline, (tmp_path / "haproxy.log").read_text()
                    time.sleep(0.2)
            assert refusal.code == 503
            assert refusal.headers["Retry-After"] == "5"
            assert "请 5 秒后刷新本页重试" in refusal.read().decode()
        finally:
            os.killpg(balancer.pid, signal.SIGTERM)
            balancer.wait(timeout=30)


def test_a_pgbouncer_pool_needs_no_prepared_statements(monkeypatch):
    from app import _engine_options

    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    assert _engine_options()["connect_args"] == {"prepare_threshold": None}
    monkeypatch.delenv("DATABASE_POOLER")
    assert "connect_args" not in _engine_options()


SLOW_APP = """
import time


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(16)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_a_busy_instance_is_not_taken_out_of_the_balancer(tmp_path):
    # A sync worker answers the health check only once it is free: an instance busy for
    # longer than three checks (a large import) must stay in, its requests waiting in the
    # queue, not be marked down so that everything is answered 503 at once.
    (tmp_path / "slow_app.py").write_text(SLOW_APP)
    port, balancer_port = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    with (tmp_path / "gunicorn.log").open("w") as server_log:
        server = subprocess.Popen(
            [
                *(str(Path(sys.executable).parent / "gunicorn"), "--workers", "1"),
                *("--bind", address, "--chdir", str(tmp_path), "--no-control-socket"),
                "slow_app:app",
            ],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    with (tmp_path / "haproxy.log").open("w") as log:
        balancer = _balancer(balancer_port, apps=[address] * 2, saves=[address] * 2, log=log)
    url = f"http://127.0.0.1:{balancer_port}"
    try:
        assert _healthy(port) and _healthy(balancer_port)
        time.sleep(2.5)  # the instance seen up by the balancer's checks
        slow = threading.Thread(target=urllib.request.urlopen, args=(url + "/slow",))
        slow.start()
        time.sleep(13)  # three checks timed out, had each waited its interval (2 s)
        with urllib.request.urlopen(url + "/login", timeout=30) as reply:
            assert reply.status == 200, (tmp_path / "haproxy.log").read_text()
        slow.join(timeout=30)
    finally:
        for process in (balancer, server):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
