import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core import audit, clock
from core.audit import SYSTEM, Actor, AuditEntry, record
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
    assert f"用户 {target.name}（target）" in page
    only_deactivations = client.get("/audit/?action=user.deactivate").text.split("<tbody>")[1]
    assert "停用用户" in only_deactivations and "登录成功" not in only_deactivations
    by_actor = client.get("/audit/?actor=auditor1").text
    assert "auditor1" in by_actor and "sysadmin" not in by_actor.split("<tbody>")[1]
    today = clock.china_today()
    in_range = client.get(f"/audit/?since={today}&until={today}").text
    assert "停用用户" in in_range
    tomorrow = today + timedelta(days=1)
    assert "没有符合条件的记录" in client.get(f"/audit/?since={tomorrow}").text
    bad_date = client.get("/audit/?since=not-a-date")
    assert bad_date.status_code == 200 and "日期格式应为 年-月-日" in bad_date.text

    last = db.session.scalar(select(func.max(AuditEntry.id)))
    urls = ("/admin/users/new", f"/admin/users/{admin.id}/deactivate", "/admin/units")
    for url in urls:
        assert client.post(url, data={"name": "x"}).status_code == 403
    # Each refusal is recorded; nothing else happened.
    added = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last)).all()
    assert [(entry.action, entry.detail_dict["path"]) for entry in added] == [
        ("request.refused", url) for url in urls
    ]


def audit_rows(client, query: str = "") -> str:
    return client.get(f"/audit/{query}").text.split("<tbody>")[1].split("</tbody>")[0]


def test_details_read_in_chinese_with_names_kept_as_they_were(
    client, login_as, make_user, make_unit
):
    bureau = make_unit("区司法局")
    first = make_user(name="张三", login="zhangsan", unit=bureau)
    second = make_user(name="李四", login="lisi")
    admin = make_user(Role.SYSTEM_ADMIN, name="王管理", login="boss")
    actor = Actor(admin.id, admin.login, "10.0.0.9")
    record(
        actor,
        "user.roles",
        object_type="user",
        object_id=first.id,
        detail={"before": ["learner"], "after": ["learner", "trainer"]},
    )
    record(
        actor,
        "user.update",
        object_type="user",
        object_id=first.id,
        detail={"unit_id": [bureau.id, second.unit_id], "is_leader": [False, True]},
    )
    record(
        actor,
        "batch.roster",
        object_type="batch",
        object_id=99,
        detail={"users": [first.id, second.id]},
    )
    record(actor, "something.new", detail={"odd_key": "值"})
    db.session.commit()
    # Later renames do not rewrite history.
    first.name, bureau.name, admin.name = "张三丰", "区司法局（新）", "改名"
    db.session.commit()

    login_as(Role.AUDITOR)
    rows = audit_rows(client)
    assert "用户 张三（zhangsan）" in rows and "王管理（boss）" in rows
    assert "原角色：</span>学员" in rows and "新角色：</span>学员、培训出题人员" in rows
    assert "单位：</span>区司法局 → 测试区人民政府" in rows
    assert "领导干部：</span>否 → 是" in rows
    assert "人员：</span>张三（zhangsan）、李四（lisi）" in rows
    assert "考试场次 #99" in rows
    assert "something.new" in rows and "odd_key：</span>值" in rows
    assert "张三丰" not in rows and "区司法局（新）" not in rows and "改名" not in rows
    assert "{" not in rows and '"users"' not in rows
    assert "北京时间" in client.get("/audit/").text


def test_who_acted_without_an_account_and_changed_numbers_read_in_chinese(
    client, login_as, make_user
):
    user = make_user(login="zhaoliu", phone="13912345678")
    client.post("/login", data={"login": "nobody-here", "password": "x"})
    record(SYSTEM, "user.update", object_type="user", object_id=user.id)
    admin = login_as(Role.SYSTEM_ADMIN)
    form = {"login": "zhaoliu", "name": user.name, "unit_id": user.unit_id, "roles": "learner"}
    client.post(f"/admin/users/{user.id}/edit", data=form | {"phone": "13912340000"})
    update = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.update", AuditEntry.actor_id == admin.id
        )
    )
    # A changed phone is recorded even when its mask looks alike; the log shows masks only.
    assert update.detail_dict == {"phone": ["139****5678", "139****0000"]}
    client.post("/logout")

    login_as(Role.AUDITOR)
    rows = audit_rows(client)
    assert "未登录的访客" in rows and "系统（自动）" in rows
    assert "anonymous" not in rows and ">system<" not in rows
    assert "手机号：</span>139****5678 → 139****0000" in rows
    assert "13912345678" not in rows and "13912340000" not in rows


def test_a_long_detail_folds_and_the_log_has_no_english_keys(client, login_as, make_user):
    people = [make_user(name=f"人员{n:02d}") for n in range(12)]
    record(
        SYSTEM,
        "batch.roster",
        object_type="batch",
        object_id=1,
        detail={"users": [person.id for person in people]},
    )
    record(
        SYSTEM,
        "attempt.reopen",
        object_type="attempt",
        object_id=5,
        detail={
            "outage": 3,
            "minutes": 10,
            "before": {
                "score": "8.00",
                "deadline_at": "2026-03-02 01:30:00",
                "submitted_at": "2026-03-02 01:31:00",
                "submitted_by": "deadline",
            },
        },
    )
    db.session.commit()
    login_as(Role.AUDITOR)
    rows = audit_rows(client)
    assert "<details" in rows and "人员11" in rows.split("<details")[1]
    assert "截止时间 2026-03-02 09:30（北京时间）" in rows
    assert "交卷方式 到时自动交卷" in rows and "成绩 8.00 分" in rows
    for key in ("deadline_at", "submitted_by", "score", "outage"):
        assert key not in rows


def test_the_auditors_searches_are_audited_with_the_filters_used(client, login_as):
    auditor = login_as(Role.AUDITOR, login="auditor1")
    today = clock.china_today()
    client.get(f"/audit/?action=user.deactivate&since={today}&actor=boss&page=2")
    client.get("/audit/?since=not-a-date")
    searches = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "audit.search").order_by(AuditEntry.id)
    ).all()
    assert [entry.actor_id for entry in searches] == [auditor.id] * 2
    assert searches[0].detail_dict == {
        "filters": {"actor_login": "boss", "action": "user.deactivate", "since": str(today)},
        "page": 2,
        "found": 0,
    }
    assert "filters" not in searches[1].detail_dict  # a malformed filter shows everything

    rows = audit_rows(client, "?action=audit.search")
    assert f"筛选条件：</span>操作人账号 boss，操作 停用用户，起始日期 {today}" in rows
    assert "页码：</span>2" in rows and "actor_login" not in rows


def test_export_of_the_filtered_log_is_guarded_and_audited(client, login_as, make_user):
    target = make_user(name="赵六", login="zhaoliu")
    hostile = '=HYPERLINK("http://evil.example","点此")'
    record(SYSTEM, "user.deactivate", object_type="user", object_id=target.id, summary=hostile)
    record(SYSTEM, "user.activate", object_type="user", object_id=target.id)
    db.session.commit()
    auditor = login_as(Role.AUDITOR)

    response = client.post("/audit/export?action=user.deactivate&page=3")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "审计日志（操作：停用用户）"
    assert rows[1][:3] == ["编号", "时间（北京时间）", "操作人"]
    assert len(rows) == 3  # the deactivation only
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.deactivate"))
    assert rows[2][0] == entry.id and rows[2][9] == entry.entry_hash
    assert rows[2][2] == "系统（自动）" and rows[2][6] == "用户 赵六（zhaoliu）"
    summary_cell = sheet.cell(row=3, column=8)
    assert summary_cell.value == hostile and summary_cell.data_type == "s"
    assert summary_cell.quotePrefix

    export = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.export"))
    assert export.actor_id == auditor.id
    assert export.detail_dict == {"filters": {"action": "user.deactivate"}, "rows": 1}

    refused = client.post("/audit/export?since=not-a-date", headers={"Referer": "/audit/"})
    assert refused.status_code == 302
    assert "筛选条件有误" in client.get("/audit/").text
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "audit.export")
        )
        == 1
    )


def test_an_export_too_large_is_refused_in_chinese(client, login_as, monkeypatch):
    monkeypatch.setattr(audit, "EXPORT_MAX_ROWS", 1)
    record(SYSTEM, "user.activate")
    db.session.commit()
    login_as(Role.AUDITOR)  # a second entry
    response = client.post("/audit/export", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert (
        response.json["error"] == "audit_refused" and "请缩小日期范围" in response.json["message"]
    )
    assert not db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "audit.export"))
