"""Setting exams up: blueprints, exams and their lifecycle, batches and rosters.

Functions flush; the request commits once. Every change is audited.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core.audit import Actor, record
from core.extensions import db
from training.exams.assembly import BlueprintError, draw, section_pools
from training.exams.models import (
    Batch,
    BatchMember,
    Blueprint,
    BlueprintSection,
    Exam,
    ExamStatus,
)
from training.models import User, subtree_ids


class SetupError(ValueError):
    """A rule of exam set-up was broken; the message is shown as is."""


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


def save_blueprint(
    actor: Actor, data: BlueprintData, blueprint: Blueprint | None = None
) -> Blueprint:
    """Create or replace a blueprint; refused, naming the shortfall, if the bank cannot
    fill it. A blueprint that a published exam uses is not changed."""
    if not data.name.strip():
        raise SetupError("请填写组卷规则名称。")
    if blueprint is not None and _in_use(blueprint):
        raise SetupError("该组卷规则已被已发布的考试使用，不能修改；请复制为新规则。")
    blueprint = blueprint or Blueprint(created_by=actor.id)
    blueprint.name = data.name.strip()
    blueprint.random_per_candidate = data.random_per_candidate
    blueprint.shuffle_questions = data.shuffle_questions
    blueprint.shuffle_choices = data.shuffle_choices
    blueprint.sections = [
        BlueprintSection(position=position, **vars(section))
        for position, section in enumerate(data.sections, start=1)
    ]
    with db.session.no_autoflush:
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


def _in_use(blueprint: Blueprint) -> bool:
    return (
        db.session.scalar(
            select(Exam.id).where(Exam.blueprint_id == blueprint.id, Exam.status != "draft")
        )
        is not None
    )


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
    if not 1 <= data.attempts_allowed <= 20:
        errors["attempts_allowed"] = "可参加次数应为 1–20 次。"
    thresholds = [Decimal(str(threshold)) for threshold, _ in data.grade_bands]
    if any(threshold < data.pass_mark for threshold in thresholds):
        errors["grade_bands"] = "等级分数线不应低于合格分。"
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


def _move(exam: Exam, target: ExamStatus) -> None:
    current = ExamStatus(exam.status)
    if target not in TRANSITIONS[current]:
        raise SetupError(f"考试当前为「{current.label}」，不能改为「{target.label}」。")
    exam.status = target.value


def publish(actor: Actor, exam: Exam, rng: random.Random | None = None) -> None:
    """Freeze what the exam draws from; a fixed-paper exam draws its one paper now."""
    _move(exam, ExamStatus.PUBLISHED)
    try:
        pools = section_pools(exam.blueprint)
    except BlueprintError as error:
        raise SetupError(f"题库不足，无法发布：{error}") from error
    if not exam.blueprint.random_per_candidate:
        paper = draw(exam.blueprint, pools, rng or random.Random())
        chosen = {item.version_id for item in paper}
        pools = [[entry for entry in pool if entry[1] in chosen] for pool in pools]
    exam.pools = [[list(entry) for entry in pool] for pool in pools]
    record(actor, "exam.publish", object_type="exam", object_id=exam.id, summary=exam.title)


def close(actor: Actor, exam: Exam) -> None:
    _move(exam, ExamStatus.CLOSED)
    record(actor, "exam.close", object_type="exam", object_id=exam.id, summary=exam.title)


def create_batch(
    actor: Actor, exam: Exam, name: str, opens_at: datetime, closes_at: datetime
) -> Batch:
    if not name.strip():
        raise SetupError("请填写场次名称。")
    if opens_at >= closes_at:
        raise SetupError("场次结束时间应晚于开始时间。")
    if opens_at < exam.opens_at or closes_at > exam.closes_at:
        raise SetupError("场次时间应在考试开放时间之内。")
    batch = Batch(exam=exam, name=name.strip(), opens_at=opens_at, closes_at=closes_at)
    db.session.add(batch)
    db.session.flush()
    record(
        actor,
        "batch.create",
        object_type="batch",
        object_id=batch.id,
        summary=f"{exam.title} / {batch.name}",
    )
    return batch


def add_members(actor: Actor, batch: Batch, users: list[User]) -> int:
    """Put users on the roster (those already on it are left as they are)."""
    present = set(
        db.session.scalars(select(BatchMember.user_id).where(BatchMember.batch_id == batch.id))
    )
    added = [user for user in users if user.id not in present and user.is_active]
    batch.members.extend(BatchMember(user_id=user.id) for user in added)
    db.session.flush()
    record(
        actor,
        "batch.roster",
        object_type="batch",
        object_id=batch.id,
        summary=f"加入 {len(added)} 人",
        detail={"users": [user.id for user in added]},
    )
    return len(added)


def add_unit(actor: Actor, batch: Batch, unit_id: int) -> int:
    """Put every active user of a unit and the units below it on the roster."""
    users = db.session.scalars(
        select(User).where(User.unit_id.in_(subtree_ids(unit_id)), User.is_active)
    ).all()
    return add_members(actor, batch, list(users))
