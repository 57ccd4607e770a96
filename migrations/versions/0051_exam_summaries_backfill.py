"""exam_summaries backfill: summarise the attempts a database already held when it was
upgraded to 0050 (which created the table empty)

Revision ID: 0051_exam_summaries_backfill
Revises: 0033_question_law
Create Date: 2026-12-07 18:00:00

The rebuild is the app's own (`flask reports rebuild-summaries`, training.reports.summaries
.rebuild), run on the migration's connection, so it sees the tables this upgrade created
and commits with it. A fresh database has nothing to summarise; running it again is
harmless (it replaces every row).
"""
from alembic import op
from sqlalchemy.orm import Session

from training.reports import summaries


revision = '0051_exam_summaries_backfill'
down_revision = '0033_question_law'
branch_labels = None
depends_on = None


def upgrade():
    with Session(bind=op.get_bind()) as session:
        summaries.rebuild(session=session)
        session.flush()


def downgrade():
    pass  # the rows stay; 0050's downgrade drops the table
