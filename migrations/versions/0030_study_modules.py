"""Study modules (versions, lessons), programs, and learners' progress and completions

Revision ID: 0030_study_modules
Revises: 0012_law_library
Create Date: 2026-12-07 12:04:06.599225

"""
from alembic import op
import sqlalchemy as sa


revision = '0030_study_modules'
down_revision = '0012_law_library'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('study_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('published_number', sa.Integer(), nullable=True),
    sa.Column('next_lesson_key', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'retired')", name=op.f('ck_study_modules_known_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_modules'))
    )
    op.create_table('study_programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'retired')", name=op.f('ck_study_programs_known_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_programs'))
    )
    op.create_table('study_program_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_program_modules_module_id_study_modules')),
    sa.ForeignKeyConstraint(['program_id'], ['study_programs.id'], name=op.f('fk_study_program_modules_program_id_study_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_program_modules')),
    sa.UniqueConstraint('program_id', 'module_id', name='uq_study_program_modules_module')
    )
    with op.batch_alter_table('study_program_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_program_modules_program_id'), ['program_id'], unique=False)

    op.create_table('study_lessons_opened',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('lesson_key', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_lessons_opened_module_id_study_modules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_study_lessons_opened_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_lessons_opened')),
    sa.UniqueConstraint('user_id', 'module_id', 'lesson_key', name='uq_study_lessons_opened')
    )
    with op.batch_alter_table('study_lessons_opened', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_lessons_opened_user_id'), ['user_id'], unique=False)

    op.create_table('study_module_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('credit_hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('quiz_law_id', sa.Integer(), nullable=True),
    sa.Column('quiz_topic_id', sa.Integer(), nullable=True),
    sa.Column('quiz_single', sa.Integer(), nullable=False),
    sa.Column('quiz_multiple', sa.Integer(), nullable=False),
    sa.Column('quiz_true_false', sa.Integer(), nullable=False),
    sa.Column('quiz_pass_percent', sa.Integer(), nullable=False),
    sa.Column('quiz_exam_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('credit_hours > 0', name=op.f('ck_study_module_versions_positive_credit')),
    sa.CheckConstraint('quiz_pass_percent BETWEEN 1 AND 100', name=op.f('ck_study_module_versions_quiz_pass_percent')),
    sa.CheckConstraint('quiz_single >= 0 AND quiz_multiple >= 0 AND quiz_true_false >= 0', name=op.f('ck_study_module_versions_quiz_counts')),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_module_versions_module_id_study_modules')),
    sa.ForeignKeyConstraint(['quiz_exam_id'], ['exams.id'], name=op.f('fk_study_module_versions_quiz_exam_id_exams')),
    sa.ForeignKeyConstraint(['quiz_law_id'], ['laws.id'], name=op.f('fk_study_module_versions_quiz_law_id_laws')),
    sa.ForeignKeyConstraint(['quiz_topic_id'], ['topics.id'], name=op.f('fk_study_module_versions_quiz_topic_id_topics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_module_versions')),
    sa.UniqueConstraint('module_id', 'number', name='uq_study_module_versions_number')
    )
    with op.batch_alter_table('study_module_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_module_versions_module_id'), ['module_id'], unique=False)

    op.create_table('study_program_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['study_programs.id'], name=op.f('fk_study_program_completions_program_id_study_programs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_study_program_completions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_program_completions')),
    sa.UniqueConstraint('user_id', 'program_id', name='uq_study_program_completions_user')
    )
    with op.batch_alter_table('study_program_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_program_completions_user_id'), ['user_id'], unique=False)

    op.create_table('study_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_enrolments_module_id_study_modules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_study_enrolments_user_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['study_module_versions.id'], name=op.f('fk_study_enrolments_version_id_study_module_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_enrolments')),
    sa.UniqueConstraint('user_id', 'module_id', name='uq_study_enrolments_user')
    )
    with op.batch_alter_table('study_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_enrolments_user_id'), ['user_id'], unique=False)

    op.create_table('study_lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('law_refs', sa.String(length=1000), nullable=False),
    sa.Column('question_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['module_version_id'], ['study_module_versions.id'], name=op.f('fk_study_lessons_module_version_id_study_module_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_lessons')),
    sa.UniqueConstraint('module_version_id', 'key', name='uq_study_lessons_key'),
    sa.UniqueConstraint('module_version_id', 'position', name='uq_study_lessons_position')
    )
    with op.batch_alter_table('study_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_lessons_module_version_id'), ['module_version_id'], unique=False)

    op.create_table('study_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('credit_hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_study_completions_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['module_id'], ['study_modules.id'], name=op.f('fk_study_completions_module_id_study_modules')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_study_completions_user_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['study_module_versions.id'], name=op.f('fk_study_completions_version_id_study_module_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_completions')),
    sa.UniqueConstraint('user_id', 'module_id', name='uq_study_completions_user')
    )
    with op.batch_alter_table('study_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_completions_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('study_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_completions_user_id'))

    op.drop_table('study_completions')
    with op.batch_alter_table('study_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_lessons_module_version_id'))

    op.drop_table('study_lessons')
    with op.batch_alter_table('study_enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_enrolments_user_id'))

    op.drop_table('study_enrolments')
    with op.batch_alter_table('study_program_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_program_completions_user_id'))

    op.drop_table('study_program_completions')
    with op.batch_alter_table('study_module_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_module_versions_module_id'))

    op.drop_table('study_module_versions')
    with op.batch_alter_table('study_lessons_opened', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_lessons_opened_user_id'))

    op.drop_table('study_lessons_opened')
    with op.batch_alter_table('study_program_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_program_modules_program_id'))

    op.drop_table('study_program_modules')
    op.drop_table('study_programs')
    op.drop_table('study_modules')
