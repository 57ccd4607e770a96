from sqlalchemy import func, select

from core.audit import AuditEntry
from core.extensions import db
from core.passwords import verify_password
from core.roles import Role
from training.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from training.exams.models import Exam
from training.models import Unit, User


def test_create_admin(runner):
    result = runner.invoke(
        args=["create-admin", "--login", "root", "--name", "管理员", "--unit", "某区人民政府"],
        input="Str0ng-pass\nStr0ng-pass\n",
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.login == "root"))
    assert admin.roles == {Role.SYSTEM_ADMIN} and admin.unit.name == "某区人民政府"
    assert verify_password(admin.password_hash, "Str0ng-pass")
    assert db.session.scalar(select(AuditEntry.action)) == "admin.create_cli"


def test_create_admin_creates_each_of_the_three_privileged_roles_alone(runner):
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR):
        result = runner.invoke(
            args=[
                "create-admin",
                "--role",
                role.value,
                *("--login", f"first_{role.value}", "--name", "管理员", "--unit", "某区人民政府"),
                *("--password", "Str0ng-pass"),
            ]
        )
        assert result.exit_code == 0, result.output
        assert f"已创建{role.label}" in result.output
        user = db.session.scalar(select(User).where(User.login == f"first_{role.value}"))
        assert user.roles == {role}
    ordinary = runner.invoke(
        args=["create-admin", "--role", "trainer", "--login", "t", "--name", "a", "--unit", "区"]
    )
    assert ordinary.exit_code != 0
    assert db.session.scalar(select(func.count(User.id))) == 3


def test_create_admin_enforces_the_password_policy_and_unique_login(runner):
    weak = runner.invoke(
        args=["create-admin", "--login", "root", "--name", "管理员", "--unit", "区政府"],
        input="weakpass\nweakpass\n",
    )
    assert weak.exit_code != 0 and "至少三类" in weak.output
    assert db.session.scalar(select(func.count(User.id))) == 0
    ok = [
        "create-admin",
        "--login",
        "root",
        "--name",
        "a",
        "--unit",
        "区政府",
        "--password",
        "Str0ng-pass",
    ]
    assert runner.invoke(args=ok).exit_code == 0
    again = runner.invoke(args=ok)
    assert again.exit_code != 0 and "已存在" in again.output


def test_seed_demo_is_idempotent_and_every_demo_account_logs_in(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "已载入演示数据" in first.output
    units = db.session.scalar(select(func.count(Unit.id)))
    users = db.session.scalar(select(func.count(User.id)))
    assert units >= 12 and users >= 40
    second = runner.invoke(args=["seed-demo"])
    assert "已存在" in second.output
    assert db.session.scalar(select(func.count(User.id))) == users
    roles_seen = set()
    for login, *_ in DEMO_ACCOUNTS:
        client = app.test_client()
        response = client.post("/login", data={"login": login, "password": DEMO_PASSWORD})
        assert response.status_code == 302, login
        home = client.get("/")
        assert home.status_code == 200 and "您好" in home.text
        roles_seen |= db.session.scalar(select(User).where(User.login == login)).roles
    assert roles_seen == set(Role)


def test_seed_demo_opens_exams_for_the_demo_learners(runner, app):
    runner.invoke(args=["seed-demo"])
    exams = db.session.scalars(
        select(Exam).where(Exam.kind != "module_quiz").order_by(Exam.id)
    ).all()
    assert [exam.status for exam in exams] == ["published", "published"]
    for login, title in (("newcadre", "任前学法考试"), ("officer", "行政执法证考试模拟测试")):
        client = app.test_client()
        client.post("/login", data={"login": login, "password": DEMO_PASSWORD})
        page = client.get("/exams/").text
        assert title in page and "可参加" in page, login


def test_seed_demo_refuses_a_database_that_has_accounts(runner, app, make_user, monkeypatch):
    monkeypatch.delenv("XUEFA_DEMO", raising=False)
    make_user(login="real-person")
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "XUEFA_DEMO=1" in refused.output
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert "演示站点" not in app.test_client().get("/login").text
    monkeypatch.setenv("XUEFA_DEMO", "1")
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert "这是演示站点" in app.test_client().get("/login").text


def test_admin_password_resets_a_privileged_account_with_a_temporary_password(runner, make_user):
    auditor = make_user(Role.AUDITOR, login="audit1")
    before = auditor.session_version
    unknown = runner.invoke(args=["admin-password", "nobody"], input="N3w-Str0ng!pw\n" * 2)
    assert unknown.exit_code != 0 and "不存在" in unknown.output
    weak = runner.invoke(args=["admin-password", "audit1"], input="audit1audit1\n" * 2)
    assert weak.exit_code != 0
    result = runner.invoke(args=["admin-password", "audit1"], input="N3w-Str0ng!pw\n" * 2)
    assert result.exit_code == 0, result.output
    db.session.refresh(auditor)
    assert verify_password(auditor.password_hash, "N3w-Str0ng!pw")
    assert auditor.must_change_password and auditor.session_version == before + 1
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry.action == "admin.password_cli" and entry.object_id == str(auditor.id)
