"""Setting exams up: blueprints (组卷规则) and exams with their lifecycle
(draft → published → closed).

Functions flush; the request commits once. Every change is audited.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from question_bank import queries
from question_bank.types import TYPES
from training.exams.assembly import BlueprintError, draw, section_pools
from training.exams.models import (
    CASE_SECTION,
    Blueprint,
    BlueprintSection,
    Exam,
    ExamStatus,
)

MAX_SECTION_COUNT = 500
MAX_SECTION_POINTS = Decimal(100)
CENT = Decimal("0.01")


class SetupError(ServiceError):
    """A rule of exam set-up was broken; the message is shown as is."""

    code = "exam_setup"


# --- blueprints --------------------------------------------------------------------


@dataclass
class SectionData:
    question_type: str
    count: int
    points: Decimal
    law_id: int | None = None
    topic_id: int | None = None
    difficulty_min: int | None = None
    difficulty_max: int | None = None


@dataclass
class BlueprintData:
    name: str
    sections: list[SectionData]
    random_per_candidate: bool = False
    shuffle_questions: bool = False
    shuffle_choices: bool = False
    shuffle_within_case: bool = False


def _section(position: int, data: SectionData) -> BlueprintSection:
    """A section with its law and topic loaded, so a shortfall message can name them."""
    where = f"第{position}部分"
    if data.question_type not in TYPES and data.question_type != CASE_SECTION:
        raise SetupError(f"{where}：题型不正确。")
    if data.question_type == CASE_SECTION and (data.difficulty_min or data.difficulty_max):
        raise SetupError(f"{where}：案例分析部分不按难度抽取，请清空难度。")
    if not 1 <= data.count <= MAX_SECTION_COUNT:
        raise SetupError(f"{where}：题数应为 1–{MAX_SECTION_COUNT}。")
    if not Decimal(0) < data.points <= MAX_SECTION_POINTS:
        raise SetupError(f"{where}：每题分值应大于 0 且不超过 {MAX_SECTION_POINTS}。")
    if data.points != data.points.quantize(CENT):
        raise SetupError(f"{where}：每题分值最多两位小数。")
    low, high = data.difficulty_min, data.difficulty_max
    if any(value is not None and not 1 <= value <= 5 for value in (low, high)):
        raise SetupError(f"{where}：难度应为 1–5。")
    if low is not None and high is not None and low > high:
        raise SetupError(f"{where}：最低难度不能高于最高难度。")
    law = queries.law(data.law_id) if data.law_id else None
    if data.law_id and law is None:
        raise SetupError(f"{where}：所选法律不存在。")
    topic = queries.topic(data.topic_id) if data.topic_id else None
    if data.topic_id and topic is None:
        raise SetupError(f"{where}：所选知识点不存在。")
    return BlueprintSection(
        position=position,
        question_type=data.question_type,
        count=data.count,
        points=data.points.quantize(CENT),
        # Both the key (the pool query reads it before any flush) and the object (for
        # the section's label in a shortfall message).
        law_id=data.law_id,
        law=law,
        topic_id=data.topic_id,
        topic=topic,
        difficulty_min=low,
        difficulty_max=high,
    )


def save_blueprint(
    actor: Actor, data: BlueprintData, blueprint: Blueprint | None = None
) -> Blueprint:
    """Create or replace a blueprint; refused, naming the shortfall, if the bank cannot
    fill it. A blueprint that a published exam uses is not changed."""
    if not data.name.strip():
        raise SetupError("请填写组卷规则名称。")
    if not data.sections:
        raise SetupError("组卷规则至少需要一个部分。")
    if blueprint is not None and blueprint.id in blueprints_in_use([blueprint.id]):
        raise SetupError("该组卷规则已被已发布的考试使用，不能修改；请复制为新规则。")
    with db.session.no_autoflush:
        sections = [
            _section(position, section) for position, section in enumerate(data.sections, 1)
        ]
        blueprint = blueprint or Blueprint(created_by=actor.id)
        blueprint.name = data.name.strip()
        blueprint.random_per_candidate = data.random_per_candidate
        blueprint.shuffle_questions = data.shuffle_questions
        blueprint.shuffle_choices = data.shuffle_choices
        blueprint.shuffle_within_case = data.shuffle_within_case
        blueprint.sections = sections
        try:
            section_pools(blueprint)
        except BlueprintError as error:
            raise SetupError(f"题库不足，无法按此规则组卷：{error}") from error
    db.session.add(blueprint)
    db.session.flush()
    record(
        actor,
        "blueprint.save",
        object_type="blueprint",
        object_id=blueprint.id,
        summary=f"{blueprint.name}：{blueprint.question_count} 题，满分 {blueprint.max_score}",
    )
    return blueprint


def blueprints_in_use(blueprint_ids: list[int]) -> set[int]:
    """Which of the blueprints a published or closed exam uses (they can no longer change)."""
    return set(
        db.session.scalars(
            select(Exam.blueprint_id)
            .where(Exam.blueprint_id.in_(blueprint_ids))
            .where(Exam.status != ExamStatus.DRAFT.value)
        )
    )


def blueprint_data_of(blueprint: Blueprint) -> BlueprintData:
    """A blueprint as data, to fill an edit form or copy it into a new one."""
    return BlueprintData(
        name=blueprint.name,
        sections=[
            SectionData(
                question_type=s.question_type,
                count=s.count,
                points=s.points,
                law_id=s.law_id,
                topic_id=s.topic_id,
                difficulty_min=s.difficulty_min,
                difficulty_max=s.difficulty_max,
            )
            for s in blueprint.sections
        ],
        random_per_candidate=blueprint.random_per_candidate,
        shuffle_questions=blueprint.shuffle_questions,
        shuffle_choices=blueprint.shuffle_choices,
        shuffle_within_case=blueprint.shuffle_within_case,
    )


# --- exams -------------------------------------------------------------------------


@dataclass
class ExamData:
    title: str
    kind: str
    blueprint_id: int
    time_limit_minutes: int
    pass_mark: Decimal
    opens_at: datetime
    closes_at: datetime
    grade_bands: list = field(default_factory=list)
    attempts_allowed: int = 1
    counting: str = "best"
    one_attempt_per_batch: bool = False
    retake_after_pass: bool = False
    review_policy: str = "score"
    multiple_policy: str = "all_or_nothing"
    instructions: str = ""
    double_marking: bool = False
    marking_gap: Decimal | None = None


EXAM_FIELDS = tuple(ExamData.__dataclass_fields__)


def exam_data_of(exam: Exam) -> ExamData:
    return ExamData(**{name: getattr(exam, name) for name in EXAM_FIELDS})


def check_exam_data(data: ExamData) -> dict[str, str]:
    errors = {}
    blueprint = db.session.get(Blueprint, data.blueprint_id)
    if not data.title.strip():
        errors["title"] = "请填写考试名称。"
    if blueprint is None:
        errors["blueprint_id"] = "组卷规则不存在。"
    elif not Decimal(0) < data.pass_mark <= blueprint.max_score:
        errors["pass_mark"] = f"合格分应在 0 到满分 {blueprint.max_score} 之间。"
    if data.opens_at >= data.closes_at:
        errors["closes_at"] = "结束时间应晚于开始时间。"
    if not 1 <= data.time_limit_minutes <= 600:
        errors["time_limit_minutes"] = "考试时长应为 1–600 分钟。"
    if data.marking_gap is not None and not Decimal(0) <= data.marking_gap <= Decimal(100):
        errors["marking_gap"] = "双评分差应为 0–100 分。"
    if not 1 <= data.attempts_allowed <= 20:
        errors["attempts_allowed"] = "可参加次数应为 1–20 次。"
    thresholds = [Decimal(str(threshold)) for threshold, _ in data.grade_bands]
    if any(threshold < data.pass_mark for threshold in thresholds):
        errors["grade_bands"] = "等级分数线不应低于合格分。"
    elif blueprint is not None and any(t > blueprint.max_score for t in thresholds):
        errors["grade_bands"] = f"等级分数线不应高于满分 {blueprint.max_score}。"
    return errors


def save_exam(actor: Actor, data: ExamData, exam: Exam | None = None) -> Exam:
    """Create an exam, or change one still in draft."""
    if exam is not None and exam.status != ExamStatus.DRAFT.value:
        raise SetupError("考试已发布，不能再修改设置。")
    if errors := check_exam_data(data):
        raise SetupError("；".join(errors.values()))
    exam = exam or Exam(created_by=actor.id)
    for name, value in vars(data).items():
        setattr(exam, name, value.strip() if isinstance(value, str) else value)
    db.session.add(exam)
    db.session.flush()
    record(actor, "exam.save", object_type="exam", object_id=exam.id, summary=exam.title)
    return exam


TRANSITIONS = {
    ExamStatus.DRAFT: {ExamStatus.PUBLISHED},
    ExamStatus.PUBLISHED: {ExamStatus.CLOSED},
    ExamStatus.CLOSED: set(),
}


def _check_move(exam: Exam, target: ExamStatus) -> None:
    current = ExamStatus(exam.status)
    if target not in TRANSITIONS[current]:
        raise SetupError(f"考试当前为「{current.label}」，不能改为「{target.label}」。")


def _move(exam: Exam, target: ExamStatus) -> None:
    _check_move(exam, target)
    exam.status = target.value


def publish(actor: Actor, exam: Exam, rng: random.Random | None = None) -> None:
    """Freeze what the exam draws from; a fixed-paper exam draws its one paper now."""
    _check_move(exam, ExamStatus.PUBLISHED)
    # The blueprint may have changed since the exam was saved.
    if exam.pass_mark > exam.blueprint.max_score:
        raise SetupError(
            f"合格分 {exam.pass_mark} 高于组卷规则的满分 {exam.blueprint.max_score}，"
            "请先修改考试设置。"
        )
    try:
        pools = section_pools(exam.blueprint)
    except BlueprintError as error:
        raise SetupError(f"题库不足，无法发布：{error}") from error
    if not exam.blueprint.random_per_candidate:
        paper = draw(exam.blueprint, pools, rng or random.Random())
        # Each section keeps exactly the questions drawn for it: with overlapping filters
        # a shared pool would let a question move between sections (and their points).
        # (A case section's entries are cases: their id is the case version's.)
        chosen = {(item.section, item.case_version_id or item.version_id) for item in paper}
        pools = [
            [entry for entry in pool if (number, entry[1]) in chosen]
            for number, pool in enumerate(pools)
        ]
    exam.pools = [[list(entry) for entry in pool] for pool in pools]
    exam.pools_revision = Exam.pools_revision + 1
    _move(exam, ExamStatus.PUBLISHED)
    db.session.flush()  # the revision is read back as a number from here on
    record(actor, "exam.publish", object_type="exam", object_id=exam.id, summary=exam.title)


def close(actor: Actor, exam: Exam) -> None:
    _move(exam, ExamStatus.CLOSED)
    record(actor, "exam.close", object_type="exam", object_id=exam.id, summary=exam.title)
