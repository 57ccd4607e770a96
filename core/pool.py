"""Pinging pooled connections before use, but only those that sat idle.

SQLAlchemy's pool_pre_ping pings on every checkout: a round trip per request, 8-12% of a
worker's samples on practice answers and exam saves (py-spy, session 7), and through
gunicorn the practice answer went from 23% to 31% of the bare upsert without it. A
connection that was in use a moment ago is as good as a ping; one idle for longer may have
been dropped by a restart, a pooler or a firewall, and is pinged first: if dead, the whole
pool is recycled and the request gets a new connection, unseen.

What this gives up: a database restart within the 10 s after a worker's last request fails
that worker's next request (a 503 with Retry-After: the exam page retries it, practice lets
the learner send the answer again; nothing acknowledged is lost), and SQLAlchemy then
recycles the pool. A restart is an outage anyway: requests during it fail alike.
"""

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError

#: a connection idle this long is pinged before use
PING_AFTER_IDLE_SECONDS = 10.0
#: where the checkin time is kept in the connection record's info
CHECKED_IN = "checked_in_at"

monotonic = time.monotonic


def ping(dbapi_connection) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    # The ping opened a transaction (the driver is not in autocommit): leave it clean.
    dbapi_connection.rollback()


def ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def note_checkin(dbapi_connection, record) -> None:
        record.info[CHECKED_IN] = monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        checked_in = record.info.get(CHECKED_IN)  # None: connected just now
        if checked_in is None or monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return
        try:
            ping(dbapi_connection)
        except Exception as error:
            # The pool recycles every connection (the server went away for all of them)
            # and checks out a new one.
            raise InvalidatePoolError("pooled connection found dead by its ping") from error
