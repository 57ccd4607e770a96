"""questions: a partial index of the questions practice draws that cite a law (id, law_id)

Revision ID: 0037_questions_practised_law
Revises: 0036_card_last_correct
Create Date: 2026-12-07 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0037_questions_practised_law'
down_revision = '0036_card_last_correct'
branch_labels = None
depends_on = None

PRACTISED_WITH_LAW = sa.text(
    "status = 'active' AND case_id IS NULL AND law_id IS NOT NULL "
    "AND type NOT IN ('short_answer', 'essay')"
)


def upgrade():
    op.create_index(
        "ix_questions_practised_law",
        "questions",
        ["id", "law_id"],
        sqlite_where=PRACTISED_WITH_LAW,
        postgresql_where=PRACTISED_WITH_LAW,
    )


def downgrade():
    op.drop_index("ix_questions_practised_law", table_name="questions")
