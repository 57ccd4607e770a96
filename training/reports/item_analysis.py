"""Item analysis of an exam: which attempts count, their points per item and the choices
picked, read from the database; the statistics themselves are question_bank's
(item_statistics). Results are kept per process, keyed on a stamp of the exam's submitted
attempts that any submission or regrade changes, so a stale analysis is never shown."""

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from core.errors import ServiceError
from core.extensions import db
from question_bank import item_statistics, queries
from question_bank.item_statistics import ChoiceCount, ItemScores, ItemStatistics, PaperStatistics
from question_bank.types import QUESTION_TYPES, with_editor
from training.exams.models import Attempt, AttemptStatus, Exam, PaperItem, Response
from training.exams.results import counted_order
from training.scoring import AttemptRule

#: which attempts an analysis reads (Moodle's default: each person's first)
WHICH = {"first": "每人第一次作答", "best": "每人最高分的一次", "all": "全部作答"}
DEFAULT_WHICH = "first"
#: types answered by picking choices, whose choices get counted (a fill-in answer is text)
CHOICE_TYPES = frozenset(QUESTION_TYPES) - frozenset(with_editor("blanks"))


class ReportError(ServiceError):
    code = "bad_report_request"


@dataclass
class ItemRow:
    """One question of the paper: its statistics, the version, how choices were picked."""

    stats: ItemStatistics
    question_id: int
    version_number: int
    type_label: str
    stem: str
    choices: list[ChoiceCount]


@dataclass
class ExamAnalysis:
    exam_id: int
    which: str
    paper: PaperStatistics
    rows: list[ItemRow]

    @property
    def which_label(self) -> str:
        return WHICH[self.which]

    @property
    def flagged(self) -> list[ItemRow]:
        return [row for row in self.rows if row.stats.flags]

    def row_of_versions(self, version_ids: set[int]) -> list[ItemRow]:
        return [row for row in self.rows if row.stats.key in version_ids]


def chosen_attempts(exam_id: int, which: str):
    """The ids of the submitted attempts an analysis reads, as a subquery."""
    if which not in WHICH:
        raise ReportError("请选择要统计的作答：每人第一次、每人最高分或全部。")
    submitted = (Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.SUBMITTED.value)
    if which == "all":
        return select(Attempt.id).where(*submitted).subquery("chosen")
    if which == "first":
        # The first attempt each person handed in (number 1, unless it is still open).
        first = (
            select(Attempt.user_id, func.min(Attempt.number).label("number"))
            .where(*submitted)
            .group_by(Attempt.user_id)
            .subquery("first")
        )
        return (
            select(Attempt.id)
            .join(first, (first.c.user_id == Attempt.user_id) & (first.c.number == Attempt.number))
            .where(Attempt.exam_id == exam_id)
            .subquery("chosen")
        )
    ranked = (
        select(
            Attempt.id,
            func.row_number()
            .over(partition_by=Attempt.user_id, order_by=counted_order(AttemptRule.BEST))
            .label("rank"),
        )
        .where(*submitted)
        .subquery("ranked")
    )
    return select(ranked.c.id).where(ranked.c.rank == 1).subquery("chosen")


def stamp(exam_id: int) -> tuple:
    """What changes whenever the analysis would: a submission (count, newest time) or a
    regrade (the scores' sum, and the pools' revision it bumps)."""
    submitted = db.session.execute(
        select(func.count(), func.max(Attempt.submitted_at), func.sum(Attempt.score)).where(
            Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.SUBMITTED.value
        )
    ).one()
    revision = db.session.scalar(select(Exam.pools_revision).where(Exam.id == exam_id))
    return (*map(str, submitted), revision)


_CACHE: dict[tuple[int, str], tuple[tuple, ExamAnalysis]] = {}
_CACHE_SIZE = 32


def analyse_exam(exam: Exam, which: str = DEFAULT_WHICH) -> ExamAnalysis:
    """The exam's item analysis over the chosen attempts, from the cache when no attempt
    was submitted or regraded since."""
    current = stamp(exam.id)
    cached = _CACHE.get((exam.id, which))
    if cached is not None and cached[0] == current:
        return cached[1]
    analysis = _compute(exam.id, which)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[(exam.id, which)] = (current, analysis)
    return analysis


def _compute(exam_id: int, which: str) -> ExamAnalysis:
    chosen = chosen_attempts(exam_id, which)
    points: dict[int, dict[int, float]] = defaultdict(dict)
    max_points: dict[int, float] = {}
    rows = db.session.execute(
        select(
            PaperItem.question_version_id, PaperItem.attempt_id, PaperItem.earned, PaperItem.points
        ).join(chosen, chosen.c.id == PaperItem.attempt_id)
    )
    for version_id, attempt_id, earned, full in rows:
        points[version_id][attempt_id] = float(earned or 0)
        max_points[version_id] = float(full)
    versions = queries.versions_by_id(points)
    choice_ids = [vid for vid, version in versions.items() if version.type in CHOICE_TYPES]
    answers = _answers(chosen, choice_ids)
    # In the order the paper was built: by type as the blueprint lists them, then question.
    order = sorted(points, key=lambda vid: (versions[vid].question_id, vid))
    paper = item_statistics.paper_statistics(
        ItemScores(vid, max_points[vid], points[vid]) for vid in order
    )
    item_rows = []
    for stats in paper.items:
        version = versions[stats.key]
        choices = []
        if version.type in CHOICE_TYPES:
            counts = answers.get(stats.key, {})
            choices = item_statistics.choice_counts(version.choices, version.answer, counts)
        item_rows.append(
            ItemRow(
                stats,
                version.question_id,
                version.number,
                QUESTION_TYPES.get(version.type, version.type),
                version.stem,
                choices,
            )
        )
    return ExamAnalysis(exam_id, which, paper, item_rows)


def _answers(chosen, version_ids: list[int]) -> dict[int, dict[tuple, int]]:
    """Per choice question version: each distinct answer given (as a tuple of choice
    indices; () unanswered) and how many gave it, grouped by the answer's text in SQL."""
    found: dict[int, dict[tuple, int]] = defaultdict(dict)
    if not version_ids:
        return found
    answer_text = func.cast(Response.answer, db.Text)
    rows = db.session.execute(
        select(PaperItem.question_version_id, answer_text, func.count())
        .join(chosen, chosen.c.id == PaperItem.attempt_id)
        .outerjoin(Response, Response.item_id == PaperItem.id)
        .where(PaperItem.question_version_id.in_(version_ids))
        .group_by(PaperItem.question_version_id, answer_text)
    )
    for version_id, text, times in rows:
        answer = _parse(text)
        counts = found[version_id]
        counts[answer] = counts.get(answer, 0) + times
    return found


def _parse(text: str | None) -> tuple:
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(value) if isinstance(value, list) else ()


@dataclass
class QuestionUse:
    """One exam's figures for a question."""

    exam: Exam
    analysis: ExamAnalysis
    rows: list[ItemRow]


def question_across_exams(question_id: int, which: str = DEFAULT_WHICH) -> list[QuestionUse]:
    """Every exam whose papers had a version of the question, with its figures there."""
    version_ids = set(db.session.scalars(queries.version_ids_of(question_id)))
    exam_ids = db.session.scalars(
        select(Attempt.exam_id)
        .join(PaperItem, PaperItem.attempt_id == Attempt.id)
        .where(PaperItem.question_version_id.in_(version_ids))
        .where(Attempt.status == AttemptStatus.SUBMITTED.value)
        .distinct()
    ).all()
    uses = []
    for exam in db.session.scalars(
        select(Exam).where(Exam.id.in_(exam_ids)).order_by(Exam.id.desc())
    ):
        analysis = analyse_exam(exam, which)
        uses.append(QuestionUse(exam, analysis, analysis.row_of_versions(version_ids)))
    return uses


def flagged_if_known(exam: Exam) -> int | None:
    """How many items the exam's default analysis flags, when it is cached and fresh (a
    home page must not run an analysis of 20,000 attempts); None otherwise."""
    cached = _CACHE.get((exam.id, DEFAULT_WHICH))
    if cached is None or cached[0] != stamp(exam.id):
        return None
    return len(cached[1].flagged)
