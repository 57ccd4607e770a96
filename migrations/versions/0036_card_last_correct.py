"""practice_cards.last_correct: whether the person's latest answer to the question was right

Revision ID: 0036_card_last_correct
Revises: 0035_settings_text
Create Date: 2026-12-07 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0036_card_last_correct'
down_revision = '0035_settings_text'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practice_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_correct', sa.Boolean(), nullable=True))
    # From each card's latest review in the log.
    op.execute(
        """
        UPDATE practice_cards SET last_correct = (
            SELECT practice_reviews.correct FROM practice_reviews
            WHERE practice_reviews.card_id = practice_cards.id
            ORDER BY practice_reviews.reviewed_at DESC, practice_reviews.id DESC
            LIMIT 1
        )
        """
    )


def downgrade():
    with op.batch_alter_table('practice_cards', schema=None) as batch_op:
        batch_op.drop_column('last_correct')
