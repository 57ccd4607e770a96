"""practice_cards: the (user_id, due) index carries what the progress page reads

Revision ID: 0054_practice_cards_covering
Revises: 0053_paper_items_version_index
Create Date: 2026-12-08 00:10:00

On PostgreSQL the index of a person's cards by due time also carries the question, the
FSRS state and stability, the last review and whether it was right, so that the progress
page and the due queue read a person's cards from the index alone instead of one heap page
per card. It costs no HOT update: `due` changes on every answer, so no update of a card
was HOT before.

On PostgreSQL the new index is built CONCURRENTLY under a new name (outside the upgrade's
transaction), the old one dropped CONCURRENTLY and the new one renamed: practice reads and
writes go on meanwhile (building it took 15 s at 5,000,000 cards on the bench machine;
the rename holds a lock only for a moment). SQLite keeps the plain index.
"""
from alembic import op


revision = '0054_practice_cards_covering'
down_revision = '0053_paper_items_version_index'
branch_labels = None
depends_on = None

NAME = "ix_practice_cards_user_due"
CARRIED = ["question_id", "state", "stability", "last_review", "last_correct"]


def _rebuild(include):
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the plain index stays
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}_new")  # a failed earlier try
        op.create_index(
            f"{NAME}_new",
            "practice_cards",
            ["user_id", "due"],
            postgresql_include=include,
            postgresql_concurrently=True,
        )
        op.drop_index(NAME, table_name="practice_cards", postgresql_concurrently=True)
        op.execute(f"ALTER INDEX {NAME}_new RENAME TO {NAME}")


def upgrade():
    _rebuild(CARRIED)


def downgrade():
    _rebuild([])
