"""law library: statute texts of law versions (parts, articles), the article diff between
versions, citations to the paragraph (款) and item (项)

Revision ID: 0012_law_library
Revises: 0011_extension_past_close
Create Date: 2026-12-07 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_law_library"
down_revision = "0011_extension_past_close"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("law_versions") as batch:
        batch.add_column(sa.Column("title", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("caption", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("preamble", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("source_name", sa.String(255), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("imported_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("previous_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_law_versions_previous_id_law_versions"),
            "law_versions",
            ["previous_id"],
            ["id"],
        )
    with op.batch_alter_table("citations") as batch:
        batch.add_column(
            sa.Column("article_suffix", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("paragraph", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("item", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_citations_positive_parts"),
            "article_suffix >= 0 AND (paragraph IS NULL OR paragraph > 0) "
            "AND (item IS NULL OR item > 0)",
        )
    op.create_table(
        "law_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("heading", sa.String(200), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["law_version_id"],
            ["law_versions.id"],
            name=op.f("fk_law_parts_law_version_id_law_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["law_parts.id"], name=op.f("fk_law_parts_parent_id_law_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_parts")),
    )
    with op.batch_alter_table("law_parts") as batch:
        batch.create_index(batch.f("ix_law_parts_law_version_id"), ["law_version_id"])
    op.create_table(
        "law_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("law_version_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("suffix", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(30), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["law_version_id"],
            ["law_versions.id"],
            name=op.f("fk_law_articles_law_version_id_law_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["law_parts.id"], name=op.f("fk_law_articles_part_id_law_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_articles")),
        sa.UniqueConstraint(
            "law_version_id", "series", "number", "suffix", name="uq_law_articles_number"
        ),
    )
    with op.batch_alter_table("law_articles") as batch:
        batch.create_index(batch.f("ix_law_articles_law_version_id"), ["law_version_id"])
    op.create_table(
        "law_article_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("new_version_id", sa.Integer(), nullable=False),
        sa.Column("old_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("old_article_id", sa.Integer(), nullable=True),
        sa.Column("new_article_id", sa.Integer(), nullable=True),
        sa.Column("similarity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('unchanged', 'changed', 'added', 'removed', 'renumbered')",
            name=op.f("ck_law_article_changes_known_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["new_version_id"],
            ["law_versions.id"],
            name=op.f("fk_law_article_changes_new_version_id_law_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["old_version_id"],
            ["law_versions.id"],
            name=op.f("fk_law_article_changes_old_version_id_law_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["old_article_id"],
            ["law_articles.id"],
            name=op.f("fk_law_article_changes_old_article_id_law_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["new_article_id"],
            ["law_articles.id"],
            name=op.f("fk_law_article_changes_new_article_id_law_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_law_article_changes")),
    )
    with op.batch_alter_table("law_article_changes") as batch:
        batch.create_index(
            batch.f("ix_law_article_changes_new_version_id"), ["new_version_id"]
        )
        batch.create_index(
            batch.f("ix_law_article_changes_old_article_id"), ["old_article_id"]
        )


def downgrade():
    op.drop_table("law_article_changes")
    op.drop_table("law_articles")
    op.drop_table("law_parts")
    with op.batch_alter_table("citations") as batch:
        batch.drop_constraint(op.f("ck_citations_positive_parts"), type_="check")
        batch.drop_column("item")
        batch.drop_column("paragraph")
        batch.drop_column("article_suffix")
    with op.batch_alter_table("law_versions") as batch:
        batch.drop_constraint(
            op.f("fk_law_versions_previous_id_law_versions"), type_="foreignkey"
        )
        for column in ("previous_id", "imported_at", "source_name", "preamble", "caption"):
            batch.drop_column(column)
        batch.drop_column("title")
