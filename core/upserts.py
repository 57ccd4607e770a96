"""What both databases we run on have (PostgreSQL; SQLite in tests) but spell differently:
INSERT ... ON CONFLICT, and rows unpacked from one JSON parameter. The choice is made here."""

from sqlalchemy import JSON, ColumnElement, FromClause, bindparam, column, func
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db


def insert(table, dialect_name: str | None = None):
    """An INSERT into `table` (a Table or a model) that takes on_conflict_do_update and
    on_conflict_do_nothing, for the database the session is bound to, or for
    `dialect_name`'s (a statement built once per database and kept)."""
    name = dialect_name or db.session.get_bind().dialect.name
    return (postgresql if name == "postgresql" else sqlite).insert(table)


def json_rows(
    name: str, columns: dict, dialect_name: str
) -> tuple[FromClause, list[ColumnElement]]:
    """Rows to select from, out of one bound parameter `name` holding a list of objects, and
    their `columns` ({key: SQL type}) in that order: many rows in one statement with one
    parameter (PostgreSQL's json_to_recordset, SQLite's json_each), which is compiled once
    however many rows come."""
    if dialect_name == "postgresql":
        rows = (
            func.json_to_recordset(bindparam(name, type_=JSON))
            .table_valued(*(column(key, type_) for key, type_ in columns.items()))
            .render_derived(name=name, with_types=True)
        )
        return rows, [rows.c[key] for key in columns]
    rows = func.json_each(bindparam(name, type_=JSON)).table_valued("value").alias(name)
    return rows, [func.json_extract(rows.c.value, f"$.{key}") for key in columns]
