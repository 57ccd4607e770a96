"""Study lessons put under review by a law revision

Revision ID: 0031_study_lesson_reviews
Revises: 0030_study_modules
Create Date: 2026-12-07 13:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0031_study_lesson_reviews'
down_revision = '0030_study_modules'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('study_lesson_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.Integer(), nullable=False),
    sa.Column('module_number', sa.Integer(), nullable=False),
    sa.Column('law_version_id', sa.Integer(), nullable=False),
    sa.Column('previous_law_version_id', sa.Integer(), nullable=False),
    sa.Column('law_name', sa.String(length=100), nullable=False),
    sa.Column('old_label', sa.String(length=50), nullable=False),
    sa.Column('new_label', sa.String(length=50), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('flagged_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['law_version_id'], ['law_versions.id'], name=op.f('fk_study_lesson_reviews_law_version_id_law_versions')),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_lesson_reviews_module_id_study_modules')),
    sa.ForeignKeyConstraint(['previous_law_version_id'], ['law_versions.id'], name=op.f('fk_study_lesson_reviews_previous_law_version_id_law_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_lesson_reviews')),
    sa.UniqueConstraint('module_id', 'lesson_key', 'law_version_id', name='uq_study_lesson_reviews_lesson')
    )
    with op.batch_alter_table('study_lesson_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_lesson_reviews_module_id'), ['module_id'], unique=False)


def downgrade():
    with op.batch_alter_table('study_lesson_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_lesson_reviews_module_id'))

    op.drop_table('study_lesson_reviews')
