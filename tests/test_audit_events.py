"""What reaches the audit log besides changes: exports of keys, views of results and of
personal data, refusals, and never a password typed into the login field."""

from flask import abort
from sqlalchemy import or_, select

from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from tests import factories
from tests.conftest import PASSWORD
from training import logins
from training.models import LoginFailure, Unit


def entries(action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return db.session.scalars(stmt).all()


def audit_page(client, query: str) -> str:
    return client.get(f"/audit/{query}").text.split("<tbody>")[1].split("</tbody>")[0]


def test_bank_export_with_keys_is_audited_with_what_was_chosen(client, login_as, law):
    factories.add_questions("single", 3)  # cite 宪法
    factories.add_question("single", "不引用法律的题", ["甲", "乙"], [0])
    trainer = login_as(Role.TRAINER)
    response = client.get(f"/bank/export?format=xlsx&law_id={law.id}&status=all")
    assert response.status_code == 200
    (export,) = entries("question.export")
    cited = 3
    assert export.actor_id == trainer.id
    assert export.detail_dict == {
        "format": "xlsx",
        "exported": cited,
        "skipped": 0,
        "filters": {"law_id": law.id, "status": "all"},
    }
    client.post("/logout")
    login_as(Role.AUDITOR)
    rows = audit_page(client, "?action=question.export")
    assert "导出题库（含答案）" in rows and f"导出 {cited} 道试题" in rows
    assert "筛选条件：</span>法律 宪法，状态 全部（含已停用）" in rows
    assert "law_id" not in rows and "status" not in rows


def test_viewing_exam_results_is_audited_with_whose_were_shown(client, login_as, exam, learner):
    admin = login_as(Role.SYSTEM_ADMIN)
    assert client.get(f"/manage/exams/{exam.id}/results").status_code == 200
    (view,) = entries("exam.results")
    assert (view.actor_id, view.object_type, view.object_id) == (admin.id, "exam", str(exam.id))
    assert view.detail_dict == {"page": 1, "users": [learner.id]}
    assert view.name_of("user", learner.id) == f"张三（{learner.login}）"


def test_views_of_personal_data_are_audited(client, login_as, make_user):
    person = make_user(name="王五", phone="13912345678", id_number="14030219800101123X")
    admin = login_as(Role.SYSTEM_ADMIN)
    client.get("/admin/users?q=王五")
    client.get(f"/admin/users/{person.id}/edit")
    client.post(f"/admin/users/{person.id}/edit", data={"login": ""})  # a refused save
    (listing,) = entries("user.list")
    assert listing.actor_id == admin.id
    assert listing.detail_dict == {"users": [person.id], "query": {"q": "王五"}}
    (view,) = entries("user.view")  # the GET only: the refused POST is no new view
    assert (view.actor_id, view.object_id) == (admin.id, str(person.id))
    client.post("/logout")
    login_as(Role.AUDITOR)
    rows = audit_page(client, "?object_type=user")
    assert "查询用户（含个人信息）" in rows and "查看个人信息" in rows
    assert f"显示的人员：</span>王五（{person.login}）" in rows and "姓名或账号 王五" in rows


def test_refusals_are_audited_with_the_route_and_the_actor(app, client, login_as):
    learner = login_as(Role.LEARNER)
    assert client.get("/admin/users").status_code == 403
    assert client.post("/audit/export", headers={"Accept": "application/json"}).status_code == 403
    refused = entries("request.refused")
    assert [entry.actor_id for entry in refused] == [learner.id] * 2
    assert [entry.detail_dict for entry in refused] == [
        {"method": "GET", "path": "/admin/users"},
        {"method": "POST", "path": "/audit/export"},
    ]
    client.post("/logout")

    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    address = {"REMOTE_ADDR": "10.9.8.7"}
    for _ in range(2):
        client.post("/login", data={"login": "x", "password": "y"}, environ_base=address)
    limited = client.post("/login", data={"login": "x", "password": "y"}, environ_base=address)
    assert limited.status_code == 429
    (rate_limited,) = entries("request.rate_limited")
    assert (rate_limited.actor_id, rate_limited.actor_login) == (None, "anonymous")
    assert rate_limited.ip == "10.9.8.7"
    assert rate_limited.detail_dict == {"method": "POST", "path": "/login"}
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"

    login_as(Role.AUDITOR)
    rows = audit_page(client, "")
    assert "拒绝访问（无权限）" in rows and "拒绝访问（请求过于频繁）" in rows
    assert "请求方式：</span>提交（POST）" in rows and "页面地址：</span>/admin/users" in rows


def test_a_refusal_keeps_nothing_the_refused_request_did(app, make_user):
    """A view that changed something before it was refused: the change is undone, the
    refusal alone is kept."""

    def changes_then_refuses():
        db.session.add(Unit(name="不该留下的单位"))
        db.session.flush()
        abort(403)

    app.add_url_rule("/test/changes-then-refuses", view_func=changes_then_refuses)
    client = app.test_client()
    client.post("/login", data={"login": make_user().login, "password": PASSWORD})
    assert client.get("/test/changes-then-refuses").status_code == 403
    assert db.session.scalar(select(Unit).where(Unit.name == "不该留下的单位")) is None
    assert entries("request.refused")[0].detail_dict["path"] == "/test/changes-then-refuses"


def test_a_password_typed_as_the_login_is_stored_nowhere(client, make_user):
    user = make_user(login="zhangsan")
    typed = "Zhangsan@1990!"
    client.post("/login", data={"login": typed, "password": "whatever"})
    client.post("/login", data={"login": "zhangsan", "password": "wrong"})
    failures = entries("login.failure")
    assert [(entry.actor_id, entry.actor_login) for entry in failures] == [
        (None, "anonymous"),
        (user.id, "zhangsan"),
    ]
    leaked = select(AuditEntry.id).where(
        or_(
            *(
                column.contains(typed)
                for column in (
                    AuditEntry.actor_login,
                    AuditEntry.summary,
                    AuditEntry.detail,
                    AuditEntry.names,
                    AuditEntry.object_id,
                )
            )
        )
    )
    assert db.session.scalars(leaked).all() == []
    # Failures are still counted per typed name, under a keyed hash of it only.
    keys = db.session.scalars(select(LoginFailure.login)).all()
    assert typed not in keys and "zhangsan" not in keys
    assert sorted(keys) == sorted([logins.failure_key(typed), logins.failure_key("zhangsan")])
    assert db.session.get(LoginFailure, logins.failure_key(typed)).failures == 1
