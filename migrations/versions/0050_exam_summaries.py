"""exam_summaries: per exam, batch, unit and leader flag, the roster and counted outcomes,
kept up to date as attempts are submitted, regraded or reopened

Revision ID: 0050_exam_summaries
Revises: 0032_practice
Create Date: 2026-12-07 14:30:00

Existing attempts are summarised by the next migration, 0051_reports_backfill_and_counts.
"""
from alembic import op
import sqlalchemy as sa


revision = '0050_exam_summaries'
down_revision = '0032_practice'
branch_labels = None
depends_on = None


def upgrade():
    counters = [
        sa.Column(name, sa.Integer(), nullable=False, server_default='0')
        for name in ('assigned', 'took', 'passed', 'excellent')
    ]
    buckets = [
        sa.Column(f'b{index}', sa.Integer(), nullable=False, server_default='0')
        for index in range(10)
    ]
    op.create_table('exam_summaries',
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('is_leader', sa.Boolean(), nullable=False),
    *counters,
    sa.Column('percent_sum', sa.Numeric(precision=14, scale=2), nullable=False, server_default='0'),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    *buckets,
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_exam_summaries_batch_id_batches')),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_exam_summaries_exam_id_exams')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_exam_summaries_unit_id_units')),
    sa.PrimaryKeyConstraint('exam_id', 'batch_id', 'unit_id', 'is_leader', name=op.f('pk_exam_summaries'))
    )
    with op.batch_alter_table('exam_summaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_summaries_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('exam_summaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_summaries_unit_id'))
    op.drop_table('exam_summaries')
