"""Demo study records: a few activities (one waiting for review), a requirement row, a
nominee for the pre-appointment exam and enforcement certificates from the paper ledger,
made through the same functions the pages use."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.audit import Actor
from core.extensions import db
from training.exams.models import Batch, Exam, ExamKind
from training.models import User
from training.records import activities, appointments, certificates
from training.records.activities import ActivityData
from training.records.models import Certificate, Requirement


def _user(login: str) -> User:
    return db.session.scalar(select(User).where(User.login == login))


def seed_demo_records(admin: User) -> None:
    today = clock.china_today()
    unit_admin = _user("unitadmin")
    as_admin, as_unit_admin = Actor(admin.id, admin.login), Actor(unit_admin.id, unit_admin.login)
    db.session.add(
        Requirement(
            group_name="all",
            from_year=today.year,
            hours=Decimal(20),
            exam_kinds=[ExamKind.ANNUAL.value],
            activities={},
            source="示范数据：按本地学法制度填写（法律未规定学时）。",
            set_by=admin.id,
        )
    )
    leaders = db.session.scalars(select(User).where(User.is_leader, User.is_active)).all()
    district = _user("leader").unit.parent
    for days, title, laws in (
        (60, "区政府第8次常务会议会前学法", "《中华人民共和国行政复议法》"),
        (20, "区政府第9次常务会议会前学法", "《中华人民共和国法治宣传教育法》"),
    ):
        activities.record_activity(
            as_admin,
            admin,
            ActivityData(
                "pre_meeting",
                today - timedelta(days=days),
                title,
                Decimal(1),
                topic="学习新修订的法律",
                laws_studied=laws,
                presenter="区司法局局长",
                place="区政府第一会议室",
            ),
            [leader.id for leader in leaders],
            district.id,
        )
    market = unit_admin.unit
    officers = db.session.scalars(
        select(User).where(User.is_enforcement_officer, User.is_active)
    ).all()
    in_market = [o for o in officers if o.unit_id == market.id or o.unit.parent_id == market.id]
    activities.record_activity(
        as_unit_admin,
        unit_admin,
        ActivityData(
            "court_hearing",
            today - timedelta(days=30),
            "旁听行政诉讼案件庭审",
            Decimal(3),
            place="示范区人民法院",
            case_type="行政处罚决定诉讼",
        ),
        [o.id for o in in_market],
        market.id,
    )
    activities.record_activity(
        as_unit_admin,
        unit_admin,
        ActivityData(
            "law_day",
            date(today.year, 3, 15) if today >= date(today.year, 3, 15) else today,
            "3·15 消费者权益保护法治宣传",
            Decimal(2),
            law_day="3·15",
            place="人民广场",
        ),
        [o.id for o in in_market],
        market.id,
    )
    leader = _user("leader")
    activities.submit_own(
        Actor(leader.id, leader.login),
        leader,
        ActivityData(
            "year_end_report",
            today,
            f"{today.year}年度述法报告",
            Decimal(2),
            report_text="一、学法情况……\n二、依法履职情况……\n三、存在的问题和改进措施……",
        ),
    )
    newcadre = _user("newcadre")
    batch = db.session.scalar(
        select(Batch)
        .join(Exam, Exam.id == Batch.exam_id)
        .where(Exam.kind == ExamKind.PRE_APPOINTMENT.value)
        .order_by(Batch.id)
    )
    if batch is not None:
        appointments.register_nominee(as_admin, admin, newcadre, "东山镇副镇长", batch)
    for number, officer in enumerate(officers, start=1):
        issued = (
            today - timedelta(days=365 * 4 + 200) if number == 1 else today - timedelta(days=400)
        )
        db.session.add(
            Certificate(
                number=f"示范-{today.year - 4 if number == 1 else today.year - 1}-{number:04d}",
                user_id=officer.id,
                field="市场监管"
                if officer.unit_id == market.id or officer.unit.parent_id == market.id
                else "城市管理",
                authority="示范市人民政府",
                issued_on=issued,
                valid_until=certificates.valid_until(issued, 5),
                imported=True,
                created_by=admin.id,
            )
        )
    db.session.flush()
