"""Account rules: passwords and what administrators may change."""

import re
from dataclasses import dataclass

from sqlalchemy import select

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.passwords import (
    PersonalData,
    generate_temporary_password,
    hash_password,
    policy_error,
    verify_password,
)
from core.roles import PRIVILEGED_ROLES, Role
from training import logins
from training.logins import find_by_login
from training.models import PasswordHistory, Unit, User, subtree_ids
from training.privacy import mask_id_number, mask_phone

# Roles a unit admin may hand out inside the unit subtree; the rest only a system admin.
UNIT_ADMIN_GRANTABLE = frozenset({Role.LEARNER, Role.TRAINER})

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
PHONE_PATTERN = re.compile(r"^1\d{10}$")
ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dXx]$")


PRIVILEGED_ALONE = (
    "系统管理员、安全管理员、审计管理员须由三人分别担任，且不兼任其他角色（三员分立）"
)


# A new password may not be any of the user's last this many (等保 L3).
PASSWORD_HISTORY = 5


class AccountError(ServiceError):
    """A rule of accounts or units was broken; the message is shown to the user as is."""

    code = "account_rule"


def change_password(actor: Actor, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise AccountError("当前密码不正确。")
    if new == current:
        raise AccountError("新密码不能与当前密码相同。")
    if error := policy_error(new, personal_data(user)):
        raise AccountError(error)
    earlier = db.session.scalars(
        select(PasswordHistory)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
    ).all()
    if any(verify_password(row.password_hash, new) for row in earlier[:PASSWORD_HISTORY]):
        raise AccountError(f"新密码不能与最近 {PASSWORD_HISTORY} 次使用过的密码相同。")
    for row in earlier[PASSWORD_HISTORY - 1 :]:
        db.session.delete(row)
    user.password_hash = hash_password(new)
    db.session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    user.must_change_password = False
    user.password_changed_at = clock.now()
    user.session_version += 1
    record(actor, "password.change", object_type="user", object_id=user.id)


def personal_data(user: User) -> PersonalData:
    return PersonalData(user.login, user.name, user.phone, user.id_number)


# --- administration ---------------------------------------------------------------


def manageable_unit_ids(admin: User) -> set[int] | None:
    """Units `admin` may manage: None means all (system admin)."""
    if Role.SYSTEM_ADMIN in admin.roles:
        return None
    if Role.UNIT_ADMIN in admin.roles:
        return subtree_ids(admin.unit_id)
    return set()


def can_manage_unit(admin: User, unit_id: int) -> bool:
    scope = manageable_unit_ids(admin)
    return scope is None or unit_id in scope


def grantable_roles(admin: User) -> list[Role]:
    if Role.SYSTEM_ADMIN in admin.roles:
        return list(Role)
    return [role for role in Role if role in UNIT_ADMIN_GRANTABLE]


@dataclass
class UserData:
    """What an administrator enters for a user, on the form or in an import row."""

    login: str
    name: str
    unit_id: int
    position: str = ""
    is_leader: bool = False
    is_enforcement_officer: bool = False
    phone: str = ""
    id_number: str = ""
    roles: frozenset[Role] = frozenset({Role.LEARNER})


def check_user_data(admin: User, data: UserData, existing: User | None = None) -> dict[str, str]:
    """Field name → Chinese message for every rule `data` breaks; the form and import share it."""
    errors = {}
    if not LOGIN_PATTERN.match(data.login):
        errors["login"] = "账号须为 2–64 位字母、数字或 _ . @ -"
    else:
        other = find_by_login(data.login)
        if other is not None and other is not existing:
            errors["login"] = f"账号「{data.login}」已存在"
    if not data.name.strip():
        errors["name"] = "姓名不能为空"
    if db.session.get(Unit, data.unit_id) is None:
        errors["unit_id"] = "单位不存在"
    elif not can_manage_unit(admin, data.unit_id):
        errors["unit_id"] = "您无权管理该单位的用户"
    if data.phone and not PHONE_PATTERN.match(data.phone):
        errors["phone"] = "手机号须为 11 位数字"
    if data.id_number and not ID_NUMBER_PATTERN.match(data.id_number):
        errors["id_number"] = "身份证号须为 18 位（末位可为 X）"
    if not data.roles:
        errors["roles"] = "至少选择一个角色"
    elif data.roles & PRIVILEGED_ROLES and len(data.roles) > 1:
        errors["roles"] = PRIVILEGED_ALONE
    else:
        current = existing.roles if existing else set()
        forbidden = (data.roles ^ current) - set(grantable_roles(admin))
        if forbidden:
            names = "、".join(role.label for role in Role if role in forbidden)
            errors["roles"] = f"您无权授予或撤销角色：{names}"
    return errors


def create_user(actor: Actor, admin: User, data: UserData) -> tuple[User, str]:
    """Create an account with a temporary password, returned once for the administrator."""
    if errors := check_user_data(admin, data):
        raise AccountError("；".join(errors.values()))
    password = generate_temporary_password()
    user = User(password_hash=hash_password(password), must_change_password=True)
    _apply(user, data)
    db.session.add(user)
    db.session.flush()
    record(
        actor,
        "user.create",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
        detail={"roles": sorted(data.roles), "unit_id": data.unit_id},
    )
    return user, password


def update_user(actor: Actor, admin: User, user: User, data: UserData) -> None:
    if not can_manage_unit(admin, user.unit_id):
        raise AccountError("您无权管理该用户")
    if errors := check_user_data(admin, data, existing=user):
        raise AccountError("；".join(errors.values()))
    before = _snapshot(user)
    old_roles = user.roles
    _apply(user, data)
    after = _snapshot(user)
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    for key, mask in (("phone", mask_phone), ("id_number", mask_id_number)):
        if key in changed:
            changed[key] = [mask(value) for value in changed[key]]
    if changed:
        record(
            actor,
            "user.update",
            object_type="user",
            object_id=user.id,
            summary=f"{user.name}（{user.login}）",
            detail=changed,
        )
    if old_roles != user.roles:
        record(
            actor,
            "user.roles",
            object_type="user",
            object_id=user.id,
            summary=f"{user.name}（{user.login}）",
            detail={"before": sorted(old_roles), "after": sorted(user.roles)},
        )


def _apply(user: User, data: UserData) -> None:
    user.login = data.login.strip()
    user.name = data.name.strip()
    user.unit_id = data.unit_id
    user.position = data.position.strip()
    user.is_leader = data.is_leader
    user.is_enforcement_officer = data.is_enforcement_officer
    user.phone = data.phone
    user.id_number = data.id_number.upper()
    user.set_roles(data.roles)


def _snapshot(user: User) -> dict:
    """Fields whose changes go to the audit trail (personal numbers masked there)."""
    return {
        "login": user.login,
        "name": user.name,
        "unit_id": user.unit_id,
        "position": user.position,
        "is_leader": user.is_leader,
        "is_enforcement_officer": user.is_enforcement_officer,
        "phone": user.phone,
        "id_number": user.id_number,
    }


def _require_scope(admin: User, user: User) -> None:
    if not can_manage_unit(admin, user.unit_id):
        raise AccountError("您无权管理该用户")
    if user.id == admin.id:
        raise AccountError("不能对自己的账号执行此操作")


def set_active(actor: Actor, admin: User, user: User, active: bool) -> None:
    _require_scope(admin, user)
    user.is_active = active
    if not active:
        user.session_version += 1
    record(
        actor,
        "user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
    )


def reset_password(actor: Actor, admin: User, user: User) -> str:
    """Give `user` a new temporary password that must be changed at the next login."""
    _require_scope(admin, user)
    password = generate_temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.session_version += 1
    logins.unlock(user)
    record(
        actor,
        "user.password_reset",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
    )
    return password


def unlock(actor: Actor, admin: User, user: User) -> None:
    _require_scope(admin, user)
    logins.unlock(user)
    record(
        actor,
        "user.unlock",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
    )
