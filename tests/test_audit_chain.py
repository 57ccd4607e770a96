"""The audit log's hash chain, `flask audit verify`, retention and `flask audit purge`."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from app import create_app
from core import audit, clock
from core.audit import GENESIS_HASH, SYSTEM, Actor, AuditEntry, record
from core.extensions import db


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def as_owner(*statements: str) -> None:
    """Tamper as the table's owner could: switch the guards off, change rows, switch back."""
    with db.engine.begin() as connection:
        if is_postgres():
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            guards = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
                )
            ).all()
            for name, _ in guards:
                connection.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            connection.execute(text(statement))
        if is_postgres():
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            for _, sql in guards:
                connection.execute(text(sql))
    db.session.expire_all()


def entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def record_three() -> list[AuditEntry]:
    for number in range(1, 4):
        record(SYSTEM, "login.success", summary=f"第{number}条")
        db.session.commit()
    return entries()


def written_by_hand(created_at, prev_hash: str, summary: str, action: str = "logout"):
    """An entry made past record() (as an intruder or an old release would), its hash
    computed; not added to the session."""
    entry = AuditEntry(
        created_at=created_at,
        actor_id=None,
        actor_login="system",
        ip="",
        action=action,
        object_type="",
        object_id="",
        summary=summary,
        detail="{}",
        names="{}",
        prev_hash=prev_hash,
    )
    entry.entry_hash = entry.compute_hash()
    return entry


def append_old(days_ago: int, count: int) -> None:
    """Entries as they would have been written `days_ago` days back, properly chained."""
    head = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    previous = head.entry_hash if head else GENESIS_HASH
    start = clock.now() - timedelta(days=days_ago)
    rows = []
    for number in range(count):
        entry = written_by_hand(
            start + timedelta(seconds=number), previous, f"旧记录{number}", "login.success"
        )
        previous = entry.entry_hash
        rows.append(entry)
    values = ", ".join(
        f"('{e.created_at.isoformat(sep=' ', timespec='microseconds')}', 'system', '', 'login.success', '', '', "
        f"'{e.summary}', '{{}}', '{{}}', '{e.prev_hash}', '{e.entry_hash}')"
        for e in rows
    )
    as_owner(
        "INSERT INTO audit_log (created_at, actor_login, ip, action, object_type, object_id, "
        f"summary, detail, names, prev_hash, entry_hash) VALUES {values}"
    )


def test_each_entry_links_to_the_one_before_and_carries_the_database_time(app, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2001, 1, 1))
    first, second, third = record_three()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.entry_hash and third.prev_hash == second.entry_hash
    assert all(entry.entry_hash == entry.compute_hash() for entry in (first, second, third))
    assert len({first.entry_hash, second.entry_hash, third.entry_hash}) == 3
    # The application's clock says 2001; the entries carry the database's time.
    monkeypatch.undo()
    assert abs(third.created_at - clock.now()) < timedelta(minutes=1)
    assert first.created_at <= second.created_at <= third.created_at


def test_entries_recorded_in_one_transaction_chain_in_order(app):
    record(SYSTEM, "login.success", summary="一")
    record(SYSTEM, "logout", summary="二")
    db.session.commit()
    first, second = entries()
    assert second.prev_hash == first.entry_hash


def test_a_rolled_back_entry_leaves_no_gap_in_the_chain(app, runner):
    record(SYSTEM, "login.success", summary="保留")
    db.session.commit()
    record(SYSTEM, "login.success", summary="回滚")
    db.session.rollback()
    record(SYSTEM, "logout", summary="之后")
    db.session.commit()
    kept, after = entries()
    assert after.prev_hash == kept.entry_hash
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_verify_reports_an_intact_chain(app, runner):
    record_three()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "审计日志完整：共 3 条，哈希链连续" in result.output


def test_verify_reports_a_changed_entry_whose_hash_was_recomputed(app, runner):
    _, second, third = record_three()
    second.summary = "篡改"
    forged = second.compute_hash()
    db.session.rollback()
    as_owner(
        f"UPDATE audit_log SET summary = '篡改', entry_hash = '{forged}' WHERE id = {second.id}"
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {second.id} 号与第 {third.id} 号记录之间的链接断开" in result.output


@pytest.mark.parametrize(
    "tampering, reports",
    [
        pytest.param(
            "UPDATE audit_log SET summary = '篡改' WHERE id = {second}",
            ["第 {second} 号记录的内容与其哈希不符", "已核对 1 条"],
            id="an_entry_changed_by_the_owner",
        ),
        pytest.param(
            "DELETE FROM audit_log WHERE id = {second}",
            ["第 {first} 号与第 {third} 号记录之间的链接断开"],
            id="a_missing_entry",
        ),
        pytest.param(
            "DELETE FROM audit_log WHERE id = {first}",
            ["第 {second} 号记录之前缺少记录"],
            id="missing_first_entries_without_a_recorded_purge",
        ),
    ],
)
def test_verify_reports_what_the_owner_did_to_the_log(app, runner, tampering, reports):
    first, second, third = record_three()
    ids = {"first": first.id, "second": second.id, "third": third.id}
    as_owner(tampering.format(**ids))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    for report in reports:
        assert report.format(**ids) in result.output


def test_verify_reports_an_appended_entry_dated_before_the_last_one(app, runner):
    (*_, last) = record_three()
    forged = written_by_hand(last.created_at - timedelta(hours=1), last.entry_hash, "倒填")
    if is_postgres():
        # The database itself refuses an entry that does not carry its own time.
        db.session.add(forged)
        with pytest.raises(DatabaseError, match="database's time"):
            db.session.commit()
        db.session.rollback()
        return
    db.session.add(forged)
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "时间早于前一条" in result.output


def test_postgres_refuses_an_entry_that_does_not_link_to_the_last(app):
    if not is_postgres():
        pytest.skip("a PostgreSQL trigger; SQLite relies on its single writer")
    record_three()
    now = db.session.scalar(text("SELECT timezone('UTC', clock_timestamp())"))
    forked = written_by_hand(now, GENESIS_HASH, "分叉")
    db.session.add(forked)
    with pytest.raises(DatabaseError, match="must link to the last entry"):
        db.session.commit()
    db.session.rollback()


# --- retention ---------------------------------------------------------------------


def test_purge_deletes_only_entries_past_retention_and_the_chain_still_verifies(app, runner):
    append_old(days_ago=200, count=3)
    append_old(days_ago=100, count=2)
    record(SYSTEM, "logout", summary="新记录")
    db.session.commit()
    result = runner.invoke(args=["audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "已清理 3 条超过 180 天的审计记录" in result.output
    summaries = [entry.summary for entry in entries()]
    assert summaries[:3] == ["旧记录0", "旧记录1", "新记录"]
    purge = entries()[-1]
    assert purge.action == "audit.purge" and purge.actor_login == "system"
    assert json.loads(purge.detail)["deleted"] == 3
    assert dict(purge.detail_lines())["清理条数"] == "3"
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "共 4 条" in verify.output
    # A second purge finds nothing more to delete and is recorded too.
    assert "已清理 0 条" in runner.invoke(args=["audit", "purge"]).output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_purge_keeps_the_configured_retention(app, runner):
    append_old(days_ago=200, count=2)
    app.config["AUDIT_RETENTION_DAYS"] = 365
    result = runner.invoke(args=["audit", "purge"])
    assert "已清理 0 条超过 365 天" in result.output
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 3


def test_retention_below_the_floor_is_refused(app):
    with pytest.raises(RuntimeError, match="at least 180"):
        create_app({"AUDIT_RETENTION_DAYS": 30, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(ValueError, match="至少保留 180 天"):
        audit.purge(SYSTEM, 179)


def test_the_database_refuses_to_delete_young_entries_even_through_the_purge_path(app):
    (*_, last) = record_three()
    statement = (
        "SELECT audit_log_purge(:id)" if is_postgres() else "DELETE FROM audit_log WHERE id <= :id"
    )
    with pytest.raises(DatabaseError, match="younger than 180 days"):
        db.session.execute(text(statement), {"id": last.id})
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 3


def test_core_holds_only_its_own_labels():
    # its own: the log's upkeep and reading, and the refusals core.web records
    assert all(action.startswith(("audit.", "request.")) for action in audit.LABELS.actions)
    assert not audit.LABELS.objects


def test_an_actor_without_an_account_is_recorded_by_login(app):
    record(Actor(None, "x" * 80, "10.0.0.1"), "login.failure")
    db.session.commit()
    (entry,) = entries()
    assert entry.actor_login == "x" * 64 and entry.actor_label == "x" * 64
