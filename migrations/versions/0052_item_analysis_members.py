"""reports: an attempt's revision (bumped by every scoring and reopening) and the attempts
an item analysis counted, so that one brought up to date adds the attempts handed in since
instead of counting every paper again

Revision ID: 0052_item_analysis_members
Revises: 0037_questions_practised_law
Create Date: 2026-12-07 21:20:00

The stored counts change shape (each item's full points are now part of its counts, so
that an attempt can be taken away again): they are deleted, and counted afresh on the next
view. Adding a column with a constant default writes no row in PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


revision = '0052_item_analysis_members'
down_revision = '0037_questions_practised_law'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.execute('DELETE FROM item_analysis_counts')
    with op.batch_alter_table('item_analysis_counts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members', sa.JSON(), nullable=True))


def downgrade():
    op.execute('DELETE FROM item_analysis_counts')
    with op.batch_alter_table('item_analysis_counts', schema=None) as batch_op:
        batch_op.drop_column('members')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('revision')
