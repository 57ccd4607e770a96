"""Written answers (简答/论述) marked by people: model answer, marking points and length
limit of a question version; double marking of an exam; named markers; marks; attempts
awaiting marks

Revision ID: 0061_written_answers
Revises: 0041_records_certificates
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0061_written_answers'
down_revision = '0041_records_certificates'
branch_labels = None
depends_on = None

OLD_TYPES = "'single', 'multiple', 'true_false', 'fill_blank'"
NEW_TYPES = OLD_TYPES + ", 'short_answer', 'essay'"


def upgrade():
    op.create_table('exam_markers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['exam_id'], ['exams.id'], name=op.f('fk_exam_markers_exam_id_exams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_exam_markers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_markers')),
    sa.UniqueConstraint('exam_id', 'user_id', name='uq_exam_markers_exam_user')
    )
    with op.batch_alter_table('exam_markers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_markers_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_markers_user_id'), ['user_id'], unique=False)

    op.create_table('marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('checked', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('replaced', sa.Boolean(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('round BETWEEN 1 AND 3', name=op.f('ck_marks_known_round')),
    sa.CheckConstraint('score >= 0', name=op.f('ck_marks_non_negative_score')),
    sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_marks_attempt_id_attempts')),
    sa.ForeignKeyConstraint(['corrects_id'], ['marks.id'], name=op.f('fk_marks_corrects_id_marks')),
    sa.ForeignKeyConstraint(['item_id'], ['paper_items.id'], name=op.f('fk_marks_item_id_paper_items')),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_marks_marker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marks'))
    )
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marks_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_marks_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_marks_marker_id'), ['marker_id'], unique=False)
        batch_op.create_index('uq_marks_one_standing', ['item_id', 'round'], unique=True, sqlite_where=sa.text('NOT replaced'), postgresql_where=sa.text('NOT replaced'))

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_marks', sa.Boolean(), server_default=sa.text('false'), nullable=False))

    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('double_marking', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('marking_gap', sa.Numeric(precision=7, scale=2), nullable=True))

    with op.batch_alter_table('question_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_answer', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('marking_points', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('max_chars', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('ck_question_versions_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_question_versions_known_type'), f"type IN ({NEW_TYPES})")

    with op.batch_alter_table('blueprint_sections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blueprint_sections_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_blueprint_sections_known_type'), f"question_type IN ({NEW_TYPES}, 'case')")


def downgrade():
    with op.batch_alter_table('blueprint_sections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_blueprint_sections_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_blueprint_sections_known_type'), f"question_type IN ({OLD_TYPES}, 'case')")

    with op.batch_alter_table('question_versions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_question_versions_known_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_question_versions_known_type'), f"type IN ({OLD_TYPES})")
        batch_op.drop_column('max_chars')
        batch_op.drop_column('marking_points')
        batch_op.drop_column('model_answer')

    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_column('marking_gap')
        batch_op.drop_column('double_marking')

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('awaiting_marks')

    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.drop_index('uq_marks_one_standing', sqlite_where=sa.text('NOT replaced'), postgresql_where=sa.text('NOT replaced'))
        batch_op.drop_index(batch_op.f('ix_marks_marker_id'))
        batch_op.drop_index(batch_op.f('ix_marks_item_id'))
        batch_op.drop_index(batch_op.f('ix_marks_attempt_id'))

    op.drop_table('marks')
    with op.batch_alter_table('exam_markers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exam_markers_user_id'))
        batch_op.drop_index(batch_op.f('ix_exam_markers_exam_id'))

    op.drop_table('exam_markers')
