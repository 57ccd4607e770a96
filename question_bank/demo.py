"""The demo bank: original questions written for this project, loaded through the same
import path a trainer uses, after registering the laws they cite (and importing their
texts from LAW_TEXTS_DIR when it is set: statute texts are not shipped with the project)."""

import os
from datetime import date
from pathlib import Path

from sqlalchemy import select

from core.audit import Actor
from core.extensions import db
from question_bank.bank import register_law
from question_bank.importing import commit_import, plan_import
from question_bank.models import Law
from question_bank.statutes.library import commit_law_import, plan_law_import

DEMO_BANK = Path(__file__).parent / "demo_bank"

# name, full name, version in force, date in force (only where the statute text says it)
DEMO_LAWS = [
    ("宪法", "中华人民共和国宪法", "2018年修正", None),
    ("民法典", "中华人民共和国民法典", "2020年", date(2021, 1, 1)),
    ("行政处罚法", "中华人民共和国行政处罚法", "2021年修订", date(2021, 7, 15)),
    ("行政许可法", "中华人民共和国行政许可法", "2019年修正", None),
    ("行政强制法", "中华人民共和国行政强制法", "2011年", date(2012, 1, 1)),
    ("行政复议法", "中华人民共和国行政复议法", "2023年修订", date(2024, 1, 1)),
    ("行政诉讼法", "中华人民共和国行政诉讼法", "2017年修正", None),
    ("国家赔偿法", "中华人民共和国国家赔偿法", "2012年修正", None),
    ("政府信息公开条例", "中华人民共和国政府信息公开条例", "2019年修订", None),
    # cited by the demo course's lessons (training/study/demo_course)
    ("个人信息保护法", "中华人民共和国个人信息保护法", "2021年", date(2021, 11, 1)),
    ("公务员法", "中华人民共和国公务员法", "2018年修订", date(2019, 6, 1)),
    ("法治宣传教育法", "中华人民共和国法治宣传教育法", "2025年", date(2025, 11, 1)),
]


class DemoBankError(RuntimeError):
    """A demo bank file does not import cleanly: a bug in the shipped content."""


def load_demo_bank(actor: Actor) -> int:
    """Register the demo laws and import every demo file; returns the questions added."""
    for name, full_name, label, effective_on in DEMO_LAWS:
        if db.session.scalar(select(Law).where(Law.name == name)) is None:
            register_law(name, label, full_name, effective_on)
    if folder := os.environ.get("LAW_TEXTS_DIR"):
        load_law_texts(actor, Path(folder))
    added = 0
    for path in sorted(DEMO_BANK.glob("*.csv")):
        plan = plan_import(path.read_bytes(), path.name)
        if plan.errors:
            details = "; ".join(f"{e.row}/{e.column}: {e.message}" for e in plan.errors[:5])
            raise DemoBankError(f"{path.name}: {details}")
        added += len(commit_import(actor, plan))
    return added


TEXT_SUFFIXES = (".docx", ".txt", ".md")


def load_law_texts(actor: Actor, folder: Path) -> list[str]:
    """Import the text of each demo law found in `folder` (named like 行政处罚法.md) into
    the version the demo bank cites; returns the laws imported. The bank's citations are
    then checked against these texts as it loads."""
    imported = []
    for name, _, label, _ in DEMO_LAWS:
        path = next(
            (folder / f"{name}{s}" for s in TEXT_SUFFIXES if (folder / f"{name}{s}").is_file()),
            None,
        )
        if path is None:
            continue
        plan = plan_law_import(path.read_bytes(), path.name, name, label)
        if plan.version is not None and plan.version.has_text:
            continue
        if not plan.ok:
            problems = [*plan.errors, *(p.message for p in plan.parsed.problems[:5])]
            raise DemoBankError(f"{path.name}: {'; '.join(problems)}")
        commit_law_import(actor, plan)
        imported.append(name)
    return imported
