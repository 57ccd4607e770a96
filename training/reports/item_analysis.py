"""Item analysis of an exam: which attempts count, their points per item and the choices
picked, added up in the database; the statistics themselves are question_bank's
(item_statistics, from counts). The counts are stored (item_analysis_counts, shared by
every worker and kept across restarts) with the attempts they count and a stamp that any
submission, mark, regrade or reopening changes, so a stale analysis is never shown: the
attempts chosen since are added to them (a submission costs the counting of one paper),
and only when an attempt already counted changed are all the papers counted again."""

import json
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased

from core import upserts
from core.errors import ServiceError
from core.extensions import db
from question_bank import item_statistics, queries
from question_bank.item_statistics import ChoiceCount, ItemStatistics, ItemTally, PaperStatistics
from question_bank.types import CHOICE_TYPES, QUESTION_TYPES
from training.exams.models import Attempt, AttemptStatus, Exam, PaperItem
from training.reports.models import ItemAnalysisCounts

#: which attempts an analysis reads (Moodle's default: each person's first)
WHICH = {"first": "每人第一次作答", "best": "每人最高分的一次", "all": "全部作答"}
DEFAULT_WHICH = "first"


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
    """The submitted attempts an analysis reads, as a select of (id, score, revision): those
    with a score (one awaiting marks has no total yet; it counts once marked).

    Each person's first or best is the attempt with no earlier (better) one: an anti-join
    whose size the database estimates well, so it adds up a million paper items by hash
    (a join to per-person minima is estimated at a few rows, and sorted on disk)."""
    if which not in WHICH:
        raise ReportError("请选择要统计的作答：每人第一次、每人最高分或全部。")
    submitted = (Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.SUBMITTED.value)
    chosen = select(Attempt.id, Attempt.score, Attempt.revision).where(
        *submitted, Attempt.score.is_not(None)
    )
    if which == "all":
        return chosen
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
    return chosen.where(~earlier.exists())


def stamp(exam_id: int) -> str:
    """What changes whenever the analysis may: every scoring of an attempt (a submission,
    a mark, a regrade) and every reopening bumps the attempt's revision, and revisions
    never go back, so their sum over the exam's attempts grows with each change."""
    row = db.session.execute(
        select(func.count(), func.max(Attempt.id), func.sum(Attempt.revision)).where(
            Attempt.exam_id == exam_id
        )
    ).one()
    return "|".join(map(str, row))


def analyse_exam(exam: Exam, which: str = DEFAULT_WHICH) -> ExamAnalysis:
    """The exam's item analysis over the chosen attempts, from the stored counts, brought
    up to date first when an attempt was submitted, marked, regraded or reopened since."""
    return _analysis(exam.id, which, counts_of(exam.id, which))


@dataclass
class Counts:
    """Everything the statistics need, over a set of attempts, as counts that can be added
    to and taken away from: per question version, how many of its items had full points
    f and earned x on an attempt whose total was T, for each (f, x, T), and how many gave
    each answer that is a list of choices; how many attempts had each total; and the
    attempts counted (id -> revision).

    T is the attempt's score, which is the sum of its items' points (scoring.total)."""

    joint: dict[int, Counter]
    answers: dict[int, Counter]
    totals: Counter
    members: dict[int, int]

    @classmethod
    def empty(cls) -> "Counts":
        return cls({}, {}, Counter(), {})

    def add(self, other: "Counts", sign: int = 1) -> None:
        """Add `other`'s counts (sign -1: take them away), members too."""
        for version_id, joint in other.joint.items():
            self.joint.setdefault(version_id, Counter()).update(_times(joint, sign))
        for version_id, answers in other.answers.items():
            self.answers.setdefault(version_id, Counter()).update(_times(answers, sign))
        self.totals.update(_times(other.totals, sign))
        if sign > 0:
            self.members |= other.members
        else:
            for attempt_id in other.members:
                del self.members[attempt_id]
        for counter in (*self.joint.values(), *self.answers.values(), self.totals):
            for key in [key for key, times in counter.items() if not times]:
                del counter[key]
        for found in (self.joint, self.answers):
            for version_id in [key for key, counter in found.items() if not counter]:
                del found[version_id]

    def to_json(self) -> dict:
        return {
            "totals": [[total, times] for total, times in self.totals.items()],
            "items": [
                [
                    version_id,
                    [[*key, times] for key, times in joint.items()],
                    [[given, times] for given, times in self.answers.get(version_id, {}).items()],
                ]
                for version_id, joint in self.joint.items()
            ],
        }

    @classmethod
    def of_json(cls, stored: dict, members: list | None = None) -> "Counts":
        counts = cls.empty()
        counts.totals.update(dict(stored["totals"]))
        for version_id, joint, answers in stored["items"]:
            counts.joint[version_id] = Counter({(f, x, t): times for f, x, t, times in joint})
            if answers:
                counts.answers[version_id] = Counter(dict(answers))
        counts.members = dict(members or [])
        return counts


def counts_of(exam_id: int, which: str) -> Counts:
    """The counts the analysis is computed from: stored ones when their stamp is still
    the exam's; else the stored ones with the attempts chosen since added (and those no
    longer chosen taken away), or, when a counted attempt changed, all counted again;
    stored for every worker."""
    current = stamp(exam_id)
    stored = db.session.get(ItemAnalysisCounts, (exam_id, which))
    if stored is not None and stored.stamp == current:
        return Counts.of_json(stored.counts)
    counts = None
    if (
        stored is not None
        and not _changed_a_lot(stored.stamp, current)
        and stored.members is not None
    ):
        counts = brought_up_to_date(exam_id, which, Counts.of_json(stored.counts, stored.members))
        if counts is not None and counts.members == dict(stored.members):
            stored.stamp = current  # an attempt opened, or scored but not chosen
            return counts
    if counts is None:
        counts = count(exam_id, which)
    values = {
        "stamp": current,
        "counts": counts.to_json(),
        "members": sorted(counts.members.items()),
    }
    if stored is not None:
        stored.stamp, stored.counts, stored.members = current, values["counts"], values["members"]
        return counts
    # Two workers may count the same exam at once: the second stores over the first (each
    # stores counts that match the attempts it lists).
    insert = upserts.insert(ItemAnalysisCounts).values(exam_id=exam_id, which=which, **values)
    db.session.execute(
        insert.on_conflict_do_update(index_elements=["exam_id", "which"], set_=values)
    )
    return counts


def brought_up_to_date(exam_id: int, which: str, counts: Counts) -> Counts | None:
    """`counts` with the attempts chosen since they were counted added and those no longer
    chosen taken away; None when that would not give the figures of counting afresh (an
    attempt counted was scored again or reopened since: what it added is not known any
    more), or would cost about as much (a large part of the attempts changed)."""
    chosen = chosen_attempts(exam_id, which).subquery("chosen")
    now = dict(db.session.execute(select(chosen.c.id, chosen.c.revision)).all())
    members = counts.members
    if any(members[attempt_id] != now[attempt_id] for attempt_id in now.keys() & members):
        return None
    added, removed = now.keys() - members, members.keys() - now.keys()
    if len(added) + len(removed) > max(MOST_ADDED, len(members) // 4):
        return None
    # Each as it is expected to be: one taken away as it was counted, one added as it was
    # just seen chosen (it may have changed since).
    for attempt_ids, expected, sign in ((removed, members, -1), (added, now, 1)):
        if not attempt_ids:
            continue
        picked = select(Attempt.id, Attempt.score, Attempt.revision).where(
            Attempt.id.in_(sorted(attempt_ids)), Attempt.score.is_not(None)
        )
        change = _tally(picked)
        if change.members != {attempt_id: expected[attempt_id] for attempt_id in attempt_ids}:
            return None
        counts.add(change, sign)
    return counts


#: attempts added or taken away at most, beyond a quarter of those counted, for the
#: counts to be brought up to date rather than counted again
MOST_ADDED = 2000


def _changed_a_lot(then: str, now: str) -> bool:
    """Whether the exam's attempts were scored or reopened more times between two stamps
    than counts are brought up to date for (each time bumps the sum of revisions): then
    all is counted again without first reading which attempts changed (after a regrade of
    20,000 attempts that read alone took 0.2-0.3 s; bench/README, session 7)."""
    attempts, _newest, revisions = now.split("|")
    bumps = _revisions(revisions) - _revisions(then.split("|")[2])
    return bumps > max(MOST_ADDED, int(attempts) // 4)


def _revisions(total: str) -> int:
    return 0 if total == "None" else int(total)


def count(exam_id: int, which: str) -> Counts:
    """The counts over the chosen attempts, added up in SQL in one pass over the papers
    (never a row per attempt and item in Python)."""
    return _tally(chosen_attempts(exam_id, which))


def _tally(chosen) -> Counts:
    """The counts over the attempts of `chosen` (a select of id, score, revision)."""
    counts = Counts.empty()
    statement = tally_statement(chosen)
    for kind, key, full, points, total, given, times in db.session.execute(statement):
        if kind == "attempt":
            counts.totals[float(total)] += 1
            counts.members[key] = times
            continue
        joint = counts.joint.setdefault(key, Counter())
        joint[(float(full), float(points), float(total))] += times
        if given is not None:
            counts.answers.setdefault(key, Counter())[given] += times
    return counts


def tally_statement(chosen):
    """The items of `chosen`'s attempts grouped by (version, full points, points, total,
    choices picked), and the attempts themselves with their revision, in one statement, so
    that both are read at the same moment. The papers alone: each item keeps the choices
    it was scored on (PaperItem.picked), so no response is read (joining a million
    responses to their items was half the time of a full count; bench/README, session 7)."""
    attempts = chosen.subquery("chosen_attempts")
    chosen = chosen.subquery("chosen")
    earned = func.coalesce(PaperItem.earned, 0)
    # Grouped by their text (JSON has no equality in PostgreSQL); parsed when shown.
    picked = func.cast(PaperItem.picked, db.Text)
    items = (
        select(
            literal("item"),
            PaperItem.question_version_id,
            PaperItem.points,
            earned,
            chosen.c.score,
            picked,
            func.count(),
        )
        .join(chosen, chosen.c.id == PaperItem.attempt_id)
        .group_by(PaperItem.question_version_id, PaperItem.points, earned, chosen.c.score, picked)
    )
    nothing = null()
    counted = select(
        literal("attempt"),
        attempts.c.id,
        nothing.cast(PaperItem.points.type),
        nothing.cast(PaperItem.points.type),
        attempts.c.score,
        nothing.cast(db.Text),
        attempts.c.revision,
    )
    return union_all(items, counted)


def _times(counter: Counter, sign: int) -> Counter:
    return counter if sign == 1 else Counter({key: -times for key, times in counter.items()})


def _analysis(exam_id: int, which: str, counts: Counts) -> ExamAnalysis:
    tallies = {}
    for version_id, joint in counts.joint.items():
        by_points: Counter = Counter()
        for (_full, points, total), times in joint.items():
            by_points[(points, total)] += times
        full = max(full for full, _points, _total in joint)
        tallies[version_id] = ItemTally(version_id, full, by_points)
    versions = queries.versions_by_id(tallies)
    # In the order the paper was built: by type as the blueprint lists them, then question.
    order = sorted(tallies, key=lambda vid: (versions[vid].question_id, vid))
    paper = item_statistics.paper_statistics_of_tallies(
        [tallies[vid] for vid in order], counts.totals
    )
    answers = counts.answers
    item_rows = []
    for stats in paper.items:
        version = versions[stats.key]
        choices = []
        if version.type in CHOICE_TYPES:
            given: Counter = Counter()
            for text, times in answers.get(stats.key, {}).items():
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
    # The question's paper items (by index), each one's attempt looked up by its key. Not a
    # join: with the statistics behind the newest attempts, the planner merged the items
    # with every attempt in id order (0.5 s at a million; bench/README, session 7).
    exam_of = (
        select(Attempt.exam_id)
        .where(Attempt.id == PaperItem.attempt_id)
        .where(Attempt.status == AttemptStatus.SUBMITTED.value)
        .scalar_subquery()
    )
    exam_ids = db.session.scalars(
        select(exam_of).where(PaperItem.question_version_id.in_(version_ids)).distinct()
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
    return len(_analysis(exam.id, DEFAULT_WHICH, Counts.of_json(stored.counts)).flagged)
