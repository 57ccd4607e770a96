"""Cases (案例分析/材料题): a material, optionally a table, and ordered sub-questions of
the existing types, each with its own key, points and citations.

A case is written, edited, retired and imported as a unit. Its sub-questions are bank
questions (Question.case_id set) versioned as every question is; a change of the case's
own content (title, material, table, which sub-questions in which order, their points)
adds a CaseVersion. A case with a sub-question that is not in use (待复核, 已停用) is not
drawn. Functions flush; the request commits once.
"""

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from core.audit import Actor, record
from core.extensions import db
from question_bank import bank
from question_bank.bank import BankError, CitationLookup
from question_bank.drafts import (
    CASE_PART_TYPES,
    CENT,
    CaseDraft,
    QuestionDraft,
    check_case,
    format_law_refs,
)
from question_bank.formats.numbered import parse_numbered
from question_bank.models import Case, CaseVersion, Question, QuestionStatus, QuestionVersion
from question_bank.types import LETTERS, TRUE_FALSE_CHOICES, clip


def parse_points(text: str, count: int) -> tuple[list[Decimal], str | None]:
    """Points per sub-question from `2 2 3` (or `2,2,3`); one number for all of them."""
    words = text.replace("，", " ").replace(",", " ").replace("、", " ").split()
    try:
        points = [Decimal(word) for word in words]
    except InvalidOperation:
        points = None
    if points is None or not all(point.is_finite() for point in points):
        # NaN passed Decimal() and then broke the comparisons of the check (a 500)
        return [], "小题分值应为数字，用空格或逗号分隔，如：2 2 3"
    if len(points) == 1 and count > 1:
        points = points * count
    return points, None


def _checked_parts(draft: CaseDraft) -> list[QuestionDraft]:
    """Every sub-question checked as the question form checks it; one BankError naming
    the sub-questions at fault."""
    errors = check_case(draft)
    if errors:
        raise BankError(errors)
    checked, problems = [], []
    for number, question in enumerate(draft.questions, start=1):
        try:
            checked.append(bank.check_question(question))
        except BankError as error:
            problems.append(f"第{number}小题：{error.message}")
    if problems:
        raise BankError({"questions": "；".join(problems)})
    return checked


def _version(case: Case, draft: CaseDraft, parts: list, actor: Actor, note: str) -> CaseVersion:
    version = CaseVersion(
        number=len(case.versions) + 1,
        title=draft.title.strip(),
        material=draft.material.strip().replace("\r\n", "\n"),
        table=draft.table,
        parts=parts,
        change_note=note,
        created_by=actor.id,
    )
    case.versions.append(version)
    case.current_number = version.number
    case.title = version.title
    db.session.flush()
    db.session.expire(case, ["current_version"])  # a viewonly relationship: read it again
    return version


def _points_text(points: Decimal) -> str:
    return str(points.quantize(CENT))


def add_case(
    actor: Actor, draft: CaseDraft, *, audit: bool = True, lookup: CitationLookup | None = None
) -> Case:
    """A new case (version 1) with its sub-questions as new bank questions (an import
    passes its shared lookup and audit=False, and records one entry for the file)."""
    questions = _checked_parts(draft)
    case = Case(title=draft.title.strip(), created_by=actor.id)
    db.session.add(case)
    db.session.flush()
    parts = []
    for question_draft, points in zip(questions, draft.points, strict=True):
        question = bank.add_question(actor, question_draft, audit=False, lookup=lookup)
        question.case_id = case.id
        db.session.flush()
        parts.append([question.id, _points_text(points)])
    _version(case, draft, parts, actor, "新建")
    case.status = _status_of(case).value
    db.session.flush()
    if audit:
        record(
            actor,
            "case.create",
            object_type="case",
            object_id=case.id,
            summary=f"{case.title}：{len(parts)} 道小题",
        )
    return case


def edit_case(actor: Actor, case: Case, draft: CaseDraft, note: str = "") -> CaseVersion | None:
    """Save `draft`: each sub-question that changed gets a new version (its old ones stay
    for the papers that used them), new ones are added, dropped ones retired; a new case
    version when the case's own content changed. None when nothing changed."""
    questions = _checked_parts(draft)
    current = case.current_version
    old_ids = [question_id for question_id, _ in current.parts]
    parts, changed = [], []
    for number, (question_draft, points) in enumerate(
        zip(questions, draft.points, strict=True), start=1
    ):
        if number <= len(old_ids):
            question = db.session.get(Question, old_ids[number - 1])
            if bank.edit_question(actor, question, question_draft, note) is not None:
                changed.append(f"第{number}小题")
        else:
            question = bank.add_question(actor, question_draft, audit=False)
            question.case_id = case.id
            db.session.flush()
            changed.append(f"第{number}小题（新增）")
        parts.append([question.id, _points_text(points)])
    for question_id in old_ids[len(parts) :]:
        question = db.session.get(Question, question_id)
        question.status = QuestionStatus.RETIRED.value
        changed.append("删除小题")
    own = []
    if draft.title.strip() != current.title:
        own.append("标题")
    if draft.material.strip().replace("\r\n", "\n") != current.material:
        own.append("材料")
    if draft.table != current.table:
        own.append("表格")
    if parts != current.parts:
        own.append("小题")
    if not own and not changed:
        return None
    # A sub-question's new version is a new case version too: papers drawn from now on
    # name the case as it now reads, papers frozen earlier keep theirs.
    version = _version(case, draft, parts, actor, note.strip() or "修改")
    _edited(actor, case, own + changed)
    return version


def _edited(actor: Actor, case: Case, changed: list[str]) -> None:
    if case.status != QuestionStatus.RETIRED.value:
        case.status = _status_of(case).value
    db.session.flush()
    record(
        actor,
        "case.edit",
        object_type="case",
        object_id=case.id,
        summary=f"第 {case.current_number} 版：{'、'.join(changed)}",
        detail={"version": case.current_number, "changed": changed},
    )


def edit_part(
    actor: Actor, question: Question, draft: QuestionDraft, note: str = ""
) -> QuestionVersion | None:
    """A sub-question edited on its own (the question form): its new version, and a new
    version of its case as edit_case makes. None when nothing changed."""
    case = db.session.get(Case, question.case_id)
    if draft.type not in CASE_PART_TYPES:
        raise BankError({"type": "案例的小题只能是单选、多选、判断或填空题"})
    version = bank.edit_question(actor, question, draft, note)
    if version is None:
        return None
    current = case.current_version
    number = [question_id for question_id, _ in current.parts].index(question.id) + 1
    same = CaseDraft(current.title, current.material, [], [], [list(row) for row in current.table])
    changed = [f"第{number}小题"]
    parts = [list(part) for part in current.parts]
    _version(case, same, parts, actor, note.strip() or f"修改第{number}小题")
    _edited(actor, case, changed)
    return version


def _status_of(case: Case) -> QuestionStatus:
    """待复核 while a sub-question is (a law it cites was revised), else 在用."""
    ids = [question_id for question_id, _ in case.current_version.parts]
    flagged = db.session.scalar(
        select(Question.id)
        .where(Question.id.in_(ids), Question.status == QuestionStatus.NEEDS_REVIEW.value)
        .limit(1)
    )
    return QuestionStatus.NEEDS_REVIEW if flagged else QuestionStatus.ACTIVE


def retire_case(actor: Actor, case: Case) -> None:
    if case.status == QuestionStatus.RETIRED.value:
        raise BankError({"status": "该案例已停用"})
    case.status = QuestionStatus.RETIRED.value
    record(actor, "case.retire", object_type="case", object_id=case.id, summary=case.title)


def restore_case(actor: Actor, case: Case) -> None:
    if case.status != QuestionStatus.RETIRED.value:
        raise BankError({"status": "该案例未停用"})
    case.status = _status_of(case).value
    record(actor, "case.restore", object_type="case", object_id=case.id, summary=case.title)


def parts_of(version: CaseVersion) -> list[tuple[Question, Decimal]]:
    """The sub-questions of a case version in order, with their points."""
    ids = [question_id for question_id, _ in version.parts]
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [(found[question_id], Decimal(points)) for question_id, points in version.parts]


def draft_of(case: Case) -> CaseDraft:
    """The case as it stands, to fill the edit form."""
    version = case.current_version
    parts = parts_of(version)
    return CaseDraft(
        title=version.title,
        material=version.material,
        questions=[bank.current_draft(question) for question, _ in parts],
        points=[points for _, points in parts],
        table=[list(row) for row in version.table],
    )


def cases(status: str | None = None) -> list[Case]:
    stmt = select(Case).order_by(Case.id.desc())
    if status:
        stmt = stmt.where(Case.status == status)
    return list(db.session.scalars(stmt))


# --- the sub-questions as text --------------------------------------------------------


def numbered_text(drafts: list[QuestionDraft]) -> str:
    """Sub-questions in the numbered layout the text importer reads (formats.numbered),
    so the case form edits them as one text and reads them back the same way."""
    blocks = []
    for number, draft in enumerate(drafts, start=1):
        lines = [f"{number}．【{_TAGS[draft.type]}】{draft.stem}"]
        if draft.type in ("single", "multiple"):
            lines += [f"{LETTERS[i]}．{choice}" for i, choice in enumerate(draft.choices)]
            lines.append("答案：" + "".join(LETTERS[i] for i in draft.answer))
        elif draft.type == "true_false":
            lines.append("答案：" + TRUE_FALSE_CHOICES[draft.answer[0]])
        else:
            lines.append("答案：" + "|".join("/".join(blank) for blank in draft.blanks))
        if draft.explanation:
            lines.append("解析：" + " ".join(draft.explanation.split("\n")))
        if draft.law_refs:
            lines.append("法律依据：" + format_law_refs(draft.law_refs))
        if draft.topics:
            lines.append("知识点：" + "、".join(draft.topics))
        if draft.difficulty:
            lines.append(f"难度：{draft.difficulty}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


_TAGS = {"single": "单选题", "multiple": "多选题", "true_false": "判断题", "fill_blank": "填空题"}


def parse_parts(text: str) -> tuple[list[QuestionDraft], str | None]:
    """The sub-questions typed in the case form (the numbered layout), or why not."""
    result = parse_numbered(text.encode("utf-8"))
    if result.errors:
        first = result.errors[:3]
        return [], "；".join(
            f"第{error.row}行{('「' + error.column + '」') if error.column else ''}："
            f"{clip(error.message, 60)}"
            for error in first
        )
    return [row.draft for row in result.rows], None
