"""security admin role (三员分立)

Revision ID: 0004_security_admin_role
Revises: 0003
Create Date: 2026-12-01 21:15:00

"""

from alembic import op

revision = "0004_security_admin_role"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_ROLES = "'learner', 'trainer', 'unit_admin', 'system_admin', 'auditor'"
NEW_ROLES = "'learner', 'trainer', 'unit_admin', 'system_admin', 'security_admin', 'auditor'"


def _replace_check(roles: str) -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_roles_known_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_roles_known_role"), f"role IN ({roles})")


def upgrade():
    _replace_check(NEW_ROLES)


def downgrade():
    op.execute("DELETE FROM user_roles WHERE role = 'security_admin'")
    _replace_check(OLD_ROLES)
