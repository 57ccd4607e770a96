"""The one set of test factories for the bank and exams: questions whose keys are easy to
spot in any page, blueprints, exams built through the real set-up functions, batches and
attempts. Users and units come from the `make_user`/`make_unit` fixtures (conftest.py),
which also wraps these as fixtures (`law`, `questions`, `learner`, `exam`).

Plain functions, so that threads and helpers can call them too; each commits.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import select

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank, cases
from question_bank.drafts import LawRefDraft, QuestionDraft
from question_bank.models import Question
from training.exams import attempts, regrade, setup, sittings
from training.exams.models import Attempt, Batch, BatchMember, Exam
from training.exams.setup import SectionData
from training.study import modules

GRACE = timedelta(seconds=30)

# Texts that appear nowhere else, so a leaked key is easy to find in a page or JSON.
SINGLE_KEYS = ("正确选项甲", "正确选项乙")
MULTIPLE_KEYS = ("正确选项丙", "正确选项丁")
BLANK_KEYS = ("填空秘钥甲", "填空秘钥乙", "备选秘钥丙")
EXPLANATION_MARK = "解析秘文"

#: (question type, count, points each[, topic id]): 2×2 + 4 + 2 + 2 = 12 points
STANDARD_SECTIONS = (
    ("single", 2, 2),
    ("multiple", 1, 4),
    ("true_false", 1, 2),
    ("fill_blank", 1, 2),
)

#: the choices and key of every question add_questions() writes, by type
CHOICES = {
    "true_false": ["正确", "错误"],
    "single": ["甲", "乙", "丙", "丁"],
    "multiple": ["甲", "乙", "丙", "丁"],
}
ANSWERS = {"true_false": [0], "single": [1], "multiple": [0, 2]}
BLANK_ANSWER = "十五日"

_serial = count(1)


# --- the bank ------------------------------------------------------------------------

#: the columns of the bank's import template, in its order
HEADER = [
    "题型",
    "题干",
    "选项A",
    "选项B",
    "选项C",
    "选项D",
    "答案",
    "解析",
    "难度",
    "法律依据",
    "知识点",
]


def penalty_draft(**overrides) -> QuestionDraft:
    """A single-choice question citing 行政处罚法（2021年修订）第36条, changed by `overrides`."""
    draft = QuestionDraft(
        type="single",
        stem="违法行为在几年内未被发现的，不再给予行政处罚？",
        choices=["一年", "二年", "三年", "五年"],
        answer=[1],
        blanks=[],
        explanation="二年内未被发现的，不再给予行政处罚。",
        difficulty=2,
        law_refs=[LawRefDraft("行政处罚法", "2021年修订", 36)],
        topics=["追责时效"],
    )
    for name, value in overrides.items():
        setattr(draft, name, value)
    return draft


def add_question(
    qtype: str,
    stem: str,
    choices=(),
    answer=(),
    blanks=(),
    explanation: str = "",
) -> Question:
    question = bank.add_question(
        SYSTEM,
        QuestionDraft(
            qtype,
            stem,
            list(choices),
            list(answer),
            [list(blank) for blank in blanks],
            explanation=explanation,
        ),
    )
    db.session.commit()
    return question


def add_questions(kind: str, count: int, law_name: str = "宪法", topics=()) -> list[Question]:
    """`count` questions of one type citing `law_name` (registered already, see the `law`
    fixture), keyed as ANSWERS says (a blank: BLANK_ANSWER), tagged with `topics`."""
    questions = []
    for _ in range(count):
        number = next(_serial)
        draft = QuestionDraft(
            kind,
            f"测试题{number}：依照{law_name}，下列说法正确的是"
            + ("____" if kind == "fill_blank" else ""),
            CHOICES.get(kind, []),
            ANSWERS.get(kind, []),
            [[BLANK_ANSWER]] if kind == "fill_blank" else [],
            law_refs=[LawRefDraft(law_name, None, number % 50 + 1)],
            topics=list(topics),
        )
        questions.append(bank.add_question(SYSTEM, draft))
    db.session.commit()
    return questions


def standard_bank() -> dict[str, Question]:
    """One question per kind the standard sections draw (two single choice)."""
    return {
        "single1": add_question(
            "single",
            "单选题一：宪法是国家的什么法？",
            ["普通法甲", SINGLE_KEYS[0], "干扰项一", "干扰项二"],
            [1],
            explanation=f"{EXPLANATION_MARK}一",
        ),
        "single2": add_question(
            "single",
            "单选题二：违法行为在几年内未被发现的，不再给予行政处罚？",
            ["干扰项三", "干扰项四", SINGLE_KEYS[1]],
            [2],
            explanation=f"{EXPLANATION_MARK}二",
        ),
        "multiple": add_question(
            "multiple",
            "多选题：下列哪些属于行政处罚的种类？",
            [MULTIPLE_KEYS[0], "干扰项五", MULTIPLE_KEYS[1], "干扰项六"],
            [0, 2],
            explanation=f"{EXPLANATION_MARK}三",
        ),
        "true_false": add_question(
            "true_false",
            "判断题：宪法具有最高的法律效力。",
            ["正确", "错误"],
            [0],
            explanation=f"{EXPLANATION_MARK}四",
        ),
        "fill_blank": add_question(
            "fill_blank",
            "填空题：第一空____，第二空____。",
            blanks=[[BLANK_KEYS[0]], [BLANK_KEYS[1], BLANK_KEYS[2]]],
            explanation=f"{EXPLANATION_MARK}五",
        ),
    }


#: texts of the made-up case materials, easy to find in a page or JSON
CASE_MATERIAL = "案例材料：某县示范局对甲公司作出处理决定。"


def add_case(parts: int = 3, title: str | None = None, points=None, law_name=None):
    """A case of `parts` sub-questions (single, true_false, multiple, single, ...), each
    keyed as ANSWERS says, worth `points` each (default 2)."""
    number = next(_serial)
    kinds = ["single", "true_false", "multiple"]
    drafts = [
        QuestionDraft(
            kinds[i % 3],
            f"案例{number}第{i + 1}小题：依照材料，下列说法正确的是",
            CHOICES[kinds[i % 3]],
            ANSWERS[kinds[i % 3]],
            [],
            law_refs=[LawRefDraft(law_name, None, i + 1)] if law_name else [],
        )
        for i in range(parts)
    ]
    case = cases.add_case(
        SYSTEM,
        cases.CaseDraft(
            title=title or f"测试案例{number}",
            material=f"{CASE_MATERIAL}（{number}）",
            questions=drafts,
            points=[Decimal(p) for p in (points or [2] * parts)],
            table=[["项目", "金额"], ["罚款", "5000元"]],
        ),
    )
    db.session.commit()
    return case


#: texts of the made-up written question's key: never on a candidate's page before release
MODEL_ANSWER = "参考答案秘文：应当先行告知并听取陈述。"
MARKING_POINTS = [["要点秘文甲：先行告知", "4"], ["要点秘文乙：听取陈述", "6"]]


def add_written(kind: str = "short_answer", stem: str = "简述示范条例规定的处理程序。", **more):
    """A written question (简答/论述) with MODEL_ANSWER and MARKING_POINTS (10 points)."""
    question = bank.add_question(
        SYSTEM,
        QuestionDraft(
            kind,
            stem,
            [],
            [],
            [],
            model_answer=MODEL_ANSWER,
            marking_points=[list(point) for point in MARKING_POINTS],
            **more,
        ),
    )
    db.session.commit()
    return question


def correct_answer(question: Question) -> list:
    return key_of(question.current_version)


def key_of(version) -> list:
    """The answer that earns full marks on a question version (a written one: a text)."""
    if version.type in ("short_answer", "essay"):
        return ["作答：应当先行告知当事人，并听取其陈述和申辩。"]
    if version.type == "fill_blank":
        return [blank[0] for blank in version.blanks]
    return list(version.answer)


# --- exams ---------------------------------------------------------------------------


def make_blueprint(*sections, random_per_candidate: bool = False, **options):
    """A blueprint of `sections`: SectionData, or (type, count, points[, topic id])."""
    blueprint = setup.save_blueprint(
        SYSTEM,
        setup.BlueprintData(
            options.pop("name", "测试组卷"),
            [
                section if isinstance(section, SectionData) else _section(*section)
                for section in sections or STANDARD_SECTIONS
            ],
            random_per_candidate=random_per_candidate,
            **options,
        ),
    )
    db.session.commit()
    return blueprint


def _section(qtype, count, points, topic_id=None) -> SectionData:
    return SectionData(qtype, count, Decimal(points), topic_id=topic_id)


def make_exam(
    blueprint=None,
    *,
    roster=None,
    publish: bool = True,
    now: datetime | None = None,
    sections=STANDARD_SECTIONS,
    random_per_candidate: bool = False,
    shuffle_questions: bool = False,
    shuffle_choices: bool = False,
    shuffle_within_case: bool = False,
    seed: int = 1,
    **exam_fields,
) -> Exam:
    """An exam open from an hour ago for a day, published unless `publish` is false, with
    one batch 第一批 holding `roster` when a roster is given. Without a blueprint, one of
    `sections` is made; the bank must already hold enough questions."""
    now = now or clock.now()
    if blueprint is None:
        blueprint = make_blueprint(
            *sections,
            random_per_candidate=random_per_candidate,
            shuffle_questions=shuffle_questions,
            shuffle_choices=shuffle_choices,
            shuffle_within_case=shuffle_within_case,
        )
    data = setup.ExamData(
        title="2026年度学法考试",
        kind="annual",
        blueprint_id=blueprint.id,
        time_limit_minutes=60,
        pass_mark=Decimal(6),
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        grade_bands=[[10, "优秀"], [6, "合格"]],
    )
    for name, value in exam_fields.items():
        setattr(data, name, value)
    exam = setup.save_exam(SYSTEM, data)
    if publish:
        setup.publish(SYSTEM, exam, random.Random(seed))
    db.session.commit()
    if roster is not None:
        add_batch(exam, roster, name="第一批")
    return exam


def add_batch(
    exam: Exam,
    users=(),
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    name: str = "补考批次",
) -> Batch:
    batch = sittings.create_batch(
        SYSTEM, exam, name, opens_at or exam.opens_at, closes_at or exam.closes_at
    )
    if users:
        sittings.add_members(SYSTEM, batch, list(users))
    db.session.commit()
    return batch


def member_of(batch: Batch, user) -> BatchMember:
    return db.session.scalar(
        select(BatchMember).where(BatchMember.batch_id == batch.id, BatchMember.user_id == user.id)
    )


def take(user, exam, answers=None, submit: bool = True, seed: int = 0) -> Attempt:
    """Start an attempt and answer every item: `answers[type]` where given, else the key."""
    attempt = attempts.start_attempt(user, exam, clock.now(), random.Random(seed))
    db.session.flush()
    for seq, item in enumerate(attempt.items, start=1):
        version = item.question_version
        given = answers or {}
        answer = given[version.type] if version.type in given else key_of(version)
        result = attempts.save_answer(user.id, attempt.id, item.id, answer, seq, clock.now(), GRACE)
        assert result.saved
    if submit:
        attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    return attempt


# --- study modules ---------------------------------------------------------------------


def make_module(
    lessons: int = 2,
    *,
    publish: bool = True,
    title: str = "测试模块",
    quiz=(("quiz_true_false", 1),),
    credit_hours: str = "2",
    law_refs: str = "",
):
    """A module of `lessons` made-up lessons whose quiz draws `quiz` (field, count) from
    the whole bank (one point each, 60% to pass), published unless told otherwise."""
    data = modules.ModuleData(title=title, credit_hours=Decimal(credit_hours), **dict(quiz))
    module = modules.create_module(SYSTEM, data)
    for number in range(1, lessons + 1):
        modules.save_lesson(
            SYSTEM,
            module,
            modules.LessonData(f"第{number}课", f"## 要点\n\n第{number}课的正文。", law_refs),
        )
    if publish:
        modules.publish_module(SYSTEM, module, clock.now(), random.Random(1))
    db.session.commit()
    return module


def correct_key_and_regrade(exam, question):
    """The key corrected to 错误 (choice 1), then every paper with the question scored again."""
    draft = bank.current_draft(question)
    draft.answer = [1]
    bank.edit_question(SYSTEM, question, draft, "更正答案")
    db.session.commit()
    regrade.apply_regrade(SYSTEM, exam, question.id)
    db.session.commit()
