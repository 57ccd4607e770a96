"""bin/serve: two instances of the same user each get their own gunicorn control socket,
and a worker timeout long enough for an import of a 20 MB file."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(tmp_path: Path, port: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / f'serve{port}.db'}",
        "SECRET_KEY": "serve-test",
        "BIND": f"127.0.0.1:{port}",
        "WORKERS": "1",
    }
    return subprocess.Popen(
        [str(ROOT / "bin" / "serve")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )


def _healthy(port: int, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def test_two_instances_have_their_own_control_socket_and_a_long_timeout(tmp_path):
    ports = [_free_port(), _free_port()]
    logs = [(tmp_path / f"serve{port}.log").open("w") for port in ports]
    servers = [_serve(tmp_path, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        assert all(_healthy(port) for port in ports), [
            (tmp_path / f"serve{port}.log").read_text()[-2000:] for port in ports
        ]
        sockets = [ROOT / "instance" / f"gunicorn-127.0.0.1_{port}.ctl" for port in ports]
        assert all(path.exists() for path in sockets), sockets
        for server in servers:
            arguments = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
            assert arguments[arguments.index(b"--timeout") + 1] == b"300"
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)
        for log in logs:
            log.close()
