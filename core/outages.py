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

from flask import Flask, current_app, g, render_template, request
from sqlalchemy import String, event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.errors import json_error
from core.extensions import db
from core.roles import wants_json

RETRY_AFTER_SECONDS = 5
#: a marker of another process ends at most this long after the last failure it saw: that
#: process may have had no request since, while this one reached the database at once
QUIET_END = timedelta(seconds=60)
#: a marker being recorded is renamed `<host>-<pid>.claimed-<pid of the recorder>`; one
#: being written is `<host>-<pid>.tmp` (host names may hold dots: names are not split on them)
CLAIMED = ".claimed-"
TEMPORARY = ".tmp"
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
            temporary = self.marker.with_name(self.marker.name + TEMPORARY)
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
            return [path for path in self.directory.iterdir() if not path.name.endswith(TEMPORARY)]
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
            found.append(Marker(path, path.name.partition(CLAIMED)[0], start, last))
        return found

    def unrecorded_since(self) -> datetime | None:
        """The earliest start of an outage seen on this host and not yet recorded."""
        starts = [marker.started_at for marker in self.markers(clock.now())]
        return min(starts, default=None)

    def claim(self, now: datetime) -> list[tuple[Marker, datetime]]:
        """Take the markers to record, each with its end; a marker another live process
        claimed first is skipped (the rename is atomic), one whose claimer died while
        recording it is taken over."""
        claimed = []
        own = self.marker.name
        for marker in self.markers(now):
            claimer = marker.path.name.partition(CLAIMED)[2]
            if claimer and (not claimer.isdigit() or _pid_alive(int(claimer))):
                continue  # another process is recording it now
            host, _, pid = marker.source.rpartition("-")
            mine = marker.path.name == own
            dead = host == _host() and pid.isdigit() and not _pid_alive(int(pid))
            end = now if mine else min(now, marker.last_failure + QUIET_END)
            if dead:
                end = min(now, marker.last_failure + timedelta(seconds=RETRY_AFTER_SECONDS))
            target = marker.path.with_name(f"{marker.source}{CLAIMED}{os.getpid()}")
            try:
                marker.path.rename(target)
            except OSError:
                continue
            claimed.append((Marker(target, marker.source, marker.started_at, end), end))
        return claimed

    def release(self, claimed: list[tuple[Marker, datetime]], recorded: bool) -> None:
        """After the record committed, drop the markers; after a failure, put them back."""
        for marker, _ in claimed:
            original = marker.path.with_name(marker.source)
            try:
                if recorded:
                    marker.path.unlink()
                else:
                    marker.path.rename(original)
            except OSError:
                pass
        if recorded:
            self.pending = self.marker.exists()

    def commit_record(self, now: datetime, write):
        """Turn the markers into the database's record: `write(claimed markers)` adds the
        rows (and whatever a domain does about them) and flushes; this commits, then drops
        the markers, or puts them back when anything failed. What `write` returns.

        The record is a transaction of its own, committed here and not by the request
        that happens to come first: the markers on disk may go only once their rows are
        committed, which only this function sees happen; that request may still fail (and
        roll back) without undoing the record; and the deadlines the record moves are not
        kept locked while the request goes on."""
        db.session.connection()  # still down: fail here, before the markers are touched
        claimed = self.claim(now)
        if not claimed:
            self.release([], recorded=True)
            return []
        try:
            result = write(claimed)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            self.release(claimed, recorded=False)
            raise
        self.release(claimed, recorded=True)
        return result


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
    # Whether or not the user was loaded before the connection went, the rest of the
    # request (the error page, the response hooks) must not ask the database again: a
    # user loaded earlier was expired by the rollback, and reading it would reconnect.
    g._login_user = current_app.login_manager.anonymous_user()
    if wants_json():
        return retry_later("database_unavailable", MESSAGE)
    page = render_template("error.html", status=503, title="服务暂时不可用", message=MESSAGE)
    return _retry_later(current_app.make_response((page, 503)))


def retry_later(code: str, message: str):
    """A JSON 503 that asks the client to send the same request again in a moment."""
    return _retry_later(current_app.make_response(json_error(503, code, message)))


def _retry_later(response):
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Watch the app's engines for failed connections and answer them with a 503."""
    directory = Path(app.config.get("OUTAGE_DIR") or Path(app.instance_path) / "outages")
    outages = app.extensions["outages"] = OutageWatch(directory)

    def on_error(context) -> None:
        # A failed connect (no connection yet) or a connection lost mid-request; not a
        # stale pooled connection found by a ping (core.pool: the pool reconnects), not a lock.
        if (context.connection is None or context.is_disconnect) and not context.is_pre_ping:
            outages.note_failure(clock.now())

    with app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "handle_error", on_error)
    for kind in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(kind, unavailable)
