"""Writing study modules and programs: versions (an edit that changes something makes a
new immutable version, one that changes nothing makes none), lesson order, publish with
the module quiz, retire (never delete).

Functions flush; the request commits once. Every change is audited.
"""

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from question_bank import queries
from question_bank.drafts import format_law_refs, parse_law_refs
from training.exams import setup, sittings
from training.exams.models import Exam, ExamKind, ExamStatus, ReviewPolicy
from training.exams.setup import BlueprintData, ExamData, SectionData
from training.study import reviews
from training.study.models import (
    Lesson,
    LessonReview,
    ModuleVersion,
    Program,
    ProgramModule,
    Status,
    StudyModule,
)

MAX_TITLE = 100
MAX_SUMMARY = 500
MAX_BODY = 20_000
MAX_LINKED_QUESTIONS = 20
MAX_CREDIT_HOURS = Decimal(50)
MAX_QUIZ_PER_TYPE = 50
#: a quiz is a self-study exam: open for years, retaken until passed (at most the exam
#: engine's 20 attempts), 30 minutes a try
QUIZ_OPEN_FOR = timedelta(days=3650)
QUIZ_MINUTES = 30
QUIZ_ATTEMPTS = 20
#: quiz question types, in paper order
QUIZ_TYPES = (
    ("single", "quiz_single"),
    ("multiple", "quiz_multiple"),
    ("true_false", "quiz_true_false"),
)


class StudyError(ServiceError):
    """A rule of study modules was broken; the message is shown as is."""

    code = "study"


@dataclass
class ModuleData:
    title: str
    summary: str = ""
    credit_hours: Decimal = Decimal(1)
    quiz_law_id: int | None = None
    quiz_topic_id: int | None = None
    quiz_single: int = 0
    quiz_multiple: int = 0
    quiz_true_false: int = 0
    quiz_pass_percent: int = 60


MODULE_FIELDS = tuple(ModuleData.__dataclass_fields__)


@dataclass
class LessonData:
    title: str
    body: str
    law_refs: str = ""
    question_ids: list[int] = field(default_factory=list)


def module_data_of(version: ModuleVersion) -> ModuleData:
    return ModuleData(**{name: getattr(version, name) for name in MODULE_FIELDS})


def lesson_data_of(lesson: Lesson) -> LessonData:
    return LessonData(lesson.title, lesson.body, lesson.law_refs, list(lesson.question_ids))


# --- checks ----------------------------------------------------------------------------


def check_module_data(data: ModuleData) -> dict[str, str]:
    errors = {}
    if not data.title.strip():
        errors["title"] = "请填写模块名称。"
    elif len(data.title.strip()) > MAX_TITLE:
        errors["title"] = f"模块名称不能超过 {MAX_TITLE} 字。"
    if len(data.summary.strip()) > MAX_SUMMARY:
        errors["summary"] = f"简介不能超过 {MAX_SUMMARY} 字。"
    try:
        hours = Decimal(data.credit_hours)
    except (InvalidOperation, TypeError):
        hours = Decimal(0)
    if not Decimal(0) < hours <= MAX_CREDIT_HOURS or hours != hours.quantize(Decimal("0.1")):
        errors["credit_hours"] = f"学时应大于 0、不超过 {MAX_CREDIT_HOURS}，最多一位小数。"
    if data.quiz_law_id and queries.law(data.quiz_law_id) is None:
        errors["quiz_law_id"] = "所选法律不存在。"
    if data.quiz_topic_id and queries.topic(data.quiz_topic_id) is None:
        errors["quiz_topic_id"] = "所选知识点不存在。"
    counts = [getattr(data, name) for _, name in QUIZ_TYPES]
    if any(not 0 <= count <= MAX_QUIZ_PER_TYPE for count in counts):
        errors["quiz_single"] = f"每种题型的测验题数应为 0–{MAX_QUIZ_PER_TYPE}。"
    if not 1 <= data.quiz_pass_percent <= 100:
        errors["quiz_pass_percent"] = "合格线应为 1–100（百分比）。"
    return errors


def check_lesson_data(data: LessonData) -> tuple[LessonData, dict[str, str]]:
    """The lesson tidied (its 依据 in canonical notation), and what is wrong with it."""
    errors = {}
    title, body = data.title.strip(), data.body.strip()
    if not title:
        errors["title"] = "请填写课程标题。"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"课程标题不能超过 {MAX_TITLE} 字。"
    if not body:
        errors["body"] = "请填写课程正文。"
    elif len(body) > MAX_BODY:
        errors["body"] = f"课程正文不能超过 {MAX_BODY} 字。"
    refs, problem = parse_law_refs(data.law_refs)
    if problem is None and refs:
        problem = queries.law_refs_problem(refs)
    if problem:
        errors["law_refs"] = problem
    question_ids = list(dict.fromkeys(data.question_ids))
    if len(question_ids) > MAX_LINKED_QUESTIONS:
        errors["question_ids"] = f"关联试题不能超过 {MAX_LINKED_QUESTIONS} 道。"
    elif missing := sorted(set(question_ids) - queries.existing_question_ids(question_ids)):
        errors["question_ids"] = "题库中没有这些试题：" + "、".join(f"#{n}" for n in missing)
    tidy = LessonData(title, body, format_law_refs(refs) if refs else "", question_ids)
    return tidy, errors


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise StudyError("；".join(errors.values()), fields=errors)


# --- versions --------------------------------------------------------------------------


def _lesson_tuple(lesson: Lesson) -> tuple:
    return (lesson.key, lesson.title, lesson.body, lesson.law_refs, list(lesson.question_ids))


def _version_content(data: ModuleData, lessons: list[Lesson]) -> tuple:
    return (
        tuple((name, getattr(data, name)) for name in MODULE_FIELDS),
        [_lesson_tuple(lesson) for lesson in lessons],
    )


def _copy(lesson: Lesson, position: int) -> Lesson:
    return Lesson(
        key=lesson.key,
        position=position,
        title=lesson.title,
        body=lesson.body,
        law_refs=lesson.law_refs,
        question_ids=list(lesson.question_ids),
    )


def _tidy_module(data: ModuleData) -> ModuleData:
    _raise_if(check_module_data(data))
    return ModuleData(
        **{
            **vars(data),
            "title": data.title.strip(),
            "summary": data.summary.strip(),
            "credit_hours": Decimal(data.credit_hours).quantize(Decimal("0.1")),
        }
    )


def _new_version(
    actor: Actor, module: StudyModule, data: ModuleData, lessons: list[Lesson], what: str
) -> ModuleVersion | None:
    """A new version holding `data` and `lessons` (unsaved copies), or None when that is
    what the newest version already says."""
    current = module.current
    if current is not None and _version_content(
        module_data_of(current), current.lessons
    ) == _version_content(data, lessons):
        return None
    number = (current.number + 1) if current is not None else 1
    version = ModuleVersion(number=number, created_by=actor.id, **vars(data))
    version.lessons = [_copy(lesson, position) for position, lesson in enumerate(lessons, 1)]
    module.versions.append(version)
    module.current_number = number
    db.session.flush()
    record(
        actor,
        "study.module.save",
        object_type="study_module",
        object_id=module.id,
        summary=f"{version.title} 第{number}版：{what}",
        detail={"version": number, "lessons": len(version.lessons)},
    )
    return version


def create_module(actor: Actor, data: ModuleData) -> StudyModule:
    module = StudyModule(created_by=actor.id)
    db.session.add(module)
    db.session.flush()
    _new_version(actor, module, _tidy_module(data), [], "新建模块")
    return module


def _editable(module: StudyModule) -> None:
    if module.status == Status.RETIRED.value:
        raise StudyError("该模块已停用，不能再修改。")


def save_module(actor: Actor, module: StudyModule, data: ModuleData) -> ModuleVersion | None:
    """The module's title, summary, credit and quiz rules; None when nothing changed."""
    _editable(module)
    return _new_version(
        actor, module, _tidy_module(data), list(module.current.lessons), "修改模块信息"
    )


def save_lesson(
    actor: Actor, module: StudyModule, data: LessonData, key: int | None = None
) -> tuple[int, ModuleVersion | None]:
    """Add a lesson (key None, at the end) or change one; its key, and the new version
    (None when nothing changed)."""
    _editable(module)
    tidy, errors = check_lesson_data(data)
    _raise_if(errors)
    current = module.current
    lessons = list(current.lessons)
    if key is None:
        key = module.next_lesson_key
        module.next_lesson_key += 1
        what = f"新增课程「{tidy.title}」"
        lessons.append(Lesson(key=key, **vars(tidy)))
    else:
        old = current.lesson(key)
        if old is None:
            raise StudyError("该课程不在模块的当前版本中。")
        what = f"修改课程「{tidy.title}」"
        lessons = [Lesson(key=key, **vars(tidy)) if x.key == key else x for x in lessons]
    return key, _new_version(actor, module, module_data_of(current), lessons, what)


def move_lesson(actor: Actor, module: StudyModule, key: int, step: int) -> ModuleVersion | None:
    """Move a lesson one place up (step -1) or down (+1); at either end nothing changes."""
    _editable(module)
    lessons = list(module.current.lessons)
    index = next((i for i, lesson in enumerate(lessons) if lesson.key == key), None)
    if index is None:
        raise StudyError("该课程不在模块的当前版本中。")
    target = index + step
    if not 0 <= target < len(lessons) or step not in (-1, 1):
        return None
    lessons[index], lessons[target] = lessons[target], lessons[index]
    what = f"调整课程「{lessons[target].title}」的顺序"
    return _new_version(actor, module, module_data_of(module.current), lessons, what)


def remove_lesson(actor: Actor, module: StudyModule, key: int) -> ModuleVersion:
    """A new version without the lesson (older versions keep it)."""
    _editable(module)
    lessons = list(module.current.lessons)
    gone = module.current.lesson(key)
    if gone is None:
        raise StudyError("该课程不在模块的当前版本中。")
    lessons.remove(gone)
    what = f"移除课程「{gone.title}」"
    return _new_version(actor, module, module_data_of(module.current), lessons, what)


# --- publish and retire -----------------------------------------------------------------


def quiz_blueprint_data(version: ModuleVersion) -> BlueprintData:
    """The module quiz as a blueprint: a section per question type, one point a question,
    drawn anew for each try, questions and choices shuffled."""
    sections = [
        SectionData(
            question_type=question_type,
            count=getattr(version, name),
            points=Decimal(1),
            law_id=version.quiz_law_id,
            topic_id=version.quiz_topic_id,
        )
        for question_type, name in QUIZ_TYPES
        if getattr(version, name)
    ]
    return BlueprintData(
        name=f"模块测验：{version.title}（第{version.number}版）"[:100],
        sections=sections,
        random_per_candidate=True,
        shuffle_questions=True,
        shuffle_choices=True,
    )


def _publish_quiz(actor: Actor, version: ModuleVersion, now: datetime, rng) -> Exam:
    """The version's quiz as an exam of kind module_quiz with one open self-study batch."""
    if version.quiz_count == 0:
        raise StudyError("请先设置模块测验的题数（至少 1 道）。")
    try:
        blueprint = setup.save_blueprint(actor, quiz_blueprint_data(version))
    except setup.SetupError as error:
        raise StudyError(f"模块测验无法组卷：{error.message}") from error
    pass_mark = Decimal(math.ceil(version.quiz_count * version.quiz_pass_percent / 100))
    exam = setup.save_exam(
        actor,
        ExamData(
            title=f"{version.title}（第{version.number}版）模块测验"[:200],
            kind=ExamKind.MODULE_QUIZ.value,
            blueprint_id=blueprint.id,
            time_limit_minutes=QUIZ_MINUTES,
            pass_mark=max(pass_mark, Decimal(1)),
            opens_at=now,
            closes_at=now + QUIZ_OPEN_FOR,
            attempts_allowed=QUIZ_ATTEMPTS,
            review_policy=ReviewPolicy.SCORE.value,
            instructions="学习模块测验：通过后记入学习档案并计学时，未通过可重新测验。",
        ),
    )
    setup.publish(actor, exam, rng)
    sittings.create_batch(actor, exam, "自学测验", exam.opens_at, exam.closes_at)
    version.quiz_exam_id = exam.id
    return exam


def publish_module(
    actor: Actor, module: StudyModule, now: datetime, rng: random.Random | None = None
) -> ModuleVersion:
    """Offer the newest version to learners, with its quiz. Learners already studying an
    older version keep it (and its quiz) until they complete it."""
    _editable(module)
    version = module.current
    if module.published_number == version.number:
        raise StudyError(f"第{version.number}版已经发布。")
    if not version.lessons:
        raise StudyError("模块至少需要一课才能发布。")
    _publish_quiz(actor, version, now, rng or random.Random())
    module.published_number = version.number
    module.status = Status.PUBLISHED.value
    db.session.flush()
    record(
        actor,
        "study.module.publish",
        object_type="study_module",
        object_id=module.id,
        summary=f"{version.title} 第{version.number}版",
        detail={"version": version.number},
    )
    reviews.clear_edited(actor, module, version)
    return version


def confirm_lesson_review(actor: Actor, module: StudyModule, review_id: int) -> ModuleVersion:
    """The trainer checked a flagged lesson against the revised law and it still holds:
    a new version whose lesson cites the new version (renumbered articles by their new
    number), and the review is settled. Like any new version, learners get it once
    published."""
    _editable(module)
    review = db.session.get(LessonReview, review_id)
    if review is None or review.module_id != module.id:
        raise StudyError("该待复核提醒不存在或已处理。")
    lesson = module.current.lesson(review.lesson_key)
    if lesson is None:
        raise StudyError("该课程已不在模块的当前版本中，发布当前版本即可结束复核。")
    law_refs, problem = reviews.confirmed_refs(review, lesson)
    if problem:
        raise StudyError(problem)
    data = replace(lesson_data_of(lesson), law_refs=law_refs)
    _, version = save_lesson(actor, module, data, lesson.key)
    reviews.clear(
        actor,
        review,
        "study.lesson.review_confirm",
        f"{module.current.title} · {lesson.title}",
        f"确认课程内容仍然成立，依据改引新版本（第{module.current_number}版）",
    )
    return version or module.current


def retire_module(actor: Actor, module: StudyModule) -> None:
    """No longer offered, and its quizzes close; completions and progress stay."""
    if module.status == Status.RETIRED.value:
        raise StudyError("该模块已经停用。")
    module.status = Status.RETIRED.value
    for version in module.versions:
        exam = db.session.get(Exam, version.quiz_exam_id) if version.quiz_exam_id else None
        if exam is not None and exam.status == ExamStatus.PUBLISHED.value:
            setup.close(actor, exam)
    record(
        actor,
        "study.module.retire",
        object_type="study_module",
        object_id=module.id,
        summary=module.current.title,
    )


# --- programs -----------------------------------------------------------------------------


@dataclass
class ProgramData:
    title: str
    summary: str = ""
    #: in course order
    module_ids: list[int] = field(default_factory=list)


def save_program(actor: Actor, data: ProgramData, program: Program | None = None) -> Program:
    errors = {}
    title = data.title.strip()
    if not title:
        errors["title"] = "请填写课程名称。"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"课程名称不能超过 {MAX_TITLE} 字。"
    if len(data.summary.strip()) > MAX_SUMMARY:
        errors["summary"] = f"简介不能超过 {MAX_SUMMARY} 字。"
    module_ids = list(dict.fromkeys(data.module_ids))
    modules = {
        module.id: module
        for module in db.session.scalars(select(StudyModule).where(StudyModule.id.in_(module_ids)))
    }
    if not module_ids:
        errors["modules"] = "请至少选择一个模块。"
    elif len(modules) < len(module_ids):
        errors["modules"] = "所选模块不存在。"
    elif any(module.status == Status.RETIRED.value for module in modules.values()):
        errors["modules"] = "已停用的模块不能加入课程。"
    _raise_if(errors)
    if program is not None and program.status == Status.RETIRED.value:
        raise StudyError("该课程已停用，不能再修改。")
    program = program or Program(created_by=actor.id)
    program.title, program.summary = title, data.summary.strip()
    db.session.add(program)
    program.entries = [
        ProgramModule(module_id=module_id, position=position)
        for position, module_id in enumerate(module_ids, 1)
    ]
    db.session.flush()
    record(
        actor,
        "study.program.save",
        object_type="study_program",
        object_id=program.id,
        summary=program.title,
        detail={"modules": module_ids},
    )
    return program


def publish_program(actor: Actor, program: Program) -> None:
    if program.status != Status.DRAFT.value:
        raise StudyError(f"课程当前为「{program.status_label}」，不能发布。")
    unpublished = [m for m in program.modules if m.status != Status.PUBLISHED.value]
    if unpublished:
        names = "、".join(f"「{module.current.title}」" for module in unpublished)
        raise StudyError(f"以下模块尚未发布：{names}。")
    program.status = Status.PUBLISHED.value
    record(
        actor,
        "study.program.publish",
        object_type="study_program",
        object_id=program.id,
        summary=program.title,
    )


def retire_program(actor: Actor, program: Program) -> None:
    if program.status == Status.RETIRED.value:
        raise StudyError("该课程已经停用。")
    program.status = Status.RETIRED.value
    record(
        actor,
        "study.program.retire",
        object_type="study_program",
        object_id=program.id,
        summary=program.title,
    )


def all_modules() -> list[StudyModule]:
    return list(db.session.scalars(select(StudyModule).order_by(StudyModule.id)))


def all_programs() -> list[Program]:
    return list(db.session.scalars(select(Program).order_by(Program.id)))
