"""Study records: activities corrected or withdrawn (kept, with the reason); the yearly
totals of approved attendance per person and kind, kept by the app and filled here from
the attendances so an upgraded database needs no manual step

Revision ID: 0042_records_corrections
Revises: 0033_question_law
Create Date: 2026-12-07 17:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0042_records_corrections"
down_revision = "0033_question_law"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("record_activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("withdraw_reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_record_activities_withdrawn_by_users"), "users", ["withdrawn_by"], ["id"]
        )
    with op.batch_alter_table("record_activities", schema=None) as batch_op:
        batch_op.alter_column("withdraw_reason", server_default=None)
    with op.batch_alter_table("record_attendances", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_record_attendances_known_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_record_attendances_known_status"),
            "status IN ('approved', 'pending', 'returned', 'withdrawn')",
        )
    kinds = ["pre_meeting", "court_hearing", "lecture", "law_day", "oath", "year_end_report"]
    op.create_table(
        "record_year_totals",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=8, scale=1), nullable=False),
        *(sa.Column(kind, sa.Integer(), nullable=False) for kind in kinds),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_record_year_totals_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "year", name=op.f("pk_record_year_totals")),
    )
    # The backfill: the same sums as training.records.totals.rebuild().
    year = (
        "EXTRACT(YEAR FROM a.held_on)"
        if op.get_bind().dialect.name == "postgresql"
        else "CAST(STRFTIME('%Y', a.held_on) AS INTEGER)"
    )
    counts = ", ".join(f"sum(CASE WHEN a.kind = '{kind}' THEN 1 ELSE 0 END)" for kind in kinds)
    op.execute(
        f"INSERT INTO record_year_totals (user_id, year, hours, {', '.join(kinds)})"
        f" SELECT t.user_id, {year}, sum(a.credit_hours), {counts}"
        " FROM record_attendances t JOIN record_activities a ON a.id = t.activity_id"
        " WHERE t.status = 'approved'"
        f" GROUP BY t.user_id, {year}"
    )


def downgrade():
    op.drop_table("record_year_totals")
    op.execute("UPDATE record_attendances SET status = 'returned' WHERE status = 'withdrawn'")
    with op.batch_alter_table("record_attendances", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_record_attendances_known_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_record_attendances_known_status"),
            "status IN ('approved', 'pending', 'returned')",
        )
    with op.batch_alter_table("record_activities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_record_activities_withdrawn_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("withdraw_reason")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_at")
