"""core.upserts: one place chooses PostgreSQL's or SQLite's INSERT ... ON CONFLICT."""

import ast
from pathlib import Path

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
