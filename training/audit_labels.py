"""How the audit log shows what accounts, units and logins did."""

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from core.audit import Action, Detail, Labels, ObjectKind
from core.extensions import db
from core.roles import Role
from training.models import Unit, User


def user_names(ids: list[int]) -> dict[int, str]:
    # The actor is usually loaded in this session already (a login, one's own action):
    # no query for those.
    loaded = [db.session.identity_map.get(identity_key(User, user_id)) for user_id in ids]
    users = {user.id: (user.name, user.login) for user in loaded if user is not None}
    if missing := [user_id for user_id in ids if user_id not in users]:
        rows = db.session.execute(
            select(User.id, User.name, User.login).where(User.id.in_(missing))
        )
        users.update({user_id: (name, login) for user_id, name, login in rows})
    return {user_id: f"{name}（{login}）" for user_id, (name, login) in users.items()}


def unit_names(ids: list[int]) -> dict[int, str]:
    units = db.session.scalars(select(Unit).where(Unit.id.in_(ids)))
    return {unit.id: unit.path for unit in units}


def role_names(value: object) -> str:
    values = value if isinstance(value, list) else [value]
    known = {role.value: role.label for role in Role}
    return "、".join(known.get(str(role), str(role)) for role in values) or "（无）"


ROLES = Detail("角色", format=role_names)

LABELS = Labels(
    actions={
        "login.success": "登录成功",
        "login.failure": "登录失败",
        "login.locked": "连续失败被锁定",
        "login.blocked": "锁定期内尝试登录",
        "logout": "退出登录",
        "session.timeout": "超时自动退出",
        "session.expired": "登录时长到期退出",
        "password.change": "修改密码",
        "password.expired": "密码到期须修改",
        "totp.enable": "启用动态口令",
        "totp.disable": "关闭动态口令",
        "totp.recovery_codes": "重新生成恢复码",
        "totp.recovery_code": "使用恢复码",
        "settings.totp_required": Action(
            "修改动态口令要求", details={"required": Detail("特权账号须使用动态口令")}
        ),
        "user.create": "新建用户",
        "user.update": Action("修改用户", changes=True),
        "user.roles": Action(
            "变更角色",
            details={
                "before": Detail("原角色", format=role_names),
                "after": Detail("新角色", format=role_names),
            },
        ),
        "user.deactivate": "停用用户",
        "user.activate": "启用用户",
        "user.password_reset": "重置密码",
        "user.unlock": "解除锁定",
        "user.import": "批量导入用户",
        "user.view": "查看个人信息",
        "user.list": Action(
            "查询用户（含个人信息）",
            details={"q": Detail("姓名或账号"), "users": Detail("显示的人员", refers_to="user")},
        ),
        "unit.create": "新建单位",
        "unit.rename": "修改单位",
        "unit.delete": "删除单位",
        "admin.create_cli": "命令行创建管理员",
        "admin.password_cli": "命令行重置密码",
    },
    objects={
        "user": ObjectKind("用户", names=user_names),
        "unit": ObjectKind("单位", names=unit_names),
    },
    details={
        "roles": ROLES,
        "unit_id": Detail("单位", refers_to="unit"),
        "logins": Detail("账号"),
        "login": Detail("账号"),
        "name": Detail("姓名"),
        "position": Detail("职务"),
        "is_leader": Detail("领导干部"),
        "is_enforcement_officer": Detail("行政执法人员"),
        "phone": Detail("手机号"),
        "id_number": Detail("身份证号"),
        "users": Detail("人员", refers_to="user"),
        "removed": Detail("移出人员", refers_to="user"),
        "user": Detail("人员", refers_to="user"),
        "query": Detail("查询条件"),
    },
)
