"""reports: fill exam_summaries from the attempts a database already held (0050 created
the table empty); item_analysis_counts, the stored counts of item analyses

Revision ID: 0051_reports_backfill_and_counts
Revises: 0042_records_corrections
Create Date: 2026-12-07 18:00:00

The backfill is the app's own rebuild (`flask reports rebuild-summaries`,
training.reports.summaries.rebuild), run on the migration's connection, so it sees the
tables this upgrade created and commits with it. A fresh database has nothing to
summarise; running it again is harmless (it replaces every row).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session

from training.reports import summaries


revision = '0051_reports_backfill_and_counts'
down_revision = '0042_records_corrections'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_analysis_counts',
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('which', sa.String(length=8), nullable=False),
    sa.Column('stamp', sa.String(length=200), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_item_analysis_counts_exam_id_exams')),
    sa.PrimaryKeyConstraint('exam_id', 'which', name=op.f('pk_item_analysis_counts'))
    )
    with Session(bind=op.get_bind()) as session:
        summaries.rebuild(session=session)
        session.flush()


def downgrade():
    # exam_summaries keeps its rows; 0050's downgrade drops the table.
    op.drop_table('item_analysis_counts')
