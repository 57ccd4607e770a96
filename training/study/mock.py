"""The mock enforcement-certificate exam (执法证模拟考试): the real exam's format, taken
through the exam engine (an exam of kind enforcement_mock), so it is drawn, timed and
scored like the real one.

The format is one per deployment, that is per province: two parts, 公共法律知识 and
专业法律知识, each drawn at random from the questions tagged with the part's topic (知识点),
by question type, with points per question; full marks, a time limit and a pass mark. A
system admin edits it on the mock format page (kept in the settings table, audited), which
publishes it as the current mock (closing the one before); until then the app's config
(ENFORCEMENT_MOCK_FORMAT) or DEFAULT_FORMAT (100 points, 60 to pass, 90 minutes) holds, and
`flask practice publish-mock` publishes that. Learners take it as often as they like.
"""

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from question_bank import queries
from question_bank.types import QUESTION_TYPES
from training.exams import attempts, setup, sittings
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Exam,
    ExamKind,
    ExamStatus,
    ReviewPolicy,
)
from training.models import Setting, User
from training.study.learning import join_self_study_batch

DEFAULT_FORMAT = {
    "province": "通用格式（各省按本省规定配置）",
    "full_marks": 100,
    "time_limit_minutes": 90,
    "pass_mark": 60,
    "parts": [
        {
            "name": "公共法律知识",
            "topic": "公共法律知识",
            # [question type, count, points each]: 30 + 20 + 10 = 60 points
            "sections": [["single", 30, 1], ["multiple", 10, 2], ["true_false", 10, 1]],
        },
        {
            "name": "专业法律知识",
            "topic": "专业法律知识",
            # 20 + 10 + 10 = 40 points
            "sections": [["single", 20, 1], ["multiple", 5, 2], ["true_false", 10, 1]],
        },
    ],
}
OPEN_FOR = timedelta(days=3650)
FORMAT_KEY = "practice.mock_format"
#: the question types a part may draw (auto-scored, as in the real exam)
PART_TYPES = ("single", "multiple", "true_false")
MIN_MINUTES, MAX_MINUTES = 10, 300
ATTEMPTS = 20
BATCH_NAME = "自主模拟"


class MockError(ServiceError):
    code = "mock"


@dataclass(frozen=True)
class Part:
    name: str
    topic: str | None
    #: (question type, count, points each)
    sections: tuple[tuple[str, int, Decimal], ...]

    @property
    def points(self) -> Decimal:
        return sum((count * points for _, count, points in self.sections), Decimal(0))

    @property
    def description(self) -> str:
        return "、".join(
            f"{QUESTION_TYPES[kind]}{count}题（每题{points}分）"
            for kind, count, points in self.sections
        )


@dataclass(frozen=True)
class MockFormat:
    province: str
    time_limit_minutes: int
    pass_mark: Decimal
    parts: tuple[Part, ...]

    @property
    def total(self) -> Decimal:
        return sum((part.points for part in self.parts), Decimal(0))


def configured_format(config) -> MockFormat:
    """The deployment's format: the one a system admin saved, else ENFORCEMENT_MOCK_FORMAT
    from the config, else DEFAULT_FORMAT."""
    saved = db.session.get(Setting, FORMAT_KEY)
    if saved is not None:
        return read_format(json.loads(saved.value))
    return read_format(config.get("ENFORCEMENT_MOCK_FORMAT") or DEFAULT_FORMAT)


def read_format(raw: dict) -> MockFormat:
    """The format from its mapping (the config's or the settings page's); MockError naming
    what is wrong."""
    try:
        parts = tuple(
            Part(
                name=str(part["name"]).strip(),
                topic=str(part.get("topic") or "").strip() or None,
                sections=tuple(
                    (str(kind), int(count), Decimal(str(points)))
                    for kind, count, points in part["sections"]
                ),
            )
            for part in raw["parts"]
        )
        fmt = MockFormat(
            province=str(raw.get("province", "")).strip(),
            time_limit_minutes=int(raw["time_limit_minutes"]),
            pass_mark=Decimal(str(raw["pass_mark"])),
            parts=parts,
        )
        full_marks = Decimal(str(raw.get("full_marks") or fmt.total))
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise MockError(f"模拟考试格式配置不完整或有误：{error}") from error
    if not fmt.parts or any(not part.sections for part in fmt.parts):
        raise MockError("模拟考试格式至少需要一个部分，每部分至少一种题型。")
    if any(not part.name for part in fmt.parts):
        raise MockError("请填写每个部分的名称。")
    if any(kind not in QUESTION_TYPES for part in fmt.parts for kind, _, _ in part.sections):
        raise MockError("模拟考试格式中有不认识的题型。")
    for part in fmt.parts:
        if any(count < 1 or points <= 0 for _, count, points in part.sections):
            raise MockError(f"{part.name}：每种题型的题数应至少 1 题，每题分值应大于 0。")
    if fmt.total != full_marks:
        raise MockError(
            "各部分分值之和为 "
            + " + ".join(f"{part.points}" for part in fmt.parts)
            + f" = {fmt.total} 分，与满分 {full_marks} 分不符。"
        )
    if not Decimal(0) < fmt.pass_mark <= fmt.total:
        raise MockError(f"合格分应大于 0 且不超过满分 {fmt.total} 分。")
    if not MIN_MINUTES <= fmt.time_limit_minutes <= MAX_MINUTES:
        raise MockError(f"考试时长应为 {MIN_MINUTES}–{MAX_MINUTES} 分钟。")
    return fmt


def raw_format(fmt: MockFormat) -> dict:
    """The format as the mapping read_format reads (what the settings table keeps)."""
    return {
        "province": fmt.province,
        "full_marks": str(fmt.total),
        "time_limit_minutes": fmt.time_limit_minutes,
        "pass_mark": str(fmt.pass_mark),
        "parts": [
            {
                "name": part.name,
                "topic": part.topic or "",
                "sections": [[kind, count, str(points)] for kind, count, points in part.sections],
            }
            for part in fmt.parts
        ],
    }


def save_format(actor: Actor, raw: dict, now: datetime, rng: random.Random) -> Exam:
    """Check the format, publish it as the current mock (refused, naming the part, when
    the bank cannot fill a part) and keep it as the deployment's format, audited."""
    fmt = read_format(raw)
    before = describe(configured_format(current_app.config))
    exam = publish_mock(actor, fmt, now, rng)
    kept = json.dumps(raw_format(fmt), ensure_ascii=False)
    row = db.session.get(Setting, FORMAT_KEY)
    if row is None:
        db.session.add(Setting(key=FORMAT_KEY, value=kept))
    else:
        row.value = kept
    record(
        actor,
        "practice.mock_format.save",
        object_type="exam",
        object_id=exam.id,
        summary=(
            f"{fmt.province}：满分 {fmt.total} 分，合格 {fmt.pass_mark} 分，"
            f"{fmt.time_limit_minutes} 分钟"
        ),
        detail={"format": [before, describe(fmt)]},
    )
    return exam


def describe(fmt: MockFormat) -> str:
    """The format in one line, for the audit log."""
    parts = "；".join(
        f"{part.name}（知识点「{part.topic or '不限'}」）{part.description}" for part in fmt.parts
    )
    return (
        f"{fmt.province}：满分 {fmt.total}，合格 {fmt.pass_mark}，"
        f"{fmt.time_limit_minutes} 分钟；{parts}"
    )


def instructions(fmt: MockFormat) -> str:
    parts = "；".join(f"{part.name} {part.points} 分：{part.description}" for part in fmt.parts)
    return (
        f"执法证模拟考试（{fmt.province}）：满分 {fmt.total} 分，{fmt.pass_mark} 分合格，"
        f"限时 {fmt.time_limit_minutes} 分钟，闭卷（作答期间题库、法律库和练习不开放），"
        f"试题从题库中随机抽取，每次不同。{parts}。"
    )


def publish_mock(actor: Actor, fmt: MockFormat, now: datetime, rng: random.Random) -> Exam:
    """Publish the format as the current mock exam, closing any mock published before."""
    sections = []
    for part in fmt.parts:
        topic_id = queries.topic_id(part.topic) if part.topic else None
        if part.topic and topic_id is None:
            raise MockError(
                f"题库中还没有知识点「{part.topic}」：请先为{part.name}的试题标注该知识点。"
            )
        sections += [
            setup.SectionData(kind, count, points, topic_id=topic_id)
            for kind, count, points in part.sections
        ]
    try:
        blueprint = setup.save_blueprint(
            actor,
            setup.BlueprintData(
                name=f"执法证模拟考试（{fmt.province}）"[:100],
                sections=sections,
                random_per_candidate=True,
                shuffle_choices=True,
            ),
        )
    except setup.SetupError as error:
        raise MockError(error.message) from error
    exam = setup.save_exam(
        actor,
        setup.ExamData(
            title=f"执法证模拟考试（{fmt.province}）"[:200],
            kind=ExamKind.ENFORCEMENT_MOCK.value,
            blueprint_id=blueprint.id,
            time_limit_minutes=fmt.time_limit_minutes,
            pass_mark=fmt.pass_mark,
            opens_at=now,
            closes_at=now + OPEN_FOR,
            attempts_allowed=ATTEMPTS,
            retake_after_pass=True,
            review_policy=ReviewPolicy.SCORE.value,
            instructions=instructions(fmt)[:2000],
        ),
    )
    for older in published_mocks():
        setup.close(actor, older)
    setup.publish(actor, exam, rng)
    sittings.create_batch(actor, exam, BATCH_NAME, exam.opens_at, exam.closes_at)
    return exam


def published_mocks() -> list[Exam]:
    return list(
        db.session.scalars(
            select(Exam)
            .where(Exam.kind == ExamKind.ENFORCEMENT_MOCK.value)
            .where(Exam.status == ExamStatus.PUBLISHED.value)
            .order_by(Exam.id)
        )
    )


def current_mock(now: datetime) -> Exam | None:
    return next((exam for exam in reversed(published_mocks()) if exam.closes_at > now), None)


def start_mock(user: User, now: datetime, rng: random.Random) -> Attempt:
    """The learner's mock attempt (resumed when open), through the exam engine."""
    exam = current_mock(now)
    if exam is None:
        raise MockError("目前没有开放的执法证模拟考试。")
    join_self_study_batch(user, exam)
    try:
        return attempts.start_attempt(user, exam, now, rng)
    except attempts.ExamError as error:
        raise MockError(error.message) from error


def my_mocks(user_id: int, limit: int = 10) -> list[Attempt]:
    """The learner's submitted mock attempts, newest first."""
    return list(
        db.session.scalars(
            select(Attempt)
            .join(Exam, Exam.id == Attempt.exam_id)
            .where(Attempt.user_id == user_id, Exam.kind == ExamKind.ENFORCEMENT_MOCK.value)
            .where(Attempt.status == AttemptStatus.SUBMITTED.value)
            .order_by(Attempt.submitted_at.desc())
            .limit(limit)
        )
    )


def open_mock_attempt(user_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.user_id == user_id, Exam.kind == ExamKind.ENFORCEMENT_MOCK.value)
        .where(Attempt.status == AttemptStatus.IN_PROGRESS.value)
        .order_by(Attempt.started_at.desc())
        .limit(1)
    )
