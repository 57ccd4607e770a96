"""questions.law_id: the law the current version cites first

Revision ID: 0033_question_law
Revises: 0061_written_answers
Create Date: 2026-12-07 14:46:21.348064

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0033_question_law'
down_revision = '0061_written_answers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('law_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_questions_law_id'), ['law_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_questions_law_id_laws'), 'laws', ['law_id'], ['id'])
    # The law of each question's current version's first citation.
    op.execute(
        """
        UPDATE questions SET law_id = (
            SELECT law_versions.law_id
            FROM question_versions
            JOIN citations ON citations.version_id = question_versions.id
            JOIN law_versions ON law_versions.id = citations.law_version_id
            WHERE question_versions.question_id = questions.id
              AND question_versions.number = questions.current_number
            ORDER BY citations.id
            LIMIT 1
        )
        """
    )


def downgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_questions_law_id_laws'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_questions_law_id'))
        batch_op.drop_column('law_id')
