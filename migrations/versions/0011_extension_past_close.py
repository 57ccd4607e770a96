"""batch_members.past_close_minutes: the part of a time extension that may run past the
batch's close (given by a system admin)

Revision ID: 0011_extension_past_close
Revises: 0010_exam_pools_revision
Create Date: 2026-12-07 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_extension_past_close"
down_revision = "0010_exam_pools_revision"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("batch_members") as batch:
        batch.add_column(
            sa.Column(
                "past_close_minutes", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )
        batch.create_check_constraint(
            op.f("ck_batch_members_past_close_minutes"),
            "past_close_minutes >= 0 AND past_close_minutes <= extra_minutes",
        )


def downgrade():
    with op.batch_alter_table("batch_members") as batch:
        batch.drop_constraint(op.f("ck_batch_members_past_close_minutes"), type_="check")
        batch.drop_column("past_close_minutes")
