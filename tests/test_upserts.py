"""core.upserts: one place chooses PostgreSQL's or SQLite's INSERT ... ON CONFLICT."""

import ast
from pathlib import Path

from sqlalchemy import Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite

from core import upserts
from core.extensions import db
from training.models import LoginFailure

ROOT = Path(__file__).resolve().parents[1]


def test_each_database_gets_its_own_on_conflict():
    for name, dialect in (("postgresql", postgresql.dialect()), ("sqlite", sqlite.dialect())):
        statement = upserts.insert(LoginFailure, name).on_conflict_do_nothing()
        assert "ON CONFLICT DO NOTHING" in str(statement.compile(dialect=dialect))


def test_the_session_database_by_default(app):
    with app.app_context():
        expected = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        assert isinstance(upserts.insert(LoginFailure), expected.Insert)


def test_json_rows_unpack_one_parameter_into_typed_rows(app):
    with app.app_context():
        rows, (number, name) = upserts.json_rows(
            "people", {"number": Integer, "name": String}, db.engine.dialect.name
        )
        people = [{"number": 2, "name": "乙"}, {"number": 1, "name": None}]
        found = db.session.execute(
            select(number, name).select_from(rows).order_by(number), {"people": people}
        ).all()
        assert [tuple(row) for row in found] == [(1, None), (2, "乙")]


def test_no_other_module_chooses_a_dialect():
    choosing = []
    for package in ("core", "question_bank", "training"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "sqlalchemy.dialects"
                ):
                    choosing.append(path.relative_to(ROOT).as_posix())
    assert choosing == ["core/upserts.py"]
