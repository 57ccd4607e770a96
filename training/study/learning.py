"""A learner's side of study: what is offered, reading (private progress, never timed and
never scored), the module quiz through the exam engine, and completion with its credit.

A learner studies the version they first opened; a later edit changes nothing under them,
and nothing they did is ever taken back (progress only grows). Completion needs every
lesson of that version opened and its quiz passed; opened lessons alone earn nothing.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from training.exams import attempts
from training.exams.models import Attempt, AttemptStatus, Batch, BatchMember, Exam
from training.models import User
from training.reports import summaries
from training.study.models import (
    Lesson,
    LessonOpened,
    ModuleCompletion,
    ModuleStudy,
    ModuleVersion,
    Program,
    ProgramCompletion,
    Status,
    StudyModule,
)
from training.study.modules import StudyError


def published_programs() -> list[Program]:
    return list(
        db.session.scalars(
            select(Program).where(Program.status == Status.PUBLISHED.value).order_by(Program.id)
        )
    )


def published_modules() -> list[StudyModule]:
    return list(
        db.session.scalars(
            select(StudyModule)
            .where(StudyModule.status == Status.PUBLISHED.value)
            .order_by(StudyModule.id)
        )
    )


def enrolment(user_id: int, module_id: int) -> ModuleStudy | None:
    return db.session.scalar(
        select(ModuleStudy).where(
            ModuleStudy.user_id == user_id, ModuleStudy.module_id == module_id
        )
    )


def completion(user_id: int, module_id: int) -> ModuleCompletion | None:
    return db.session.scalar(
        select(ModuleCompletion).where(
            ModuleCompletion.user_id == user_id, ModuleCompletion.module_id == module_id
        )
    )


def studied_version(user: User, module: StudyModule) -> ModuleVersion | None:
    """The version the learner studies (or completed), else the one offered now."""
    mine = enrolment(user.id, module.id)
    return mine.version if mine is not None else module.published


def visible(user: User, module: StudyModule) -> bool:
    """Published modules, and any module the learner has started (even when retired since)."""
    return module.status == Status.PUBLISHED.value or enrolment(user.id, module.id) is not None


def _enrol(user: User, module: StudyModule, now: datetime) -> ModuleStudy:
    mine = enrolment(user.id, module.id)
    if mine is not None:
        return mine
    if module.status != Status.PUBLISHED.value:
        raise StudyError("该模块未发布或已停用。")
    mine = ModuleStudy(
        user_id=user.id, module_id=module.id, version_id=module.published.id, started_at=now
    )
    try:
        with db.session.begin_nested():
            db.session.add(mine)
    except IntegrityError:  # a second tab enrolled first: theirs stands
        mine = enrolment(user.id, module.id)
    return mine


def open_lesson(user: User, module: StudyModule, key: int, now: datetime) -> Lesson:
    """The lesson of the learner's version, noted as opened (once; never undone)."""
    version = _enrol(user, module, now).version
    lesson = version.lesson(key)
    if lesson is None:
        raise StudyError("您学习的版本中没有这一课。", status=404, code="not_found")
    if lesson.key not in opened_keys(user.id, module.id):
        try:
            with db.session.begin_nested():
                db.session.add(
                    LessonOpened(
                        user_id=user.id, module_id=module.id, lesson_key=key, opened_at=now
                    )
                )
        except IntegrityError:  # opened in another tab meanwhile
            pass
    return lesson


def opened_keys(user_id: int, module_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(LessonOpened.lesson_key).where(
                LessonOpened.user_id == user_id, LessonOpened.module_id == module_id
            )
        )
    )


@dataclass
class ModuleProgress:
    """Where a learner stands in a module, for their own eyes only."""

    module: StudyModule
    version: ModuleVersion | None
    opened: set[int] = field(default_factory=set)
    completion: ModuleCompletion | None = None
    #: the learner's quiz attempts at their version's quiz, newest first
    attempts: list[Attempt] = field(default_factory=list)
    #: a newer version is offered than the one being studied
    newer_offered: bool = False

    @property
    def lessons(self) -> list[Lesson]:
        return self.version.lessons if self.version is not None else []

    @property
    def opened_count(self) -> int:
        return sum(lesson.key in self.opened for lesson in self.lessons)

    @property
    def all_opened(self) -> bool:
        return bool(self.lessons) and self.opened_count == len(self.lessons)

    @property
    def in_progress_attempt(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == AttemptStatus.IN_PROGRESS.value), None)

    @property
    def next_lesson(self) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.key not in self.opened), None)


def progress(user: User, module: StudyModule) -> ModuleProgress:
    version = studied_version(user, module)
    done = completion(user.id, module.id)
    quiz_attempts = []
    if version is not None and version.quiz_exam_id:
        quiz_attempts = list(
            db.session.scalars(
                select(Attempt)
                .where(Attempt.user_id == user.id, Attempt.exam_id == version.quiz_exam_id)
                .order_by(Attempt.number.desc())
            )
        )
    return ModuleProgress(
        module=module,
        version=version,
        opened=opened_keys(user.id, module.id),
        completion=done,
        attempts=quiz_attempts,
        newer_offered=(
            version is not None
            and module.published is not None
            and module.published.number > version.number
        ),
    )


def start_quiz(user: User, module: StudyModule, now: datetime, rng: random.Random) -> Attempt:
    """The learner's quiz attempt (resumed if open), through the exam engine. Needs every
    lesson opened; the learner joins the quiz's self-study batch on their first try."""
    mine = enrolment(user.id, module.id)
    if mine is None:
        raise StudyError("请先学习本模块的课程。")
    state = progress(user, module)
    if state.completion is not None:
        raise StudyError("您已完成本模块，无需再测验。")
    if not state.all_opened:
        raise StudyError(
            f"请先阅读全部课程再参加测验（已读 {state.opened_count}/{len(state.lessons)} 课）。"
        )
    exam = db.session.get(Exam, mine.version.quiz_exam_id) if mine.version.quiz_exam_id else None
    if exam is None:
        raise StudyError("本模块没有测验。")
    join_self_study_batch(user, exam)
    try:
        return attempts.start_attempt(user, exam, now, rng)
    except attempts.ExamError as error:
        raise StudyError(error.message) from error


def join_self_study_batch(user: User, exam: Exam) -> None:
    """Put the learner on the roster of a self-study exam's batch (a module quiz, the mock
    exam) on their first try."""
    batch = db.session.scalar(select(Batch).where(Batch.exam_id == exam.id).order_by(Batch.id))
    if batch is not None and not db.session.scalar(
        select(func.count())
        .select_from(BatchMember)
        .where(BatchMember.batch_id == batch.id, BatchMember.user_id == user.id)
    ):
        try:
            with db.session.begin_nested():
                counted_at = summaries.first_batches(exam.id, [user.id])
                db.session.add(BatchMember(batch_id=batch.id, user_id=user.id))
                db.session.flush()
                summaries.roster_changed(exam.id, [user], counted_at)
        except IntegrityError:  # joined from another tab meanwhile
            pass


def passed_attempt(user_id: int, exam_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt)
        .where(Attempt.user_id == user_id, Attempt.exam_id == exam_id)
        .where(Attempt.status == AttemptStatus.SUBMITTED.value, Attempt.passed.is_(True))
        .order_by(Attempt.submitted_at)
        .limit(1)
    )


def sync_completion(user: User, module: StudyModule, now: datetime) -> ModuleCompletion | None:
    """Record the completion once every lesson of the learner's version is opened and its
    quiz passed (idempotent), and the completion of every program it finishes."""
    state = progress(user, module)
    if state.completion is not None:
        return state.completion
    version = state.version
    if version is None or not version.quiz_exam_id or not state.all_opened:
        return None
    attempt = passed_attempt(user.id, version.quiz_exam_id)
    if attempt is None:
        return None
    done = ModuleCompletion(
        user_id=user.id,
        module_id=module.id,
        version_id=version.id,
        attempt_id=attempt.id,
        credit_hours=version.credit_hours,
        completed_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(done)
    except IntegrityError:  # recorded by a concurrent request
        return completion(user.id, module.id)
    _sync_programs(user, module, now)
    return done


def sync_all(user: User, now: datetime) -> None:
    """sync_completion for every module the learner studies and has not completed."""
    done = completed_module_ids(user.id)
    studying = db.session.scalars(select(ModuleStudy).where(ModuleStudy.user_id == user.id))
    for mine in studying:
        if mine.module_id not in done:
            sync_completion(user, db.session.get(StudyModule, mine.module_id), now)


def _sync_programs(user: User, module: StudyModule, now: datetime) -> None:
    done = completed_module_ids(user.id)
    for program in published_programs():
        ids = [entry.module_id for entry in program.entries]
        finished = module.id in ids and set(ids) <= done
        if finished and program_completion(user.id, program.id) is None:
            db.session.add(
                ProgramCompletion(user_id=user.id, program_id=program.id, completed_at=now)
            )
    db.session.flush()


def completed_module_ids(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(ModuleCompletion.module_id).where(ModuleCompletion.user_id == user_id)
        )
    )


def program_completion(user_id: int, program_id: int) -> ProgramCompletion | None:
    return db.session.scalar(
        select(ProgramCompletion).where(
            ProgramCompletion.user_id == user_id, ProgramCompletion.program_id == program_id
        )
    )


@dataclass
class StudyRecord:
    completions: list[ModuleCompletion]
    program_completions: list[ProgramCompletion]

    @property
    def credit_hours(self) -> Decimal:
        return sum((c.credit_hours for c in self.completions), Decimal(0))


def study_record(user_id: int) -> StudyRecord:
    return StudyRecord(
        completions=list(
            db.session.scalars(
                select(ModuleCompletion)
                .where(ModuleCompletion.user_id == user_id)
                .order_by(ModuleCompletion.completed_at)
            )
        ),
        program_completions=list(
            db.session.scalars(
                select(ProgramCompletion).where(ProgramCompletion.user_id == user_id)
            )
        ),
    )


def lesson_citations() -> list[tuple[str, str | None, list]]:
    """Every published lesson with its 依据 parsed (LawRefDrafts): (module · lesson, its page
    for a learner, else None, refs). The law library matches them against its articles;
    the bank does not know lessons."""
    from flask import url_for
    from flask_login import current_user

    from core.roles import Role
    from question_bank.drafts import parse_law_refs

    reader = current_user.is_authenticated and current_user.has_any_role(Role.LEARNER)
    found = []
    for module in published_modules():
        published = module.published
        for lesson in published.lessons if published else ():
            refs, _ = parse_law_refs(lesson.law_refs or "")
            if refs:
                url = url_for("study.lesson", module_id=module.id, key=lesson.key)
                found.append((f"{published.title} · {lesson.title}", url if reader else None, refs))
    return found
