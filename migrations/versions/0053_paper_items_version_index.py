"""exams: paper_items indexed by question version, so that the exams that used a question
(its item analysis across exams) are found from its items instead of by reading every
attempt

Revision ID: 0053_paper_items_version_index
Revises: 0052_item_analysis_members
Create Date: 2026-12-08 00:05:00

Building it reads paper_items once and blocks writes to it meanwhile (about 1 s for
1,000,000 items on the bench machine): run the upgrade outside an exam.
"""
from alembic import op


revision = '0053_paper_items_version_index'
down_revision = '0052_item_analysis_members'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_paper_items_question_version_id', 'paper_items', ['question_version_id']
    )


def downgrade():
    op.drop_index('ix_paper_items_question_version_id', table_name='paper_items')
