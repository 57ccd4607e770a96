"""database outages: their record, deadlines moved for them, flags kept with the attempt

Revision ID: 0006_outages
Revises: 0005_audit_chain
Create Date: 2026-12-01 21:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_outages"
down_revision = "0005_audit_chain"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
    )
    op.create_index(op.f("ix_outages_started_at"), "outages", ["started_at"])
    op.create_index(op.f("ix_outages_ended_at"), "outages", ["ended_at"])
    op.add_column(
        "attempts",
        sa.Column("outage_seconds", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "attempts", sa.Column("flags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade():
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("flags")
        batch.drop_column("outage_seconds")
    op.drop_index(op.f("ix_outages_ended_at"), table_name="outages")
    op.drop_index(op.f("ix_outages_started_at"), table_name="outages")
    op.drop_table("outages")
