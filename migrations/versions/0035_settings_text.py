"""settings.value as text: the mock enforcement exam's format (JSON) is kept there

Revision ID: 0035_settings_text
Revises: 0051_reports_backfill_and_counts
Create Date: 2026-12-07 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0035_settings_text'
down_revision = '0051_reports_backfill_and_counts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.String(length=200), type_=sa.Text())


def downgrade():
    with op.batch_alter_table('settings', schema=None) as batch_op:
        batch_op.alter_column('value', existing_type=sa.Text(), type_=sa.String(length=200))
