"""The direction of dependency, read from the source: core imports neither package,
question_bank never imports training, and training asks question_bank.queries for
questions instead of joining the bank's tables (its models may refer to them by foreign
key)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: training modules whose tables have foreign keys to the bank's
FOREIGN_KEYS = {"training/exams/models.py"}


def _imports(path: Path) -> set[str]:
    """Modules a file imports at run time (what `if TYPE_CHECKING:` imports is left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skipped.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _files(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), _imports(path)


def _importing(package: str, prefix: str) -> list[str]:
    return [
        name
        for name, imports in _files(package)
        if any(module == prefix or module.startswith(prefix + ".") for module in imports)
    ]


def test_core_imports_neither_package():
    assert _importing("core", "training") == []
    assert _importing("core", "question_bank") == []


def test_question_bank_never_imports_training():
    assert _importing("question_bank", "training") == []


def test_training_joins_no_bank_table_but_through_foreign_keys():
    assert set(_importing("training", "question_bank.models")) <= FOREIGN_KEYS


def test_the_check_sees_an_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "from question_bank.models import Question\n"
        "if TYPE_CHECKING:\n"
        "    from training.models import User\n",
        encoding="utf-8",
    )
    imports = _imports(probe)
    assert "question_bank.models" in imports and "question_bank.models.Question" in imports
    assert not any(module.startswith("training") for module in imports)
