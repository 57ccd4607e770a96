"""Marking written answers (阅卷): who may mark an exam, the next answer a marker gets,
giving and correcting marks, and progress.

Marking is blind: a marker sees the question, its model answer and marking points, and the
candidate's text, never who wrote it. Nobody marks an answer of their own. With double
marking each answer gets two marks from two people, and a third (from someone else again)
when they differ by more than the exam's gap. Every mark and correction is audited.
Functions flush; the request commits once.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.roles import PRIVILEGED_ROLES, Role
from question_bank import queries, types
from training import scoring
from training.exams import attempts
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    Exam,
    ExamMarker,
    ExamStatus,
    Mark,
    PaperItem,
)
from training.models import User
from training.reports import summaries

if TYPE_CHECKING:
    from question_bank.models import QuestionVersion

CENT = Decimal("0.01")
#: answers looked at per query while looking for the next one a marker may mark
SCAN_PAGE = 200
MAX_NOTE_CHARS = 500


class MarkingError(ServiceError):
    """A mark cannot be given or corrected; the message says why."""

    code = "marking"


class NotAMarker(MarkingError):
    status = 403
    code = "not_a_marker"


ROUND_LABELS = {1: "一评", 2: "二评", 3: "三评（仲裁）"}


# --- who marks ------------------------------------------------------------------------


def is_marker(user: User, exam: Exam) -> bool:
    """Trainers mark every exam; others the exams that name them, unless they sit it
    themselves (on a roster of it or with an attempt): a marker reads the model answer,
    the marking points and the others' answers."""
    if Role.TRAINER in user.roles:
        return True
    if PRIVILEGED_ROLES & set(user.roles):
        return False  # 三员 accounts hold no other duty: the auditor changes nothing
    named = db.session.scalar(
        select(exists().where(ExamMarker.exam_id == exam.id, ExamMarker.user_id == user.id))
    )
    return bool(named) and not attempts.is_candidate(user.id, exam)


def check_marker(user: User, exam: Exam) -> None:
    if not is_marker(user, exam):
        raise NotAMarker("您不是本考试的阅卷人。")


def named_markers(exam: Exam) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(ExamMarker, ExamMarker.user_id == User.id)
            .where(ExamMarker.exam_id == exam.id)
            .order_by(User.name)
        )
    )


def set_markers(actor: Actor, exam: Exam, logins: list[str]) -> list[User]:
    """Name the people (by login) who mark the exam besides the trainers."""
    wanted = sorted({login.strip() for login in logins if login.strip()})
    users = list(db.session.scalars(select(User).where(User.login.in_(wanted)))) if wanted else []
    missing = sorted(set(wanted) - {user.login for user in users})
    if missing:
        raise MarkingError(f"找不到这些账号：{'、'.join(missing)}")
    inactive = [user.login for user in users if not user.is_active]
    if inactive:
        raise MarkingError(f"这些账号已停用：{'、'.join(inactive)}")
    privileged = [user.login for user in users if PRIVILEGED_ROLES & set(user.roles)]
    if privileged:
        raise MarkingError(
            f"系统管理员、安全管理员、审计管理员不担任阅卷人：{'、'.join(privileged)}"
        )
    candidates = [user.login for user in users if attempts.is_candidate(user.id, exam)]
    if candidates:
        raise MarkingError(f"这些人是本考试的考生，不能阅卷：{'、'.join(candidates)}")
    db.session.execute(ExamMarker.__table__.delete().where(ExamMarker.exam_id == exam.id))
    for user in users:
        db.session.add(ExamMarker(exam_id=exam.id, user_id=user.id))
    db.session.flush()
    record(
        actor,
        "exam.markers",
        object_type="exam",
        object_id=exam.id,
        summary=f"{exam.title}：阅卷人 {len(users)} 人",
        detail={"users": [user.id for user in users]},
    )
    return users


def markable_exams(user: User) -> list[Exam]:
    """Published or closed exams the user may mark that have written answers."""
    stmt = select(Exam).where(
        Exam.status.in_([ExamStatus.PUBLISHED.value, ExamStatus.CLOSED.value])
    )
    if Role.TRAINER not in user.roles:
        stmt = stmt.join(ExamMarker, ExamMarker.exam_id == Exam.id).where(
            ExamMarker.user_id == user.id
        )
    found = db.session.scalars(stmt.order_by(Exam.opens_at.desc())).all()
    return [exam for exam in found if _asks_written(exam)]


def has_work(user: User) -> bool:
    """Whether an exam naming the user has an answer they may mark now, and they are not
    writing an exam themselves: the menu's 阅卷 link for named markers who are not
    trainers (trainers always have it). One indexed query for everyone not named."""
    named = db.session.scalars(
        select(Exam)
        .join(ExamMarker, ExamMarker.exam_id == Exam.id)
        .where(
            ExamMarker.user_id == user.id,
            Exam.status.in_([ExamStatus.PUBLISHED.value, ExamStatus.CLOSED.value]),
            exists().where(Attempt.exam_id == Exam.id, Attempt.awaiting_marks.is_(True)),
        )
    ).all()
    if not named or attempts.writing_any_exam(user.id):
        return False
    return any(is_marker(user, exam) and _may_mark_some(user, exam) for exam in named)


def _may_mark_some(user: User, exam: Exam) -> bool:
    """One query for what next_answer finds by pages: an unsettled answer not the user's
    own that the user has no standing mark on (the menu asked next_answer, which walks
    every waiting answer when the user gave the first marks everywhere)."""
    marked_by_user = exists().where(
        Mark.item_id == PaperItem.id, Mark.marker_id == user.id, Mark.replaced.is_(False)
    )
    waiting = _written_items(exam).where(
        PaperItem.earned.is_(None), Attempt.user_id != user.id, ~marked_by_user
    )
    return bool(db.session.scalar(select(exists(waiting))))


def _asks_written(exam: Exam) -> bool:
    return any(section.question_type in types.MARKED_TYPES for section in exam.blueprint.sections)


# --- progress -------------------------------------------------------------------------


def _written_items(exam: Exam, batch: Batch | None = None):
    """The written answers of the exam's submitted attempts (a select of PaperItem), of
    one batch when given."""
    stmt = (
        select(PaperItem)
        .join(Attempt, Attempt.id == PaperItem.attempt_id)
        .where(Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.SUBMITTED.value)
        .where(PaperItem.question_version_id.in_(queries.version_ids_of_types(types.MARKED_TYPES)))
    )
    return stmt if batch is None else stmt.where(Attempt.batch_id == batch.id)


@dataclass
class Progress:
    total: int = 0
    settled: int = 0
    #: standing marks given by the one who asks
    mine: int = 0
    #: attempts waiting for marks (待阅卷)
    waiting_attempts: int = 0

    @property
    def left(self) -> int:
        return self.total - self.settled


def progress(exam: Exam, user: User, batch: Batch | None = None) -> Progress:
    """The exam's marking progress (of one batch when given)."""
    return batch_progress(exam, user).get(batch.id if batch else None, Progress())


def batch_progress(exam: Exam, user: User) -> dict[int | None, Progress]:
    """Batch id -> its marking progress, and None -> the whole exam's; three queries."""
    found: dict[int | None, Progress] = {}

    def add(batch_id, **counts) -> None:
        for key in (batch_id, None):
            entry = found.setdefault(key, Progress())
            for name, count in counts.items():
                setattr(entry, name, getattr(entry, name) + count)

    items = _written_items(exam).add_columns(Attempt.batch_id).subquery()
    for batch_id, total, settled in db.session.execute(
        select(items.c.batch_id, func.count(), func.count(items.c.earned)).group_by(
            items.c.batch_id
        )
    ):
        add(batch_id, total=total, settled=settled)
    for batch_id, mine in db.session.execute(
        select(Attempt.batch_id, func.count())
        .select_from(Mark)
        .join(Attempt, Attempt.id == Mark.attempt_id)
        .where(Attempt.exam_id == exam.id, Mark.marker_id == user.id, Mark.replaced.is_(False))
        .group_by(Attempt.batch_id)
    ):
        add(batch_id, mine=mine)
    for batch_id, waiting in db.session.execute(
        select(Attempt.batch_id, func.count())
        .where(Attempt.exam_id == exam.id, Attempt.awaiting_marks.is_(True))
        .group_by(Attempt.batch_id)
    ):
        add(batch_id, waiting_attempts=waiting)
    return found


# --- the next answer ------------------------------------------------------------------


def _standing(item_ids: list[int]) -> dict[int, dict[int, Mark]]:
    found: dict[int, dict[int, Mark]] = {}
    if item_ids:
        for mark in db.session.scalars(
            select(Mark).where(Mark.item_id.in_(item_ids), Mark.replaced.is_(False))
        ):
            found.setdefault(mark.item_id, {})[mark.round] = mark
    return found


def _round_for(user: User, item: PaperItem, owner_id: int, marks: dict[int, Mark], exam: Exam):
    """The round `user` may mark `item` in now, or None (settled, their own answer, or a
    round that must go to someone who has not marked it yet)."""
    if owner_id == user.id:
        return None
    needed = scoring.round_needed(
        {number: mark.score for number, mark in marks.items()},
        exam.double_marking,
        exam.marking_gap,
    )
    if needed is None:
        return None
    if any(mark.marker_id == user.id for mark in marks.values()):
        return None  # a second and a third opinion come from other people
    return needed


def next_answer(
    user: User, exam: Exam, after: int = 0, batch: Batch | None = None
) -> tuple[PaperItem, int] | None:
    """The first written answer (by item id, past `after`; of one batch when given) the
    user may mark, and its round; None when there is none left for them."""
    check_marker(user, exam)
    cursor = after
    while True:
        rows = db.session.execute(
            _written_items(exam, batch)
            .add_columns(Attempt.user_id)
            .where(PaperItem.earned.is_(None), PaperItem.id > cursor)
            .order_by(PaperItem.id)
            .limit(SCAN_PAGE)
        ).all()
        if not rows:
            return None
        marks = _standing([item.id for item, _ in rows])
        for item, owner_id in rows:
            round_ = _round_for(user, item, owner_id, marks.get(item.id, {}), exam)
            if round_ is not None:
                return item, round_
        cursor = rows[-1][0].id


@dataclass
class Task:
    """What a marker sees of one answer: no name, no attempt, no other marker's mark
    (but for the third marker, who settles a disagreement)."""

    exam: Exam
    item: PaperItem
    round: int
    version: "QuestionVersion"
    text: str
    #: the marks of rounds 1 and 2, shown to the third marker only
    earlier: list[Mark]

    @property
    def round_label(self) -> str:
        return ROUND_LABELS[self.round]

    @property
    def points_total(self) -> Decimal:
        return types.marking_total(self.version.marking_points)


def _load(item_id: int) -> tuple[PaperItem, Attempt]:
    row = db.session.execute(
        select(PaperItem, Attempt)
        .join(Attempt, Attempt.id == PaperItem.attempt_id)
        .where(PaperItem.id == item_id)
    ).first()
    if row is None or row[1].status != AttemptStatus.SUBMITTED.value:
        raise MarkingError("没有这份答卷。", status=404)
    item, attempt = row
    if not types.of(item.question_version.type).marked:
        raise MarkingError("该题不需要阅卷。", status=404)
    return item, attempt


def task(user: User, item_id: int) -> Task:
    """The answer for `user` to mark, in the round it waits for; MarkingError when they
    may not mark it (now)."""
    item, attempt = _load(item_id)
    exam = attempt.exam
    check_marker(user, exam)
    if attempt.user_id == user.id:
        raise MarkingError("不能评阅自己的答卷。", status=403)
    marks = _standing([item.id]).get(item.id, {})
    round_ = _round_for(user, item, attempt.user_id, marks, exam)
    if round_ is None:
        raise MarkingError("这份答卷已评阅，或需由其他阅卷人评阅。")
    response = attempts.responses_of(attempt).get(item.id)
    text = response.answer[0] if response and response.answer else ""
    earlier = [marks[n] for n in (1, 2) if n in marks] if round_ == 3 else []
    return Task(exam, item, round_, item.question_version, text, earlier)


def _checked_score(item: PaperItem, score_text: str, checked: list[int]) -> tuple[Decimal, list]:
    try:
        score = Decimal(score_text.strip())
    except (InvalidOperation, AttributeError):
        raise MarkingError("请填写得分（数字）。") from None
    if not score.is_finite() or score != score.quantize(CENT):
        raise MarkingError("得分最多两位小数。")
    if not Decimal(0) <= score <= item.points:
        raise MarkingError(f"得分应在 0 到本题满分 {item.points} 分之间。")
    count = len(item.question_version.marking_points)
    if any(not isinstance(i, int) or not 0 <= i < count for i in checked):
        raise MarkingError("勾选的得分要点不属于本题。")
    return score.quantize(CENT), sorted(set(checked))


def suggested_score(version: "QuestionVersion", points: Decimal, checked: list[int]) -> Decimal:
    """The points the ticked marking points are worth on this paper's scale."""
    total = types.marking_total(version.marking_points)
    if not total:
        return Decimal(0)
    ticked = sum((Decimal(str(version.marking_points[i][1])) for i in set(checked)), Decimal(0))
    return min(points, (ticked * points / total).quantize(CENT, ROUND_HALF_UP))


def give_mark(
    actor: Actor,
    user: User,
    item_id: int,
    round_: int,
    score_text: str,
    checked: list[int],
    note: str = "",
) -> Mark:
    """Record `user`'s mark of the answer in `round_` (the round their form was for: if
    someone else has marked it since, they are told and nothing is saved); settle the
    answer and, when it was the last, score the attempt."""
    current = task(user, item_id)
    if current.round != round_:
        raise MarkingError("这份答卷已由其他阅卷人评阅，请阅下一份。")
    score, checked = _checked_score(current.item, score_text, checked)
    mark = Mark(
        attempt_id=current.item.attempt_id,
        item_id=current.item.id,
        round=round_,
        marker_id=user.id,
        score=score,
        checked=checked,
        note=note.strip()[:MAX_NOTE_CHARS],
    )
    try:
        with db.session.begin_nested():
            db.session.add(mark)
    except IntegrityError:
        raise MarkingError("这份答卷已由其他阅卷人评阅，请阅下一份。") from None
    _settle(current.item)
    record(
        actor,
        "exam.mark",
        object_type="exam",
        object_id=current.exam.id,
        summary=f"答卷题目 {current.item.id}：{ROUND_LABELS[round_]} {score} 分",
        detail={"item": current.item.id, "round": round_, "score": str(score)},
    )
    return mark


def _settle(item: PaperItem) -> None:
    """Re-score the item's attempt from the standing marks (score_attempt sets the item's
    points once its marks settle it, and the total once every answer is settled)."""
    db.session.flush()
    attempt = db.session.get(Attempt, item.attempt_id)
    # The reports' per-exam figures follow a result that marking settles or changes, as
    # they follow a regrade.
    before = summaries.outcomes(attempt.exam, [attempt.user_id])
    attempts.score_attempt(attempt)
    db.session.flush()
    summaries.regraded(attempt.exam, before)


def may_correct(user: User, mark: Mark) -> bool:
    """A mark is corrected by whoever gave it, or by a trainer once the answer is settled
    (before that a trainer may be its next marker, who must not see it); never on one's
    own answer."""
    owner = db.session.scalar(select(Attempt.user_id).where(Attempt.id == mark.attempt_id))
    if owner == user.id or mark.replaced:
        return False
    if mark.marker_id == user.id:
        return True
    settled = db.session.scalar(select(PaperItem.earned).where(PaperItem.id == mark.item_id))
    return Role.TRAINER in user.roles and settled is not None


def correct_mark(
    actor: Actor, user: User, mark: Mark, score_text: str, checked: list[int], reason: str
) -> Mark:
    """Replace a mark with a corrected one, with the reason; the attempt is re-scored (its
    result may change, or wait for a third mark the correction now calls for)."""
    if not may_correct(user, mark):
        raise MarkingError("您不能更正这条评分。", status=403)
    if not reason.strip():
        raise MarkingError("请填写更正原因。")
    item = db.session.get(PaperItem, mark.item_id)
    score, checked = _checked_score(item, score_text, checked)
    mark.replaced = True
    db.session.flush()
    corrected = Mark(
        attempt_id=mark.attempt_id,
        item_id=mark.item_id,
        round=mark.round,
        marker_id=mark.marker_id,
        score=score,
        checked=checked,
        note=mark.note,
        corrects_id=mark.id,
        reason=reason.strip()[:200],
    )
    db.session.add(corrected)
    db.session.flush()
    if mark.round < 3 and score != mark.score:
        _drop_stale_third_mark(item)
    _settle(item)
    attempt = db.session.get(Attempt, mark.attempt_id)
    record(
        actor,
        "exam.mark_correct",
        object_type="exam",
        object_id=attempt.exam_id,
        summary=f"答卷题目 {item.id}：{ROUND_LABELS[mark.round]} {mark.score} → {score} 分",
        detail={
            "item": item.id,
            "round": mark.round,
            "old_score": str(mark.score),
            "score": str(score),
            "reason": reason.strip()[:200],
        },
    )
    return corrected


def _drop_stale_third_mark(item: PaperItem) -> None:
    """A third mark settled a disagreement that a correction of the first two ended: it
    no longer stands (kept, as replaced) when the two now agree."""
    exam = db.session.get(Attempt, item.attempt_id).exam
    marks = _standing([item.id]).get(item.id, {})
    settled = {1, 2, 3} <= set(marks) and exam.marking_gap is not None
    if settled and abs(marks[1].score - marks[2].score) <= exam.marking_gap:
        marks[3].replaced = True


def marks_of_exam(exam: Exam, viewer: User, page: int = 1, per_page: int = 100) -> list[Mark]:
    """The exam's marks, newest first (no candidate shown). While any written answer still
    waits for a mark, each marker sees only their own, so a second or third marker marks
    blind; once all are settled, trainers see every mark (to correct one)."""
    stmt = select(Mark).join(
        Attempt, and_(Attempt.id == Mark.attempt_id, Attempt.exam_id == exam.id)
    )
    waiting = db.session.scalar(
        select(_written_items(exam).where(PaperItem.earned.is_(None)).exists())
    )
    if Role.TRAINER not in viewer.roles or waiting:
        stmt = stmt.where(Mark.marker_id == viewer.id)
    return list(
        db.session.scalars(
            stmt.order_by(Mark.id.desc()).limit(per_page).offset((page - 1) * per_page)
        )
    )
