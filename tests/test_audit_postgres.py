"""On PostgreSQL: the app's role owns nothing and only appends to the log; concurrent
writers never fork the chain. Skipped on SQLite (no roles, one writer at a time)."""

import threading
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DatabaseError

from app import create_app
from core.audit import SYSTEM, AuditEntry, record
from core.extensions import db
from tests.conftest import POSTGRES_URL, _config
from tests.test_audit_chain import append_old, entries
from training.models import Unit

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")


def test_concurrent_writers_do_not_fork_the_chain(app, runner):
    writers, each = 8, 5
    barrier = threading.Barrier(writers)
    errors = []

    def write(number: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for step in range(each):
                    record(SYSTEM, "login.success", summary=f"{number}-{step}")
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # reported below with the test's failure
            errors.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    rows = entries()
    assert len(rows) == writers * each
    assert len({row.prev_hash for row in rows}) == len(rows)  # no two entries share a parent
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"共 {len(rows)} 条" in result.output


@pytest.fixture
def separate_roles(migrated_database):
    """A fresh database owned by a migration role, and an app role that owns nothing."""
    suffix = uuid.uuid4().hex[:8]
    owner, site, name = f"xuefa_owner_{suffix}", f"xuefa_app_{suffix}", f"xuefa_roles_{suffix}"
    base = make_url(POSTGRES_URL)
    admin = create_engine(
        base.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {owner} LOGIN"))
        connection.execute(text(f"CREATE ROLE {site} LOGIN"))
        connection.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    try:
        yield (
            site,
            base.set(username=owner, database=name).render_as_string(hide_password=False),
            base.set(username=site, database=name).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"DROP ROLE IF EXISTS {site}"))
            connection.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


def test_the_app_role_owns_nothing_and_can_only_append_to_the_log(separate_roles):
    site_role, owner_url, site_url = separate_roles
    owner_app = create_app(_config(owner_url))
    with owner_app.app_context():
        upgrade()
        granted = owner_app.test_cli_runner().invoke(args=["audit", "grant-app-role", site_role])
        assert granted.exit_code == 0, granted.output
        append_old(days_ago=200, count=2)  # entries from before the retention period
        db.session.remove()
        db.engine.dispose()

    site_app = create_app(_config(site_url))
    with site_app.app_context():
        # What the site needs works: its own tables, and appending to the log.
        unit = Unit(name="区司法局")
        db.session.add(unit)
        db.session.flush()
        unit.name = "区司法局（改）"
        db.session.flush()
        db.session.delete(unit)
        record(SYSTEM, "login.success", summary="应用写入")
        db.session.commit()
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 3

        refused = {
            "UPDATE audit_log SET summary = '篡改'": "permission denied",
            "DELETE FROM audit_log": "permission denied",
            "TRUNCATE audit_log": "permission denied",
            "ALTER TABLE audit_log DISABLE TRIGGER USER": "must be owner",
            "DROP TRIGGER audit_log_no_update ON audit_log": "must be owner",
            "DROP TABLE audit_log": "must be owner",
            "CREATE OR REPLACE FUNCTION audit_log_keep_young() RETURNS trigger AS "
            "$$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql": "permission denied|must be owner",
            "CREATE TABLE mine (id int)": "permission denied",
            "UPDATE alembic_version SET version_num = 'x'": "permission denied",
        }
        for statement, reason in refused.items():
            with pytest.raises(DatabaseError, match=reason):
                db.session.execute(text(statement))
            db.session.rollback()
        newest = db.session.scalar(select(func.max(AuditEntry.id)))
        with pytest.raises(DatabaseError, match="younger than 180 days"):
            db.session.execute(text("SELECT audit_log_purge(:id)"), {"id": newest})
        db.session.rollback()

        # The one way to delete: the purge, past the retention period, itself recorded.
        runner = site_app.test_cli_runner()
        purged = runner.invoke(args=["audit", "purge"])
        assert purged.exit_code == 0, purged.output
        assert "已清理 2 条" in purged.output
        assert [entry.action for entry in entries()] == ["login.success", "audit.purge"]
        verified = runner.invoke(args=["audit", "verify"])
        assert verified.exit_code == 0, verified.output
        db.session.remove()
        db.engine.dispose()
