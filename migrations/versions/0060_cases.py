"""Cases (案例分析): a versioned material with ordered sub-questions; case sections of
blueprints; paper items remember the case version they belong to

Revision ID: 0060_cases
Revises: 0031_study_lesson_reviews
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0060_cases'
down_revision = '0031_study_lesson_reviews'
branch_labels = None
depends_on = None

OLD_TYPES = "'single', 'multiple', 'true_false', 'fill_blank'"


def upgrade():
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'needs_review', 'retired')", name=op.f('ck_cases_known_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    op.create_table('case_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('material', sa.Text(), nullable=False),
    sa.Column('table', sa.JSON(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('change_note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_versions_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_versions')),
    sa.UniqueConstraint('case_id', 'number', name='uq_case_versions_case_number')
    )
    with op.batch_alter_table('case_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_versions_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_questions_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_questions_case_id_cases'), 'cases', ['case_id'], ['id'])

    with op.batch_alter_table('paper_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_paper_items_case_version_id_case_versions'), 'case_versions', ['case_version_id'], ['id'])

    with op.batch_alter_table('blueprints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shuffle_within_case', sa.Boolean(), server_default=sa.text('false'), nullable=False))

    with op.batch_alter_table('blueprint_sections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blueprint_sections_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_blueprint_sections_known_type'), f"question_type IN ({OLD_TYPES}, 'case')")


def downgrade():
    with op.batch_alter_table('blueprint_sections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blueprint_sections_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_blueprint_sections_known_type'), f"question_type IN ({OLD_TYPES})")

    with op.batch_alter_table('blueprints', schema=None) as batch_op:
        batch_op.drop_column('shuffle_within_case')

    with op.batch_alter_table('paper_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_paper_items_case_version_id_case_versions'), type_='foreignkey')
        batch_op.drop_column('case_version_id')

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_questions_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_questions_case_id'))
        batch_op.drop_column('case_id')

    with op.batch_alter_table('case_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_versions_case_id'))

    op.drop_table('case_versions')
    op.drop_table('cases')
