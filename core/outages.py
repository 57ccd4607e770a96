"""Database outages: a 503 with Retry-After while the database cannot be reached, one log
line per failed request, and the server's own record of when it could not reach it.

The file system works while the database does not, so each process notes its first failed
connection in a marker file `<OUTAGE_DIR>/<host>-<pid>` (start, last failure). The first
request that reaches the database again, in any process of the host, turns the markers
into `outages` rows (start, end) and removes them; a domain may then act on the record
(the exams extend the deadlines that fell inside). The client's clock plays no part.
"""

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app, g, jsonify, render_template, request
from sqlalchemy import String, event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import db
from core.roles import wants_json

RETRY_AFTER_SECONDS = 5
#: a marker of another process ends at most this long after the last failure it saw: that
#: process may have had no request since, while this one reached the database at once
QUIET_END = timedelta(seconds=60)
MESSAGE = "数据库暂时无法连接，请稍后再试。考试答案会先保存在您的设备上，恢复后自动发送。"
log = logging.getLogger(__name__)


class Outage(db.Model):
    """A span in which a server process could not reach the database."""

    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime] = mapped_column(index=True)
    #: the process that saw it: host-pid
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    @property
    def seconds(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class Marker:
    path: Path
    source: str
    started_at: datetime
    last_failure: datetime


def _host() -> str:
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutageWatch:
    """The markers of one app's processes on this host."""

    def __init__(self, directory: Path):
        self.directory = directory
        #: this process saw a failure that is not recorded yet
        self.pending = False
        self._seen_mtime: float | None = None

    @property
    def marker(self) -> Path:
        # The pid is read each time: gunicorn forks its workers after the app is built.
        return self.directory / f"{_host()}-{os.getpid()}"

    def note_failure(self, now: datetime) -> None:
        """A connection to the database failed: start or extend this process's marker."""
        started = now
        if self.pending:
            try:
                started = datetime.fromisoformat(json.loads(self.marker.read_text())["start"])
            except (OSError, ValueError, KeyError):
                started = now  # recorded meanwhile by another process: a new outage
        self.pending = True
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.marker.with_suffix(".tmp")
            temporary.write_text(
                json.dumps({"start": started.isoformat(), "last": now.isoformat()})
            )
            temporary.replace(self.marker)
        except OSError as error:
            log.warning("outage marker not written: %s", error)

    def needs_recording(self) -> bool:
        """Cheap enough for every request: a flag, and one stat of the marker folder."""
        if self.pending:
            return True
        try:
            mtime = self.directory.stat().st_mtime
        except OSError:
            return False
        if mtime == self._seen_mtime:
            return False
        self._seen_mtime = mtime
        return any(self._paths())

    def _paths(self):
        try:
            return [path for path in self.directory.iterdir() if path.suffix != ".tmp"]
        except OSError:
            return []

    def markers(self, now: datetime) -> list[Marker]:
        """Every unrecorded marker in the folder, its end estimated as of `now` (when the
        database answered this process)."""
        found = []
        for path in self._paths():
            try:
                data = json.loads(path.read_text())
                start = datetime.fromisoformat(data["start"])
                last = datetime.fromisoformat(data["last"])
            except (OSError, ValueError, KeyError):
                continue
            found.append(Marker(path, path.name.split(".")[0], start, last))
        return found

    def unrecorded_since(self) -> datetime | None:
        """The earliest start of an outage seen on this host and not yet recorded."""
        starts = [marker.started_at for marker in self.markers(clock.now())]
        return min(starts, default=None)

    def claim(self, now: datetime) -> list[tuple[Marker, datetime]]:
        """Take the markers to record, each with its end; a marker another process claimed
        first is skipped (the rename is atomic)."""
        claimed = []
        own = self.marker.name
        for marker in self.markers(now):
            if "." in marker.path.name:
                continue  # claimed by another process that is recording it now
            host, _, pid = marker.source.rpartition("-")
            mine = marker.path.name == own
            dead = host == _host() and pid.isdigit() and not _pid_alive(int(pid))
            end = now if mine else min(now, marker.last_failure + QUIET_END)
            if dead:
                end = min(now, marker.last_failure + timedelta(seconds=RETRY_AFTER_SECONDS))
            target = marker.path.with_name(f"{marker.path.name}.claimed-{os.getpid()}")
            try:
                marker.path.rename(target)
            except OSError:
                continue
            claimed.append((Marker(target, marker.source, marker.started_at, end), end))
        return claimed

    def release(self, claimed: list[tuple[Marker, datetime]], recorded: bool) -> None:
        """After the record committed, drop the markers; after a failure, put them back."""
        for marker, _ in claimed:
            original = marker.path.with_name(marker.path.name.split(".")[0])
            try:
                if recorded:
                    marker.path.unlink()
                else:
                    marker.path.rename(original)
            except OSError:
                pass
        if recorded:
            self.pending = self.marker.exists()


def watch() -> OutageWatch:
    return current_app.extensions["outages"]


def unrecorded_since() -> datetime | None:
    return watch().unrecorded_since()


def unavailable(error):
    """One line in the log, a 503 with Retry-After for the client."""
    summary = str(getattr(error, "orig", None) or error).strip().splitlines()
    current_app.logger.warning(
        "database unavailable: %s %s: %s: %s",
        request.method,
        request.path,
        type(error).__name__,
        summary[0][:300] if summary else "",
    )
    if "_login_user" not in g:
        # The user could not be loaded: later hooks must not ask the database again.
        g._login_user = current_app.login_manager.anonymous_user()
    if wants_json():
        response = jsonify(error="database_unavailable", message=MESSAGE)
    else:
        response = current_app.make_response(
            render_template("error.html", status=503, title="服务暂时不可用", message=MESSAGE)
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Watch the app's engines for failed connections and answer them with a 503."""
    directory = Path(app.config.get("OUTAGE_DIR") or Path(app.instance_path) / "outages")
    outages = app.extensions["outages"] = OutageWatch(directory)

    def on_error(context) -> None:
        # A failed connect (no connection yet) or a connection lost mid-request; not a
        # stale pooled connection found by the pre-ping (the pool reconnects), not a lock.
        if (context.connection is None or context.is_disconnect) and not context.is_pre_ping:
            outages.note_failure(clock.now())

    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "handle_error", on_error)
    for kind in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(kind, unavailable)
