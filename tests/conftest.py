"""Fixtures: an app on a freshly migrated database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), clients, a login helper, a clock tests can move, and the
factories of tests/factories.py behind fixtures."""

import contextlib
import contextvars
import os
import shutil
from itertools import count

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

from app import create_app
from core import clock
from core.audit import SYSTEM
from core.extensions import db, limiter
from core.passwords import hash_password
from core.roles import Role
from question_bank import bank, queries
from training.exams import attempts
from training.models import Unit, User

from . import factories

PASSWORD = "Passw0rd!"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production, even while the test
    holds one for its factories: nothing (g, the db session) leaks between requests."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """Run the real migrations once; tests then start from this schema."""
    url = POSTGRES_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.db'}"
    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _clear_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        tables = connection.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).all()
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    engine.dispose()


@pytest.fixture
def app(migrated_database, tmp_path):
    if POSTGRES_URL:
        url = migrated_database
    else:
        path = tmp_path / "test.db"
        shutil.copy(migrated_database.removeprefix("sqlite:///"), path)
        url = f"sqlite:///{path}"
    app = create_app(_config(url) | {"OUTAGE_DIR": str(tmp_path / "outages")})
    app.test_client_class = FreshContextClient
    limiter.reset()
    # Each test has a fresh database whose ids and (frozen-clock) times repeat: a pool
    # cached per process for the previous test's exam 1 is not this test's (nor a version text).
    attempts._POOLS.clear()
    queries._VERSION_TEXTS.clear()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if POSTGRES_URL:
        _clear_postgres(url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_serial = count(1)


@pytest.fixture
def make_unit(app):
    def factory(name: str | None = None, parent: Unit | None = None) -> Unit:
        unit = Unit(name=name or f"单位{next(_serial)}", parent=parent)
        db.session.add(unit)
        db.session.commit()
        return unit

    return factory


@pytest.fixture
def root_unit(make_unit):
    return make_unit("测试区人民政府")


_password_hash = None


@pytest.fixture
def make_user(app, root_unit):
    def factory(
        *roles: Role,
        login: str | None = None,
        unit: Unit | None = None,
        password: str = PASSWORD,
        must_change_password: bool = False,
        **fields,
    ) -> User:
        global _password_hash
        if password == PASSWORD:
            _password_hash = _password_hash or hash_password(PASSWORD)
            password_hash = _password_hash
        else:
            password_hash = hash_password(password)
        number = next(_serial)
        user = User(
            login=login or f"user{number}",
            name=fields.pop("name", f"测试用户{number}"),
            unit=unit or root_unit,
            password_hash=password_hash,
            must_change_password=must_change_password,
            **fields,
        )
        user.set_roles(roles or {Role.LEARNER})
        db.session.add(user)
        db.session.commit()
        return user

    return factory


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_login, password: str = PASSWORD):
        login = getattr(user_or_login, "login", user_or_login)
        return self._client.post("/login", data={"login": login, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(client, make_user, auth):
    """Log the client in as a new user holding `roles`; returns the user."""

    def do(*roles: Role, **fields) -> User:
        user = make_user(*roles, **fields)
        response = auth.login(user)
        assert response.status_code == 302, response.text
        return user

    return do


@pytest.fixture
def frozen_clock(monkeypatch):
    """The server clock stopped at the test's start; a test moves it with
    `frozen_clock.now = ...` (clock.now() then returns that, everywhere)."""

    class Clock:
        now = clock.now()

    monkeypatch.setattr(clock, "now", lambda: Clock.now)
    return Clock


@pytest.fixture
def law(app):
    """宪法 and 行政处罚法 in the law library (factories.add_questions cites them)."""
    law = bank.add_law(SYSTEM, "宪法", "2018年修正")
    bank.add_law(SYSTEM, "行政处罚法", "2021年修订")
    db.session.commit()
    return law


@pytest.fixture
def questions(app):
    """factories.standard_bank(): enough for the standard sections."""
    return factories.standard_bank()


@pytest.fixture
def learner(make_user):
    return make_user(name="张三")


@pytest.fixture
def exam(questions, learner):
    """A published exam of the standard sections, `learner` on its roster."""
    return factories.make_exam(roster=[learner])


@pytest.fixture
def count_queries(app):
    """`with count_queries() as queries:` ... `len(queries)`: the statements sent to the
    database meanwhile (by any request or code of the test); `queries.many` holds those
    sent with many parameter sets at once (executemany)."""

    class Statements(list):
        many: list[str]

    @contextlib.contextmanager
    def counting():
        statements = Statements()
        statements.many = []

        def note(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)
            if executemany:
                statements.many.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", note)

    return counting
