from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core import clock
from core.audit import SYSTEM, AuditEntry, record
from core.extensions import db
from core.roles import Role


def test_audit_log_is_append_only_in_the_database(app):
    record(SYSTEM, "login.success", summary="原始记录")
    db.session.commit()
    for statement in ("UPDATE audit_log SET summary = '篡改'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(AuditEntry.summary)) == "原始记录"


def test_entry_records_who_what_when_where_and_object(client, make_user, auth):
    user = make_user()
    client.post(
        "/login",
        data={"login": user.login, "password": "Passw0rd!"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.actor_id, entry.actor_login, entry.ip, entry.action) == (
        user.id,
        user.login,
        "10.1.2.3",
        "login.success",
    )
    assert (entry.object_type, entry.object_id) == ("user", str(user.id))
    assert abs(entry.created_at - clock.now()) < timedelta(minutes=1)


def test_system_admin_cannot_read_the_audit_log(client, login_as):
    login_as(Role.SYSTEM_ADMIN)
    assert client.get("/audit/").status_code == 403


def test_auditor_reads_and_filters_but_cannot_change_anything(client, login_as, make_user):
    admin = make_user(Role.SYSTEM_ADMIN, login="sysadmin")
    target = make_user(login="target")
    admin_client = client.application.test_client()
    admin_client.post("/login", data={"login": "sysadmin", "password": "Passw0rd!"})
    admin_client.post(f"/admin/users/{target.id}/deactivate")

    login_as(Role.AUDITOR, login="auditor1")
    page = client.get("/audit/").text
    assert "停用用户" in page and "sysadmin" in page and "登录成功" in page
    assert f"用户 #{target.id}" in page
    only_deactivations = client.get("/audit/?action=user.deactivate").text.split("<tbody>")[1]
    assert "停用用户" in only_deactivations and "登录成功" not in only_deactivations
    by_actor = client.get("/audit/?actor=auditor1").text
    assert "auditor1" in by_actor and "sysadmin" not in by_actor.split("<tbody>")[1]
    today = (clock.now() + clock.CHINA_TZ_OFFSET).date()
    in_range = client.get(f"/audit/?since={today}&until={today}").text
    assert "停用用户" in in_range
    tomorrow = today + timedelta(days=1)
    assert "没有符合条件的记录" in client.get(f"/audit/?since={tomorrow}").text
    bad_date = client.get("/audit/?since=not-a-date")
    assert bad_date.status_code == 200 and "日期格式应为 年-月-日" in bad_date.text

    count = db.session.scalar(select(func.count(AuditEntry.id)))
    for url in ("/admin/users/new", f"/admin/users/{admin.id}/deactivate", "/admin/units"):
        assert client.post(url, data={"name": "x"}).status_code == 403
    assert db.session.scalar(select(func.count(AuditEntry.id))) == count
