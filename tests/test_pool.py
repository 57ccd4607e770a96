"""Pooled connections are pinged before use only after sitting idle."""

import pytest
from sqlalchemy import create_engine, text

from core import pool
from core.extensions import db

from .conftest import POSTGRES_URL


def pings_counted(monkeypatch) -> list:
    """Ours, and SQLAlchemy's own (pool_pre_ping) should it come back."""
    pings = []
    dialect = db.engine.dialect
    for owner, name in ((pool, "ping"), (dialect, "do_ping")):
        real = getattr(owner, name)

        def counted(dbapi_connection, real=real):
            pings.append(dbapi_connection)
            return real(dbapi_connection)

        monkeypatch.setattr(owner, name, counted)
    return pings


def idle_for(monkeypatch, seconds: float) -> None:
    now = pool.monotonic()
    monkeypatch.setattr(pool, "monotonic", lambda: now + seconds)


def test_a_connection_used_a_moment_ago_is_not_pinged(app, client, monkeypatch):
    assert client.get("/login").status_code == 200
    pings = pings_counted(monkeypatch)
    assert client.get("/login").status_code == 200
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(app, client, monkeypatch):
    assert client.get("/login").status_code == 200
    # The server dropped the pooled connections while they sat idle (reached through the
    # pool's queue: checking one out and back in would let the pool see it closed).
    for record in list(db.engine.pool._pool.queue):
        record.dbapi_connection.close()
    pings = pings_counted(monkeypatch)
    idle_for(monkeypatch, pool.PING_AFTER_IDLE_SECONDS + 1)
    assert client.get("/login").status_code == 200
    assert len(pings) == 1


def test_a_restart_just_after_use_fails_one_request_then_the_pool_recovers(
    app, client, monkeypatch
):
    """The price of not pinging busy connections: the next request after a restart gets
    the outage 503 (with Retry-After, which the pages retry), the one after it is served."""
    if not POSTGRES_URL:
        pytest.skip("a server to restart: PostgreSQL")
    assert client.get("/login").status_code == 200
    backends = [
        record.dbapi_connection.info.backend_pid for record in list(db.engine.pool._pool.queue)
    ]
    killer = create_engine(db.engine.url)
    with killer.begin() as connection:
        for pid in backends:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    failed = client.get("/login")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert client.get("/login").status_code == 200
