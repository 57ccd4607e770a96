"""The demo bank: original questions written for this project, loaded through the same
import path a trainer uses, after registering the laws they cite (and importing their
texts from LAW_TEXTS_DIR when it is set: statute texts are not shipped with the project)."""

import os
from datetime import date
from pathlib import Path

from sqlalchemy import select

from core.audit import Actor
from core.extensions import db
from question_bank.bank import add_question, register_law
from question_bank.drafts import LawRefDraft, QuestionDraft, fingerprint
from question_bank.importing import commit_import, plan_import
from question_bank.models import Case, Law, Question
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


#: written questions (简答) of the demo bank: marked by people, so no import format carries
#: them; each checked against the statute text it cites
DEMO_WRITTEN = [
    QuestionDraft(
        "short_answer",
        "根据行政处罚法，行政机关在作出行政处罚决定之前，应当告知当事人哪些事项？",
        [],
        [],
        [],
        explanation="第44条规定，行政机关在作出行政处罚决定之前，应当告知当事人拟作出的"
        "行政处罚内容及事实、理由、依据，并告知当事人依法享有的陈述、申辩、要求听证等权利。",
        difficulty=2,
        law_refs=[LawRefDraft("行政处罚法", "2021年修订", 44)],
        topics=["告知程序"],
        model_answer="应当告知当事人拟作出的行政处罚内容及事实、理由、依据，并告知当事人依法"
        "享有的陈述、申辩、要求听证等权利（行政处罚法第四十四条）。",
        marking_points=[
            ["告知拟作出的行政处罚内容", "2"],
            ["告知作出处罚的事实、理由、依据", "4"],
            ["告知当事人依法享有的陈述、申辩、要求听证等权利", "4"],
        ],
        max_chars=300,
    ),
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
    # The cases (案例) are in the text layout a trainer's Word or text bank uses.
    for path in sorted([*DEMO_BANK.glob("*.csv"), *DEMO_BANK.glob("*.txt")]):
        plan = plan_import(path.read_bytes(), path.name)
        if plan.errors:
            details = "; ".join(f"{e.row}/{e.column}: {e.message}" for e in plan.errors[:5])
            raise DemoBankError(f"{path.name}: {details}")
        # Duplicates are skipped by the import; a case is imported whole, so one already
        # loaded (by its title) is left out here.
        loaded = set(db.session.scalars(select(Case.title)))
        plan.rows = [row for row in plan.rows if row.case is None or row.case.title not in loaded]
        added += len(commit_import(actor, plan))
    for draft in DEMO_WRITTEN:
        if db.session.scalar(select(Question.id).where(Question.fingerprint == fingerprint(draft))):
            continue
        add_question(actor, draft)
        added += 1
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
