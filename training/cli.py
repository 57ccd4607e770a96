"""Command-line tools: `flask create-admin`, `flask admin-password`, `flask seed-demo`."""

import os

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, record
from core.extensions import db
from core.passwords import PersonalData, hash_password, policy_error
from core.roles import PRIVILEGED_ROLES, Role
from training import logins
from training.accounts import LOGIN_PATTERN, find_by_login, personal_data
from training.demo import DEMO_PASSWORD, demo_present
from training.demo import seed_demo as seed_demo_data
from training.models import Unit, User
from training.units import find_by_path_or_name

PRIVILEGED_CHOICES = sorted(role.value for role in PRIVILEGED_ROLES)


@click.command("create-admin")
@click.option(
    "--role",
    "role_value",
    type=click.Choice(PRIVILEGED_CHOICES),
    default=Role.SYSTEM_ADMIN.value,
    show_default=True,
    help="system_admin 系统管理员 / security_admin 安全管理员 / auditor 审计管理员",
)
@click.option("--login", prompt="账号", help="管理员账号")
@click.option("--name", prompt="姓名", help="管理员姓名")
@click.option("--unit", "unit_name", prompt="单位（不存在时新建为顶级单位）", help="所属单位")
@click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
@with_appcontext
def create_admin(role_value: str, login: str, name: str, unit_name: str, password: str) -> None:
    """Create a system, security or audit administrator: the three privileged accounts
    (三员) come from here only, each holding its one role."""
    role = Role(role_value)
    if not LOGIN_PATTERN.match(login):
        raise click.ClickException("账号须为 2–64 位字母、数字或 _ . @ -")
    if find_by_login(login) is not None:
        raise click.ClickException(f"账号「{login}」已存在")
    if error := policy_error(password, PersonalData(login=login, name=name)):
        raise click.ClickException(error)
    unit, _ = find_by_path_or_name(unit_name)
    if unit is None:
        unit = Unit(name=unit_name.strip())
        db.session.add(unit)
    user = User(
        login=login,
        name=name,
        unit=unit,
        password_hash=hash_password(password),
        must_change_password=False,
        password_changed_at=clock.now(),
    )
    user.set_roles({role})
    db.session.add(user)
    db.session.flush()
    record(
        SYSTEM,
        "admin.create_cli",
        object_type="user",
        object_id=user.id,
        summary=f"{role.label} {name}（{login}）",
        detail={"roles": [role.value]},
    )
    db.session.commit()
    click.echo(f"已创建{role.label}「{login}」。")


@click.command("admin-password")
@click.argument("login")
@click.password_option("--password", prompt="新密码", confirmation_prompt="再次输入新密码")
@with_appcontext
def admin_password(login: str, password: str) -> None:
    """Reset an account's password and lift its lock: the one way for the system admin,
    security admin and auditor accounts, which nobody can reset on the web (三员分立).
    The password is temporary: the owner must change it at the next login."""
    user = find_by_login(login)
    if user is None:
        raise click.ClickException(f"账号「{login}」不存在")
    if error := policy_error(password, personal_data(user)):
        raise click.ClickException(error)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.session_version += 1
    logins.unlock(user)
    record(
        SYSTEM,
        "admin.password_cli",
        object_type="user",
        object_id=user.id,
        summary=f"{user.role_labels} {user.name}（{user.login}）",
    )
    db.session.commit()
    click.echo(f"已重置「{login}」的密码并解除锁定；本人下次登录时须修改密码。")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the demo district, accounts (password Demo@2026) and content: only into an
    empty database, or where the environment says demo (XUEFA_DEMO=1, as bin/demo sets)."""
    if demo_present():
        click.echo("演示数据已存在，未做改动。")
        return
    if os.environ.get("XUEFA_DEMO") != "1" and db.session.scalar(select(User.id).limit(1)):
        raise click.ClickException(
            "数据库中已有账号，拒绝载入演示账号（公开密码），以免生产库出现演示账号。"
            "确属演示环境时请设置环境变量 XUEFA_DEMO=1 后重试。"
        )
    seed_demo_data()
    db.session.commit()
    click.echo(
        f"已载入演示数据。演示账号：admin、secadmin、auditor、trainer、unitadmin、leader、"
        f"officer、newcadre，密码均为 {DEMO_PASSWORD}"
    )
