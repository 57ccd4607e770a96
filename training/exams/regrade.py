"""Regrading after a key correction: which questions an exam used have a newer
version, a preview of what correcting one would do, and applying it (audited).

Functions flush; the request commits once.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from core.audit import Actor, record
from core.extensions import db
from question_bank import bank, queries, types
from training import scoring
from training.exams import attempts
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ExamStatus,
    PaperItem,
    Response,
)
from training.exams.setup import SetupError
from training.reports import summaries

if TYPE_CHECKING:
    from question_bank.models import Question, QuestionVersion


@dataclass
class RegradeCandidate:
    """A question an exam used that has a newer version since."""

    question: "Question"
    used: "list[QuestionVersion]"
    current: "QuestionVersion"
    #: fields changed between each used version and the current one
    changed: list[str]

    @property
    def key_only(self) -> bool:
        return self.changed == ["答案"]


@dataclass
class RegradeRow:
    attempt: Attempt
    old_points: Decimal
    new_points: Decimal
    #: None (and passed None) while the attempt waits for marks (待阅卷), as scoring leaves it
    old_score: Decimal | None
    new_score: Decimal | None
    old_passed: bool | None
    new_passed: bool | None
    old_grade: str
    new_grade: str

    @property
    def score_changed(self) -> bool:
        return self.old_score != self.new_score

    @property
    def pass_changed(self) -> bool:
        return self.old_passed != self.new_passed


@dataclass
class RegradePlan:
    exam: Exam
    question: "Question"
    old_versions: "list[QuestionVersion]"
    new_version: "QuestionVersion"
    #: every submitted attempt that has the question
    rows: list[RegradeRow]
    #: paper items (of submitted and open attempts) that move to the corrected version
    items: list[PaperItem]
    in_progress: int

    @property
    def score_changes(self) -> int:
        return sum(row.score_changed for row in self.rows)

    @property
    def pass_changes(self) -> int:
        return sum(row.pass_changed for row in self.rows)


def _is_case(entry) -> bool:
    """A case section's pool entry: (case id, case version id, sub-questions)."""
    return isinstance(entry[2], list | tuple)


def _entry_version_ids(entry) -> list[int]:
    """The question versions a pool entry may put on a paper."""
    return [part[0] for part in entry[2]] if _is_case(entry) else [entry[1]]


def _corrected(entry, old_ids: set[int], new_id: int) -> list:
    if _is_case(entry):
        parts = [[new_id if part[0] in old_ids else part[0], *part[1:]] for part in entry[2]]
        return [entry[0], entry[1], parts]
    return [entry[0], new_id if entry[1] in old_ids else entry[1], entry[2]]


def _used_version_ids(exam: Exam) -> set[int]:
    in_pools = {
        version_id
        for pool in exam.pools or []
        for entry in pool
        for version_id in _entry_version_ids(entry)
    }
    on_papers = set(
        db.session.scalars(
            select(PaperItem.question_version_id)
            .join(Attempt, Attempt.id == PaperItem.attempt_id)
            .where(Attempt.exam_id == exam.id)
            .distinct()
        )
    )
    return in_pools | on_papers


# Topics are tagged in bulk without a new version, so the next edit's version carries
# tags the old one lacks; they are no part of what a candidate saw or how it is marked.
IGNORED_FOR_REGRADE = ("知识点",)


def _changed(old: "QuestionVersion", new: "QuestionVersion") -> list[str]:
    changed = bank.changed_fields(bank.draft_of(old), bank.draft_of(new))
    return [name for name in changed if name not in IGNORED_FOR_REGRADE]


def regrade_candidates(exam: Exam) -> list[RegradeCandidate]:
    """Questions the exam used (in its pools or on a paper) that have a newer version."""
    versions = queries.outdated_versions(_used_version_ids(exam))
    by_question = defaultdict(list)
    for version in versions:
        by_question[version.question].append(version)
    found = []
    for question, used in by_question.items():
        current = question.current_version
        changed = []
        for version in used:
            changed += [name for name in _changed(version, current) if name not in changed]
        found.append(RegradeCandidate(question, used, current, changed))
    return found


def check_not_candidate(user_id: int | None, exam: Exam) -> None:
    """Nobody regrades (or previews the regrade of) an exam they sit or sat."""
    if user_id is not None and attempts.is_candidate(user_id, exam):
        raise SetupError(
            "您是本考试的考生，不能查看或执行本考试的重新评分。", code="forbidden", status=403
        )


def regrade_preview(exam: Exam, question_id: int) -> RegradePlan:
    """What correcting the key of `question_id` would do to the exam's attempts: the
    items and totals before and after. Writes nothing.

    Only a newer version whose sole change is the key qualifies: the candidates saw the
    same stem and choices, so only the marking may change."""
    if exam.status == ExamStatus.DRAFT.value:
        raise SetupError("考试尚未发布，没有需要重新评分的答卷。")
    question = queries.question(question_id)
    if question is None:
        raise SetupError("试题不存在。")
    new = question.current_version
    old_versions = queries.versions_of(question.id, among=_used_version_ids(exam), excluding=new.id)
    if not old_versions:
        raise SetupError(f"本考试没有使用试题 #{question.id} 的旧版本，无需重新评分。")
    for old in old_versions:
        changed = _changed(old, new)
        if changed != ["答案"]:
            others = "、".join(name for name in changed if name != "答案") or "无"
            raise SetupError(
                f"试题 #{question.id} 第{old.number}版到第{new.number}版的修改不只是答案"
                f"（还修改了：{others}），不能按更正答案重新评分。"
            )
    old_ids = {version.id for version in old_versions}
    items = db.session.scalars(
        select(PaperItem)
        .join(Attempt, Attempt.id == PaperItem.attempt_id)
        .where(Attempt.exam_id == exam.id, PaperItem.question_version_id.in_(old_ids))
        .order_by(PaperItem.attempt_id, PaperItem.position)
    ).all()
    answers = {
        response.item_id: response.answer
        for response in db.session.scalars(
            select(Response).where(Response.item_id.in_([item.id for item in items]))
        )
    }
    key = types.Key.of(new)
    policy = types.MultiplePolicy(exam.multiple_policy)
    bands = [(Decimal(str(threshold)), label) for threshold, label in exam.grade_bands]
    new_points = {
        item.id: types.grade(key, answers.get(item.id), item.points, policy) for item in items
    }
    affected = db.session.scalars(
        select(Attempt)
        .options(selectinload(Attempt.items), joinedload(Attempt.user))
        .where(Attempt.id.in_({item.attempt_id for item in items}))
        .order_by(Attempt.id)
        .execution_options(populate_existing=True)
    ).all()
    rows, in_progress = [], 0
    for attempt in affected:
        if attempt.status != AttemptStatus.SUBMITTED.value:
            in_progress += 1
            continue
        mine = [item for item in attempt.items if item.id in new_points]
        earned = [new_points.get(item.id, item.earned) for item in attempt.items]
        # As score_attempt does: a written answer not yet settled leaves no total (待阅卷).
        result = (
            None
            if any(points is None for points in earned)
            else scoring.total(earned, attempt.max_score, exam.pass_mark, bands)
        )
        rows.append(
            RegradeRow(
                attempt=attempt,
                old_points=sum((_earned(item) for item in mine), Decimal(0)),
                new_points=sum((new_points[item.id] for item in mine), Decimal(0)),
                old_score=attempt.score,
                new_score=result.score if result else None,
                old_passed=attempt.passed,
                new_passed=result.passed if result else None,
                old_grade=attempt.grade_label,
                new_grade=result.grade_label if result else "",
            )
        )
    return RegradePlan(exam, question, list(old_versions), new, rows, list(items), in_progress)


def _shown(score: Decimal | None) -> str:
    return "待阅卷" if score is None else str(score)


def _earned(item: PaperItem) -> Decimal:
    # Not `item.earned or 0`: Decimal("0.00") is falsy and would lose its two places.
    return Decimal("0.00") if item.earned is None else item.earned


def apply_regrade(actor: Actor, exam: Exam, question_id: int) -> RegradePlan:
    """Move the exam's papers (and what later attempts draw) to the corrected version and
    re-score every submitted attempt that had the question; one audit entry."""
    check_not_candidate(actor.id, exam)
    # Hold the attempts that have the question, so a candidate submitting right now is
    # scored either before the move (and re-scored here) or after it (with the new key).
    db.session.execute(
        select(Attempt.id)
        .where(Attempt.exam_id == exam.id)
        .where(
            Attempt.id.in_(
                select(PaperItem.attempt_id).where(
                    PaperItem.question_version_id.in_(queries.version_ids_of(question_id))
                )
            )
        )
        .with_for_update()
    )
    plan = regrade_preview(exam, question_id)
    old_ids = {version.id for version in plan.old_versions}
    for item in plan.items:
        item.question_version = plan.new_version
    if exam.pools:
        exam.pools = [
            [_corrected(entry, old_ids, plan.new_version.id) for entry in pool]
            for pool in exam.pools
        ]
        # In SQL, so two regrades at once cannot both write the same next revision.
        exam.pools_revision = Exam.pools_revision + 1
    before = summaries.outcomes(exam, {row.attempt.user_id for row in plan.rows})
    for row in plan.rows:
        attempts.score_attempt(row.attempt)
    db.session.flush()
    summaries.regraded(exam, before)
    old_numbers = "、".join(f"第{version.number}版" for version in plan.old_versions)
    record(
        actor,
        "exam.regrade",
        object_type="exam",
        object_id=exam.id,
        summary=(
            f"{exam.title}：试题 #{plan.question.id} {old_numbers}→第{plan.new_version.number}版，"
            f"重新评分 {len(plan.rows)} 份答卷，{plan.score_changes} 份成绩变化，"
            f"{plan.pass_changes} 人合格情况变化"
        ),
        detail={
            "question": plan.question.id,
            "from_versions": sorted(old_ids),
            "to_version": plan.new_version.id,
            "attempts": len(plan.rows),
            "score_changes": plan.score_changes,
            "pass_changes": plan.pass_changes,
            "in_progress": plan.in_progress,
            "items": len(plan.items),
            "changes": [
                {
                    "attempt": row.attempt.id,
                    "score": [_shown(row.old_score), _shown(row.new_score)],
                    "passed": [row.old_passed, row.new_passed],
                }
                for row in plan.rows
                if row.score_changed or row.pass_changed
            ],
        },
    )
    return plan
