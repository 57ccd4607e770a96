"""Item analysis of an exam: which attempts count, their points per item and the choices
picked, added up in the database; the statistics themselves are question_bank's
(item_statistics, from counts). The counts are stored (item_analysis_counts, shared by
every worker and kept across restarts) with a stamp of the exam's submitted attempts that
any submission, mark or regrade changes, so a stale analysis is never shown."""

import json
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import aliased

from core import upserts
from core.errors import ServiceError
from core.extensions import db
from question_bank import item_statistics, queries
from question_bank.item_statistics import ChoiceCount, ItemStatistics, ItemTally, PaperStatistics
from question_bank.types import QUESTION_TYPES, with_editor
from training.exams.models import Attempt, AttemptStatus, Exam, Mark, PaperItem, Response
from training.reports.models import ItemAnalysisCounts

#: which attempts an analysis reads (Moodle's default: each person's first)
WHICH = {"first": "每人第一次作答", "best": "每人最高分的一次", "all": "全部作答"}
DEFAULT_WHICH = "first"
#: types answered by picking choices, whose choices get counted (fill-in and written
#: answers are text)
CHOICE_TYPES = frozenset(with_editor("choices") + with_editor("judgement"))


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
    """The submitted attempts an analysis reads, as a subquery of (id, score): those with
    a score (one awaiting marks has no total yet; it counts once marked).

    Each person's first or best is the attempt with no earlier (better) one: an anti-join
    whose size the database estimates well, so it adds up a million paper items by hash
    (a join to per-person minima is estimated at a few rows, and sorted on disk)."""
    if which not in WHICH:
        raise ReportError("请选择要统计的作答：每人第一次、每人最高分或全部。")
    submitted = (Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.SUBMITTED.value)
    chosen = select(Attempt.id, Attempt.score).where(*submitted, Attempt.score.is_not(None))
    if which == "all":
        return chosen.subquery("chosen")
    other = aliased(Attempt, name="other")
    if which == "first":
        # The first attempt each person handed in (number 1, unless it is still open).
        before = other.number < Attempt.number
    else:
        # The best (scoring.counted_attempt): the highest score, the earliest on a tie.
        before = or_(
            other.score > Attempt.score,
            and_(other.score == Attempt.score, other.number < Attempt.number),
        )
    earlier = (
        select(other.id)
        .where(other.exam_id == exam_id, other.status == AttemptStatus.SUBMITTED.value)
        .where(other.user_id == Attempt.user_id, before)
    )
    return chosen.where(~earlier.exists()).subquery("chosen")


def stamp(exam_id: int) -> str:
    """What changes whenever the analysis would: a submission (count, newest time), a
    regrade (the scores' sum, and the pools' revision a regrade bumps) and a mark or its
    correction (marks are only ever added: the newest mark's id). The scored count too: a
    paper awaiting marks joins when marked, even marked 0, which moves no sum."""
    submitted = db.session.execute(
        select(
            func.count(),
            func.count(Attempt.score),
            func.max(Attempt.submitted_at),
            func.sum(Attempt.score),
        ).where(Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.SUBMITTED.value)
    ).one()
    newest_mark = db.session.scalar(
        select(func.max(Mark.id))
        .join(Attempt, Attempt.id == Mark.attempt_id)
        .where(Attempt.exam_id == exam_id)
    )
    revision = db.session.scalar(select(Exam.pools_revision).where(Exam.id == exam_id))
    return "|".join(map(str, (*submitted, newest_mark, revision)))


def analyse_exam(exam: Exam, which: str = DEFAULT_WHICH) -> ExamAnalysis:
    """The exam's item analysis over the chosen attempts, from the stored counts when no
    attempt was submitted, marked or regraded since they were counted."""
    return _analysis(exam.id, which, counts_of(exam.id, which))


def counts_of(exam_id: int, which: str) -> dict:
    """The counts the analysis is computed from: stored ones when their stamp is still
    the exam's, else counted again (in SQL) and stored for every worker."""
    current = stamp(exam_id)
    stored = db.session.get(ItemAnalysisCounts, (exam_id, which))
    if stored is not None and stored.stamp == current:
        return stored.counts
    counts = count(exam_id, which)
    if stored is not None:
        stored.stamp, stored.counts = current, counts
        return counts
    # Two workers may count the same exam at once: the second stores over the first.
    values = {"exam_id": exam_id, "which": which, "stamp": current, "counts": counts}
    insert = upserts.insert(ItemAnalysisCounts).values(values)
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["exam_id", "which"], set_={"stamp": current, "counts": counts}
        )
    )
    return counts


def count(exam_id: int, which: str) -> dict:
    """Everything the statistics need, added up in SQL in one pass over the papers (never
    a row per attempt and item in Python): per question version its full points, how many
    attempts scored x on it with a total of T, for each (x, T), and for choice questions
    how many gave each distinct answer; and how many attempts had each total.

    T is the attempt's score, which is the sum of its items' points (scoring.total)."""
    chosen = chosen_attempts(exam_id, which)
    if db.engine.dialect.name == "postgresql":
        # A million paper items joined to their responses: hashed in memory, not on disk.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
    earned = func.coalesce(PaperItem.earned, 0)
    # Answers that are lists of numbers (choices picked), grouped by their text; a text
    # answer (fill-in, written) has a quote in it and is left out, so free text is never
    # grouped. Which versions are choice questions is settled in Python.
    answer = func.cast(Response.answer, db.Text)
    picked = case((answer.not_like('%"%'), answer))
    rows = db.session.execute(
        select(
            PaperItem.question_version_id,
            earned,
            chosen.c.score,
            picked,
            func.max(PaperItem.points),
            func.count(),
        )
        .join(chosen, chosen.c.id == PaperItem.attempt_id)
        .outerjoin(Response, Response.item_id == PaperItem.id)
        .group_by(PaperItem.question_version_id, earned, chosen.c.score, picked)
    )
    items: dict[int, dict] = {}
    for version_id, points, total, given, full, times in rows:
        item = items.setdefault(version_id, {"max": 0.0, "joint": Counter(), "answers": Counter()})
        item["max"] = max(item["max"], float(full))
        item["joint"][(float(points), float(total))] += times
        if given is not None:
            item["answers"][given] += times
    versions = queries.versions_by_id(items)
    for version_id, item in items.items():
        if versions[version_id].type not in CHOICE_TYPES:
            item["answers"].clear()
    totals = db.session.execute(select(chosen.c.score, func.count()).group_by(chosen.c.score))
    return {
        "totals": [[float(total), times] for total, times in totals],
        "items": [
            [
                version_id,
                {
                    "max": item["max"],
                    "joint": [[x, t, times] for (x, t), times in item["joint"].items()],
                    "answers": list(map(list, item["answers"].items())),
                },
            ]
            for version_id, item in items.items()
        ],
    }


def _analysis(exam_id: int, which: str, counts: dict) -> ExamAnalysis:
    tallies = {
        version_id: ItemTally(
            version_id, item["max"], {(x, total): times for x, total, times in item["joint"]}
        )
        for version_id, item in counts["items"]
    }
    versions = queries.versions_by_id(tallies)
    # In the order the paper was built: by type as the blueprint lists them, then question.
    order = sorted(tallies, key=lambda vid: (versions[vid].question_id, vid))
    paper = item_statistics.paper_statistics_of_tallies(
        [tallies[vid] for vid in order], dict(counts["totals"])
    )
    answers = {version_id: item["answers"] for version_id, item in counts["items"]}
    item_rows = []
    for stats in paper.items:
        version = versions[stats.key]
        choices = []
        if version.type in CHOICE_TYPES:
            given: Counter = Counter()
            for text, times in answers[stats.key]:
                given[_parse(text)] += times
            given[()] += stats.count - given.total()
            choices = item_statistics.choice_counts(version.choices, version.answer, given)
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
    """How many items the exam's default analysis flags, when its counts are stored and
    fresh (a home page must not count 20,000 attempts); None otherwise."""
    stored = db.session.get(ItemAnalysisCounts, (exam.id, DEFAULT_WHICH))
    if stored is None or stored.stamp != stamp(exam.id):
        return None
    return len(_analysis(exam.id, DEFAULT_WHICH, stored.counts).flagged)
