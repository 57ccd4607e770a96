"""Demo exams: a pre-appointment exam and an enforcement-certificate mock test, open now,
with the demo district on their rosters, set up through the trainers' and admins' paths."""

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.extensions import db
from question_bank import queries
from training.exams import setup, sittings
from training.exams.setup import BlueprintData, ExamData, SectionData
from training.models import User

BANDS = [[60, "合格"], [80, "良好"], [90, "优秀"]]


def seed_demo_exams(trainer: User, admin: User) -> None:
    as_trainer = Actor(trainer.id, trainer.login)
    as_admin = Actor(admin.id, admin.login)
    now = clock.now().replace(second=0, microsecond=0)
    opens, closes = now - timedelta(days=1), now + timedelta(days=30)
    rng = random.Random(2026)

    general = setup.save_blueprint(
        as_trainer,
        BlueprintData(
            name="任前学法考试（综合）",
            random_per_candidate=True,
            shuffle_choices=True,
            sections=[
                SectionData("single", 20, Decimal(2)),
                SectionData("multiple", 10, Decimal(3)),
                SectionData("true_false", 20, Decimal(1)),
                SectionData("fill_blank", 5, Decimal(2)),
            ],
        ),
    )
    appointment = setup.save_exam(
        as_trainer,
        ExamData(
            title="2026年第四批新任职干部任前学法考试",
            kind="pre_appointment",
            blueprint_id=general.id,
            time_limit_minutes=60,
            pass_mark=Decimal(60),
            grade_bands=BANDS,
            opens_at=opens,
            closes_at=closes,
            attempts_allowed=2,
            one_attempt_per_batch=True,
            review_policy="answers_after_close",
            multiple_policy="all_or_nothing",
            instructions="闭卷作答。答案随时自动保存；网络中断时请勿关闭页面，恢复后会自动提交。",
        ),
    )
    setup.publish(as_trainer, appointment, rng)
    batch = sittings.create_batch(as_admin, appointment, "第四批", opens, closes)
    appointees = ["newcadre", "leader", *(f"staff{n:02d}" for n in range(1, 11))]
    sittings.add_members(
        as_admin, batch, list(db.session.scalars(select(User).where(User.login.in_(appointees))))
    )

    enforcement = setup.save_blueprint(
        as_trainer,
        BlueprintData(
            name="行政执法证模拟考试（公共法律知识）",
            random_per_candidate=True,
            shuffle_questions=True,
            shuffle_choices=True,
            sections=[
                SectionData("single", 10, Decimal(2), law_id=queries.law_id("行政处罚法")),
                SectionData("single", 8, Decimal(2), law_id=queries.law_id("行政许可法")),
                SectionData("single", 8, Decimal(2), law_id=queries.law_id("行政强制法")),
                SectionData("multiple", 8, Decimal(3), law_id=queries.law_id("行政处罚法")),
                SectionData("true_false", 20, Decimal(1)),
                SectionData("fill_blank", 2, Decimal(2), law_id=queries.law_id("行政处罚法")),
            ],
        ),
    )
    mock = setup.save_exam(
        as_trainer,
        ExamData(
            title="行政执法证考试模拟测试",
            kind="enforcement_mock",
            blueprint_id=enforcement.id,
            time_limit_minutes=90,
            pass_mark=Decimal(60),
            grade_bands=BANDS,
            opens_at=opens,
            closes_at=closes,
            attempts_allowed=10,
            counting="best",
            retake_after_pass=True,
            review_policy="score",
            multiple_policy="partial",
        ),
    )
    setup.publish(as_trainer, mock, rng)
    mock_batch = sittings.create_batch(as_admin, mock, "常态化练习", opens, closes)
    officers = db.session.scalars(select(User).where(User.is_enforcement_officer)).all()
    sittings.add_members(as_admin, mock_batch, list(officers))
