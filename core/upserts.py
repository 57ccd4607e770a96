"""INSERT ... ON CONFLICT, which both databases we run on have (PostgreSQL; SQLite in
tests) but SQLAlchemy builds per dialect: the choice is made here, once."""

from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db


def insert(table, dialect_name: str | None = None):
    """An INSERT into `table` (a Table or a model) that takes on_conflict_do_update and
    on_conflict_do_nothing, for the database the session is bound to, or for
    `dialect_name`'s (a statement built once per database and kept)."""
    name = dialect_name or db.session.get_bind().dialect.name
    return (postgresql if name == "postgresql" else sqlite).insert(table)
