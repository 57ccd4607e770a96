"""exams.pools_revision: bumped by publish and regrade, the key of each process's parsed pools

Revision ID: 0010_exam_pools_revision
Revises: 0009_second_factor
Create Date: 2026-12-07 06:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_exam_pools_revision"
down_revision = "0009_second_factor"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "exams",
        sa.Column("pools_revision", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    # Exams published before this revision have their pools already.
    op.execute("UPDATE exams SET pools_revision = 1 WHERE pools IS NOT NULL")


def downgrade():
    with op.batch_alter_table("exams") as batch:
        batch.drop_column("pools_revision")
