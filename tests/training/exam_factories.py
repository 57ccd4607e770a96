"""Factories for exam tests: a small bank whose keys are easy to spot in any page, a
published exam built through the real set-up functions, batches and rosters.

Plain functions (no fixtures), so any test module can use them; each commits.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank
from question_bank.drafts import QuestionDraft
from question_bank.models import Question
from training.exams import setup, sittings
from training.exams.models import Batch, BatchMember, Exam

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


def correct_answer(question: Question) -> list:
    version = question.current_version
    if version.type == "fill_blank":
        return [blank[0] for blank in version.blanks]
    return list(version.answer)


def make_exam(
    *,
    roster=(),
    now: datetime | None = None,
    sections=STANDARD_SECTIONS,
    random_per_candidate: bool = False,
    shuffle_questions: bool = False,
    shuffle_choices: bool = False,
    seed: int = 1,
    **exam_fields,
) -> Exam:
    """A published exam (open from an hour ago for a day) and one open batch with
    `roster` on it. The bank must already hold enough questions."""
    now = now or clock.now()
    blueprint = setup.save_blueprint(
        SYSTEM,
        setup.BlueprintData(
            name=f"规则{random.randrange(10**6)}",
            sections=[
                setup.SectionData(qtype, count, Decimal(points), topic_id=topic_id)
                for qtype, count, points, topic_id in ((*s, None)[:4] for s in sections)
            ],
            random_per_candidate=random_per_candidate,
            shuffle_questions=shuffle_questions,
            shuffle_choices=shuffle_choices,
        ),
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
    setup.publish(SYSTEM, exam, random.Random(seed))
    db.session.commit()
    add_batch(exam, roster, name="第一批")
    return exam


def add_batch(
    exam: Exam,
    users,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    name: str = "补考批次",
) -> Batch:
    batch = sittings.create_batch(
        SYSTEM, exam, name, opens_at or exam.opens_at, closes_at or exam.closes_at
    )
    sittings.add_members(SYSTEM, batch, list(users))
    db.session.commit()
    return batch


def member_of(batch: Batch, user) -> BatchMember:
    return db.session.scalar(
        select(BatchMember).where(BatchMember.batch_id == batch.id, BatchMember.user_id == user.id)
    )
