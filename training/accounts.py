"""Account rules: passwords and what administrators may change."""

import enum
import re
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import joinedload

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
from training.models import PasswordHistory, Unit, User, subtree_ids, users_matching
from training.privacy import mask_id_number, mask_phone

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
PHONE_PATTERN = re.compile(r"^1\d{10}$")
ID_NUMBER_PATTERN = re.compile(r"^\d{17}[\dXx]$")


PRIVILEGED_BY_CLI = (
    "系统管理员、安全管理员、审计管理员须由三人分别担任（三员分立），"
    "其账号只能在服务器上用命令行创建、重置密码，不能在网页上授予或撤销"
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


class Act(enum.StrEnum):
    """What one person does to another person's account (or exam time)."""

    EDIT = "edit"
    SET_ACTIVE = "set_active"
    RESET_PASSWORD = "reset_password"
    UNLOCK = "unlock"
    GRANT = "grant"
    EXTEND = "extend"


ORDINARY_ROLES = frozenset({Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN})

# Separation of duties (三员分立): per role, what it may do to others and the accounts it
# reaches: those holding no role outside the set. No set holds a privileged role, so the
# system admin, security admin and auditor accounts are reached by nobody on the web;
# `flask create-admin` and `flask admin-password` manage them.
POWERS: dict[Role, tuple[frozenset[Act], frozenset[Role]]] = {
    Role.SYSTEM_ADMIN: (
        frozenset({Act.EDIT, Act.SET_ACTIVE, Act.RESET_PASSWORD, Act.EXTEND}),
        ORDINARY_ROLES,
    ),
    Role.SECURITY_ADMIN: (frozenset({Act.GRANT, Act.UNLOCK}), ORDINARY_ROLES),
    Role.UNIT_ADMIN: (frozenset(Act), frozenset({Role.LEARNER, Role.TRAINER})),
}

# Roles each may hand out: the security admin grants roles; a unit admin learner and
# trainer inside their subtree; a system admin creates accounts, as learners.
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.SECURITY_ADMIN: ORDINARY_ROLES,
    Role.UNIT_ADMIN: frozenset({Role.LEARNER, Role.TRAINER}),
    Role.SYSTEM_ADMIN: frozenset({Role.LEARNER}),
}

NOT_ALLOWED = "您无权对该账号执行此操作。"
NOT_ONESELF = "不能对自己的账号执行此操作。"


def manageable_unit_ids(admin: User) -> set[int] | None:
    """Units whose people `admin` may see and manage: None means all."""
    if admin.has_any_role(Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN):
        return None
    if Role.UNIT_ADMIN in admin.roles:
        return subtree_ids(admin.unit_id)
    return set()


def find_active_people(
    scope: set[int] | None, keyword: str = "", unit_id: int | None = None, limit: int = 50
) -> list[User]:
    """Active people of the units in `scope` (None: all), in a unit's subtree when one is
    given, matching `keyword`; by unit and name: for choosing attendees or a roster."""
    stmt = (
        select(User)
        .options(joinedload(User.unit))
        .where(User.is_active)
        .order_by(User.unit_id, User.name, User.id)
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    if unit_id:
        stmt = stmt.where(User.unit_id.in_(subtree_ids(unit_id)))
    if keyword.strip():
        stmt = stmt.where(users_matching(keyword))
    return list(db.session.scalars(stmt))


#: one answer for an account that does not exist and one outside the admin's units, so a
#: form never confirms that an account exists elsewhere (review finding F7)
UNKNOWN_PERSON = "账号不存在或不在您管理的单位内。"


def managed_person(admin: User, login: str = "", user_id: int | None = None) -> User | None:
    """The active person with this login (or id) in the admin's units; None when there is
    none, whatever the reason (say UNKNOWN_PERSON)."""
    if user_id is not None:
        person = db.session.get(User, user_id)
    else:
        person = find_by_login(login) if login.strip() else None
    if person is None or not person.is_active or not can_manage_unit(admin, person.unit_id):
        return None
    return person


def can_manage_unit(admin: User, unit_id: int) -> bool:
    scope = manageable_unit_ids(admin)
    return scope is None or unit_id in scope


def can_act(actor: User, target: User, act: Act) -> bool:
    """The one rule for every action on another person's account: never on oneself; only
    an action one of the actor's roles has, on an account holding no role beyond that
    role's reach, and for a unit admin only inside their unit's subtree."""
    return act in allowed_acts(actor, [target])[target.id]


def allowed_acts(actor: User, targets: list[User]) -> dict[int, frozenset[Act]]:
    """can_act for many targets at once (a page of the user list): one subtree query."""
    subtree = subtree_ids(actor.unit_id) if Role.UNIT_ADMIN in actor.roles else set()
    allowed = {}
    for target in targets:
        acts: set[Act] = set()
        if target.id != actor.id:
            for role in actor.roles:
                role_acts, reach = POWERS.get(role, (frozenset(), frozenset()))
                in_scope = role != Role.UNIT_ADMIN or target.unit_id in subtree
                if target.roles <= reach and in_scope:
                    acts |= role_acts
        allowed[target.id] = frozenset(acts)
    return allowed


def require(actor: User, target: User, act: Act) -> None:
    """Raise the refusal can_act says; its message names nobody."""
    if not can_act(actor, target, act):
        raise AccountError(
            NOT_ONESELF if actor.id == target.id else NOT_ALLOWED, code="forbidden", status=403
        )


def grantable_roles(admin: User) -> list[Role]:
    allowed = set().union(*(GRANTABLE.get(role, ()) for role in admin.roles))
    return [role for role in Role if role in allowed]


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
    current = existing.roles if existing else set()
    changed = data.roles ^ current
    if not data.roles:
        errors["roles"] = "至少选择一个角色"
    elif changed & PRIVILEGED_ROLES:
        errors["roles"] = PRIVILEGED_BY_CLI
    elif forbidden := changed - set(grantable_roles(admin)):
        names = "、".join(role.label for role in Role if role in forbidden)
        errors["roles"] = f"您无权授予或撤销角色：{names}"
    return errors


def create_user(actor: Actor, admin: User, data: UserData) -> tuple[User, str]:
    """Create an account with a temporary password, returned once for the administrator
    (never a privileged account: check_user_data refuses their roles)."""
    if not admin.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN):
        raise AccountError(NOT_ALLOWED, code="forbidden", status=403)
    if errors := check_user_data(admin, data):
        raise AccountError("；".join(errors.values()))
    password = generate_temporary_password()
    user = User(password_hash=hash_password(password), must_change_password=True)
    _apply(user, data)
    user.set_roles(data.roles)
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
    """Change an account's details; its roles change only through set_roles."""
    require(admin, user, Act.EDIT)
    data = replace(data, roles=frozenset(user.roles))
    if errors := check_user_data(admin, data, existing=user):
        raise AccountError("；".join(errors.values()))
    before = _snapshot(user)
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


def set_roles(actor: Actor, admin: User, user: User, roles: frozenset[Role]) -> None:
    """Grant and revoke roles: the security admin, or a unit admin inside their subtree."""
    require(admin, user, Act.GRANT)
    data = replace(_data_of(user), roles=frozenset(roles))
    if error := check_user_data(admin, data, existing=user).get("roles"):
        raise AccountError(error, fields={"roles": error})
    before = user.roles
    if before == data.roles:
        return
    user.set_roles(data.roles)
    record(
        actor,
        "user.roles",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
        detail={"before": sorted(before), "after": sorted(user.roles)},
    )


def _data_of(user: User) -> UserData:
    return UserData(
        login=user.login,
        name=user.name,
        unit_id=user.unit_id,
        position=user.position,
        is_leader=user.is_leader,
        is_enforcement_officer=user.is_enforcement_officer,
        phone=user.phone,
        id_number=user.id_number,
        roles=frozenset(user.roles),
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


def record_user_list(actor: Actor, query: dict, users: list[User]) -> None:
    """A page of users shows their (masked) phone and ID numbers: a view of personal data,
    audited with what was searched for and whose data was shown."""
    detail = {"users": [user.id for user in users]}
    if query := {key: value for key, value in query.items() if value}:
        detail["query"] = query
    record(actor, "user.list", object_type="user", summary=f"显示 {len(users)} 人", detail=detail)


def record_user_view(actor: Actor, user: User) -> None:
    """One person's page (their masked phone and ID number) was opened."""
    record(actor, "user.view", object_type="user", object_id=user.id)


def set_active(actor: Actor, admin: User, user: User, active: bool) -> None:
    require(admin, user, Act.SET_ACTIVE)
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
    """Give `user` a new temporary password that must be changed at the next login; shown
    once, to `admin` (never for a privileged account: nobody reaches those on the web)."""
    require(admin, user, Act.RESET_PASSWORD)
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
    require(admin, user, Act.UNLOCK)
    logins.unlock(user)
    record(
        actor,
        "user.unlock",
        object_type="user",
        object_id=user.id,
        summary=f"{user.name}（{user.login}）",
    )
