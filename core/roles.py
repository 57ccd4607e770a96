"""Role names and the access-check decorator used by every blueprint."""

import enum
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required


class Role(enum.StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    UNIT_ADMIN = "unit_admin"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.LEARNER: "学员",
    Role.TRAINER: "培训出题人员",
    Role.UNIT_ADMIN: "单位管理员",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDITOR: "审计管理员",
}

# Separation of duties (三员分立): accounts and settings, roles and policies, the audit log.
# Three different people; an account holding one of them holds no other role, and these
# accounts come from the command line only.
PRIVILEGED_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def role_required(*roles: Role):
    """Allow the view to users holding any of `roles`; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_any_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return wrapped

    return decorator
