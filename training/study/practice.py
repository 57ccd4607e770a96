"""Practice over the bank: choosing the next question by mode, serving it, and checking
an answer with immediate feedback, the FSRS review of the person's memory of it and the
mistakes notebook, all in the request's one transaction.

A question on an exam paper the person has open is never served, checked or shown with
its key. An answer counts once (the served record is marked answered), is checked
against the version that was served, and is refused, changing nothing, when it is
malformed or the question was retired meanwhile. Sequential progress only moves forward.
"""

import functools
import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, literal_column, select, text, update

from core import clock, upserts
from core.errors import ServiceError
from core.extensions import db
from question_bank import queries, types
from training.study import memory, notebook
from training.study.models import (
    MemoryCard,
    Mistake,
    PracticeSettings,
    ReviewRecord,
    SequencePosition,
    ServedQuestion,
    Star,
)

MODES = {
    "sequential": "顺序练习",
    "random": "随机练习",
    "topic": "按知识点",
    "difficulty": "按难度",
    "starred": "收藏的题",
    "mistakes": "错题本",
    "due": "到期复习",
}
DIFFICULTIES = {1: "易", 2: "较易", 3: "中等", 4: "较难", 5: "难"}
RATING_LABELS = {1: "答错（重来）", 2: "困难", 3: "答对", 4: "答对且迅速（容易）"}
#: what an answer did to the notebook (notebook.note), as the feedback says it
NOTEBOOK_NOTES = {
    "added": "已加入错题本",
    "again": "仍在错题本中",
    "streak": "错题本中的题：连续答对 {n} 次后移出",
    "left": "已连续答对 {n} 次，移出错题本",
}
ON_OPEN_PAPER = "该题在您作答的试卷上，本考试公布答案前不能练习。"


class PracticeError(ServiceError):
    """Practice cannot go on as asked; the message says why, in Chinese."""

    code = "practice"


@dataclass(frozen=True)
class Choice:
    """What the learner asked to practise."""

    mode: str
    law_id: int | None = None
    chapter: str = ""
    topic_id: int | None = None
    difficulty: int | None = None

    def query(self) -> dict:
        """As URL arguments, for the next question's link."""
        args = {"mode": self.mode}
        if self.law_id:
            args["law"] = self.law_id
        if self.chapter:
            args["chapter"] = self.chapter
        if self.topic_id:
            args["topic"] = self.topic_id
        if self.difficulty:
            args["difficulty"] = self.difficulty
        return args

    @property
    def label(self) -> str:
        return MODES[self.mode]


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdecimal() and len(text) < 10 else None


def parse_choice(args) -> Choice:
    """The mode and its filter from URL or form arguments; PracticeError when they make
    no sense."""
    mode = str(args.get("mode") or "")
    if mode not in MODES:
        raise PracticeError("没有这种练习方式，请从练习首页选择。", code="unknown_mode")
    law_id, topic_id = _int(args.get("law")), _int(args.get("topic"))
    difficulty = _int(args.get("difficulty"))
    chapter = str(args.get("chapter") or "")[:200]
    if args.get("law") and (law_id is None or queries.law(law_id) is None):
        raise PracticeError("所选法律不存在。")
    if mode == "sequential" and law_id is None:
        raise PracticeError("顺序练习请先选择一部法律。")
    if mode == "topic" and (topic_id is None or queries.topic(topic_id) is None):
        raise PracticeError("请选择一个知识点。")
    if mode == "difficulty" and difficulty not in DIFFICULTIES:
        raise PracticeError("难度应为 1–5。")
    return Choice(
        mode=mode,
        law_id=law_id,
        chapter=chapter if mode == "sequential" else "",
        topic_id=topic_id if mode == "topic" else None,
        difficulty=difficulty if mode == "difficulty" else None,
    )


# --- settings ------------------------------------------------------------------------


def settings(user_id: int) -> PracticeSettings:
    return notebook.settings(user_id)


def save_settings(user_id: int, retention: float, streak: int) -> PracticeSettings:
    if not memory.MIN_RETENTION <= retention <= memory.MAX_RETENTION:
        raise PracticeError("期望记忆保持率应在 0.80 到 0.97 之间。", fields={"retention": ""})
    if not 1 <= streak <= 10:
        raise PracticeError("连续答对次数应为 1–10 次。")
    mine = db.session.get(PracticeSettings, user_id)
    if mine is None:
        mine = PracticeSettings(user_id=user_id)
        db.session.add(mine)
    mine.desired_retention = round(retention, 2)
    mine.mistake_streak = streak
    db.session.flush()
    return mine


# --- choosing and serving --------------------------------------------------------------


@dataclass
class Served:
    question_id: int
    version: object
    choice: Choice
    #: sequential: the chapter the question is in, and how far through it the person is
    chapter: str = ""
    done: int = 0
    total: int = 0
    starred: bool = False


def due_question_ids(user_id: int, until: datetime, limit: int | None = None) -> list[int]:
    stmt = (
        select(MemoryCard.question_id)
        .where(MemoryCard.user_id == user_id, MemoryCard.due < until)
        .order_by(MemoryCard.due)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def due_count(user_id: int, until: datetime) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(MemoryCard)
        .where(MemoryCard.user_id == user_id, MemoryCard.due < until)
    )


def end_of_today(now: datetime) -> datetime:
    """The end of the China calendar day of `now`, as a stored (naive UTC) time."""
    return clock.china_day_bounds(clock.china_time(now).date())[1]


@dataclass
class HomeSummary:
    due: int
    mistakes: int


def home_summary(user_id: int, now: datetime) -> HomeSummary:
    """For the learner's home page: reviews due today and the notebook's size."""
    return HomeSummary(
        due=due_count(user_id, end_of_today(now)),
        mistakes=notebook.count(user_id, now),
    )


def _position(user_id: int, law_id: int, chapter: str) -> SequencePosition | None:
    return db.session.get(SequencePosition, (user_id, law_id, chapter))


def next_question(user_id: int, choice: Choice, now: datetime, rng: random.Random) -> Served:
    """Serve the next question of the choice (PracticeError when there is none)."""
    hidden = notebook.open_paper_question_ids(user_id, now)
    if choice.mode == "sequential":
        return _next_in_sequence(user_id, choice, hidden, now)
    if choice.mode == "due":
        ids = due_question_ids(user_id, end_of_today(now), limit=200)
        active = set(queries.practice_question_ids(among=ids)) - hidden
        ids = [question_id for question_id in ids if question_id in active]
        if not ids:
            raise PracticeError("今天没有到期需要复习的题。", code="nothing_left")
        return _serve(user_id, ids[0], choice, now)
    among = None
    if choice.mode == "starred":
        among = starred_ids(user_id)
    elif choice.mode == "mistakes":
        among = notebook.question_ids(user_id, now)
    ids = queries.practice_question_ids(
        law_id=choice.law_id,
        topic_id=choice.topic_id,
        difficulty=choice.difficulty,
        among=among,
    )
    ids = [question_id for question_id in ids if question_id not in hidden]
    if not ids:
        raise PracticeError(_nothing_message(choice), code="nothing_left")
    last = db.session.scalar(
        select(ServedQuestion.question_id)
        .where(ServedQuestion.user_id == user_id)
        .order_by(ServedQuestion.served_at.desc())
        .limit(1)
    )
    if len(ids) > 1 and last in ids:
        ids.remove(last)  # not the same question twice running
    return _serve(user_id, rng.choice(ids), choice, now)


def _nothing_message(choice: Choice) -> str:
    return {
        "starred": "您还没有收藏试题：练习时点「收藏」即可加入。",
        "mistakes": "错题本是空的。",
    }.get(choice.mode, "没有符合条件的在用试题。")


def _next_in_sequence(user_id: int, choice: Choice, hidden: set[int], now) -> Served:
    sequence = queries.law_sequence(choice.law_id)
    if choice.chapter:
        sequence = [entry for entry in sequence if entry.chapter == choice.chapter]
    if not sequence:
        raise PracticeError("这部法律（或这一章）没有在用的试题。", code="nothing_left")
    mine = _position(user_id, choice.law_id, choice.chapter)
    reached = tuple(mine.rank) if mine is not None else None
    ahead = [entry for entry in sequence if reached is None or entry.rank > reached]
    done = len(sequence) - len(ahead)
    entry = next((entry for entry in ahead if entry.question_id not in hidden), None)
    if entry is None:
        raise PracticeError(
            f"已按顺序练完{'这一章' if choice.chapter else '这部法律'}的全部 {len(sequence)} 道题。"
            "可以换一章，或做到期复习、错题本练习。",
            code="nothing_left",
        )
    served = _serve(
        user_id,
        entry.question_id,
        choice,
        now,
        sequence={"law_id": choice.law_id, "chapter": choice.chapter, "rank": list(entry.rank)},
    )
    served.chapter, served.done, served.total = entry.chapter, done, len(sequence)
    return served


def _serve(user_id: int, question_id: int, choice: Choice, now, sequence=None) -> Served:
    version = queries.current_version(question_id)
    row = db.session.get(ServedQuestion, (user_id, question_id))
    if row is None:
        row = ServedQuestion(user_id=user_id, question_id=question_id)
        db.session.add(row)
    row.version_id, row.served_at, row.answered_at = version.id, now, None
    row.sequence = sequence
    db.session.flush()
    return Served(question_id, version, choice, starred=is_starred(user_id, question_id))


def chapters(law_id: int) -> list[tuple[str, int]]:
    """The chapters of a law that hold questions in use, in order, with their counts."""
    counts: dict[str, int] = {}
    for entry in queries.law_sequence(law_id):
        counts[entry.chapter] = counts.get(entry.chapter, 0) + 1
    return list(counts.items())


# --- answering -------------------------------------------------------------------------


@dataclass
class Feedback:
    question_id: int
    version: object
    correct: bool
    given: list
    key_text: str
    rating: int
    due: datetime
    #: what the answer did to the notebook (notebook.note)
    notebook: str
    streak_needed: int
    refs: list = field(default_factory=list)

    @property
    def rating_label(self) -> str:
        return RATING_LABELS[self.rating]

    @property
    def notebook_note(self) -> str:
        return NOTEBOOK_NOTES.get(self.notebook, "").format(n=self.streak_needed)

    @property
    def given_text(self) -> str:
        if self.version.type == "fill_blank":
            return "；".join(text or "（空）" for text in self.given) or "（未作答）"
        kind = types.of(self.version.type)
        if not kind.lettered:
            return "".join(self.version.choices[i] for i in self.given) or "（未作答）"
        return "".join(types.LETTERS[i] for i in self.given) or "（未作答）"


@functools.cache
def _answer_statements(dialect_name: str):
    """The statements of an answer, built once per database with bound parameters, as the
    exam engine's answer save is (building them per request cost more than running them).

    The claim marks the served question answered and returns, in the same statement, what
    the check needs: the version served (with its text) and when, the sequential place,
    the person's settings, whether the question is on a paper they have open, whether it
    is still in use, their memory card of it and its notebook entry's streak. None when it was not
    served or is answered already (an answer counts once).
    A refusal after it rolls the claim back with the request.

    Then the writes: RECORD on PostgreSQL; on SQLite the card's upsert and its log's
    insert (_record_in_steps)."""
    served, cards, mistakes = (
        ServedQuestion.__table__,
        MemoryCard.__table__,
        Mistake.__table__,
    )
    user_id, question_id, now = bindparam("uid"), bindparam("qid"), bindparam("now")

    def mine(table, column):
        return (
            select(column)
            .where(table.c.user_id == user_id, table.c.question_id == question_id)
            .scalar_subquery()
        )

    settings_of = PracticeSettings.__table__
    retention, streak = (
        select(column).where(settings_of.c.user_id == user_id).scalar_subquery()
        for column in (settings_of.c.desired_retention, settings_of.c.mistake_streak)
    )
    claim = (
        update(served)
        .where(
            served.c.user_id == user_id,
            served.c.question_id == question_id,
            served.c.answered_at.is_(None),
        )
        .values(answered_at=now)
        .returning(
            served.c.version_id,
            served.c.served_at,
            served.c.sequence,
            retention,
            streak,
            notebook.on_open_paper(user_id, question_id, now),
            queries.in_use_expression(question_id),
            mine(mistakes, mistakes.c.right_streak),
            *(mine(cards, cards.c[name]) for name in CARD_COLUMNS),
            # the version's text, read here and not in a statement of its own when this
            # process has not read the version before. Qualified: SQLite writes RETURNING's
            # columns bare, and a bare version_id inside the citations subquery would be
            # citations.version_id (every citation in the bank).
            *queries.version_text_columns(literal_column("practice_served.version_id")),
        )
    )
    if dialect_name == "postgresql":
        return claim, RECORD
    insert = upserts.insert(cards, dialect_name)
    card = insert.on_conflict_do_update(
        index_elements=["user_id", "question_id"],
        set_={name: insert.excluded[name] for name in (*CARD_COLUMNS[1:], "last_correct")},
    ).returning(cards.c.id)
    return claim, (card, ReviewRecord.__table__.insert())


#: On PostgreSQL an answer's writes are one statement (data-modifying CTEs): the card's
#: upsert (one statement whether the person has a card of the question yet or not), its
#: review log, and the notebook: a wrong answer puts the question in (or counts it again),
#: a right one counts towards leaving, and takes it out at the person's streak. The
#: UPDATE and the DELETE see the same row as it was; exactly one of them matches it.
#: Returns the notebook's change: (wrong_count, right_streak, left).
RECORD = text(
    """
WITH card AS (
    INSERT INTO practice_cards (user_id, question_id, state, step, stability, difficulty,
        due, last_review, reviews, last_correct)
    VALUES (:uid, :qid, :state, :step, :stability, :difficulty, :due, :last_review, :reviews,
        :correct)
    ON CONFLICT (user_id, question_id) DO UPDATE SET state = excluded.state,
        step = excluded.step, stability = excluded.stability,
        difficulty = excluded.difficulty, due = excluded.due,
        last_review = excluded.last_review, reviews = excluded.reviews,
        last_correct = excluded.last_correct
    RETURNING id
), logged AS (
    INSERT INTO practice_reviews (card_id, user_id, question_id, version_id, rating, correct,
        reviewed_at, duration_ms, mode)
    SELECT id, :uid, :qid, :vid, :rating, :correct, :now, :duration_ms, :mode FROM card
), wrong AS (
    INSERT INTO practice_mistakes (user_id, question_id, version_id, source, wrong_count,
        right_streak, first_wrong_at, last_wrong_at)
    SELECT :uid, :qid, :vid, 'practice', 1, 0, :now, :now WHERE NOT :correct
    ON CONFLICT (user_id, question_id) DO UPDATE
    SET wrong_count = practice_mistakes.wrong_count + 1, right_streak = 0,
        version_id = excluded.version_id, source = excluded.source,
        last_wrong_at = excluded.last_wrong_at
    RETURNING wrong_count
), streak AS (
    UPDATE practice_mistakes SET right_streak = right_streak + 1
    WHERE :correct AND user_id = :uid AND question_id = :qid AND right_streak + 1 < :needed
    RETURNING right_streak
), gone AS (
    DELETE FROM practice_mistakes
    WHERE :correct AND user_id = :uid AND question_id = :qid AND right_streak + 1 >= :needed
    RETURNING 1
)
SELECT (SELECT wrong_count FROM wrong), (SELECT right_streak FROM streak),
    EXISTS (SELECT FROM gone)
"""
)


#: the card's columns the claim returns (its id first: None when there is no card yet)
CARD_COLUMNS = ("id", "state", "step", "stability", "difficulty", "due", "last_review", "reviews")


def _not_claimed(user_id: int, question_id: int) -> PracticeError:
    if db.session.get(ServedQuestion, (user_id, question_id)) is None:
        return PracticeError("这道题没有发给您，请从练习首页开始。", code="not_served")
    return PracticeError("这道题已经作答过了，请继续下一题。", code="answered")


def answer(user_id: int, question_id: int, raw: object, mode: str, now: datetime) -> Feedback:
    """Check an answer to the question served to the person, and record it: the FSRS
    review of their card (and its log), the notebook, the sequential place.

    On PostgreSQL two statements (the claim, then every write in one); on SQLite the
    writes are three statements."""
    claim, record = _answer_statements(db.engine.dialect.name)
    connection = db.session.connection()
    claimed = connection.execute(claim, {"uid": user_id, "qid": question_id, "now": now}).first()
    if claimed is None:
        raise _not_claimed(user_id, question_id)
    version_id, served_at, sequence, retention, streak, on_paper, in_use = claimed[:7]
    text_starts = 8 + len(CARD_COLUMNS)
    in_notebook, stored = claimed[7], dict(zip(CARD_COLUMNS, claimed[8:text_starts], strict=True))
    if on_paper:
        raise PracticeError(ON_OPEN_PAPER, code="on_open_paper", status=409)
    if not in_use:
        raise PracticeError(
            "这道题刚被停用或正在复核，本次作答不计入，您的练习记录不受影响。请继续下一题。",
            code="retired",
            status=409,
        )
    version = queries.read_version_text(version_id, claimed[text_starts:])
    kind = types.of(version.type)
    try:
        given = kind.parse_answer(raw, len(version.choices), len(version.blanks))
    except types.AnswerError as error:
        raise PracticeError(error.message, code=error.code) from None
    if not given or (version.type == "fill_blank" and not any(t.strip() for t in given)):
        raise PracticeError("请先作答再提交。", code="empty_answer")
    correct = kind.credit(types.Key.of(version), given, types.MultiplePolicy.ALL_OR_NOTHING) == 1
    seconds = max(0.0, (now - served_at).total_seconds())
    rating = memory.rating_for(correct, seconds, memory.quick_seconds(version))
    retention = retention or memory.DEFAULT_RETENTION
    streak = streak or notebook.DEFAULT_STREAK
    # The served row, locked by the claim, serialises answers to this question by this
    # person, so the card needs no lock of its own.
    if stored["id"] is None:
        stored.update(state=1, step=0, stability=None, difficulty=None, due=now)
        stored.update(last_review=None, reviews=0)
    card, log = memory.review(stored, rating, now, retention, int(seconds * 1000))
    values = {
        **card,
        "uid": user_id,
        "qid": question_id,
        "vid": version.id,
        "rating": log.rating.value,
        "correct": correct,
        "now": now,
        "duration_ms": log.review_duration,
        "mode": mode if mode in MODES else "random",
        "needed": streak,
    }
    if isinstance(record, tuple):
        outcome = _record_in_steps(connection, record, values, in_notebook is not None)
    else:
        outcome = notebook.outcome(*connection.execute(record, values).one())
    if sequence:
        _advance(user_id, sequence, now)
        db.session.flush()
    return Feedback(
        question_id=question_id,
        version=version,
        correct=correct,
        given=given,
        key_text=kind.key_text(version),
        rating=rating.value,
        due=card["due"],
        notebook=outcome,
        streak_needed=streak,
        refs=list(version.law_refs),
    )


def _record_in_steps(connection, statements, values: dict, in_notebook: bool) -> str:
    """RECORD's writes where data-modifying CTEs are not to be had (SQLite): the card,
    its log, and the notebook when the answer is wrong or the question is in it."""
    upsert_card, log_review = statements
    card = {name: values[name] for name in CARD_COLUMNS[1:]}
    card_id = connection.execute(
        upsert_card,
        {
            **card,
            "user_id": values["uid"],
            "question_id": values["qid"],
            "last_correct": values["correct"],
        },
    ).scalar_one()
    log = ("rating", "correct", "duration_ms", "mode")
    connection.execute(
        log_review,
        {
            "card_id": card_id,
            "user_id": values["uid"],
            "question_id": values["qid"],
            "version_id": values["vid"],
            "reviewed_at": values["now"],
            **{name: values[name] for name in log},
        },
    )
    if values["correct"] and not in_notebook:
        return ""
    return notebook.note(
        values["uid"],
        values["qid"],
        values["vid"],
        values["correct"],
        "practice",
        values["now"],
        values["needed"],
    )


def _advance(user_id: int, sequence: dict, now: datetime) -> None:
    """Move the sequential position to the answered question, never back."""
    law_id, chapter, rank = sequence["law_id"], sequence["chapter"], sequence["rank"]
    mine = db.session.get(SequencePosition, (user_id, law_id, chapter), with_for_update=True)
    if mine is None:
        db.session.add(
            SequencePosition(
                user_id=user_id, law_id=law_id, chapter=chapter, rank=rank, updated_at=now
            )
        )
    elif tuple(rank) > tuple(mine.rank):
        mine.rank, mine.updated_at = rank, now


# --- stars ----------------------------------------------------------------------------


def starred_ids(user_id: int) -> list[int]:
    return list(db.session.scalars(select(Star.question_id).where(Star.user_id == user_id)))


def is_starred(user_id: int, question_id: int) -> bool:
    return db.session.get(Star, (user_id, question_id)) is not None


def set_star(user_id: int, question_id: int, on: bool, now: datetime) -> None:
    if not queries.existing_question_ids([question_id]):
        raise PracticeError("试题不存在。", status=404, code="not_found")
    mine = db.session.get(Star, (user_id, question_id))
    if on and mine is None:
        db.session.add(Star(user_id=user_id, question_id=question_id, starred_at=now))
    elif not on and mine is not None:
        db.session.delete(mine)
    db.session.flush()
