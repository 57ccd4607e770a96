"""Demo data: a district like the one in the source report, with an account per role."""

from sqlalchemy import select

from core.audit import Actor
from core.extensions import db
from core.passwords import hash_password
from core.roles import Role
from question_bank.demo import load_demo_bank
from training.demo_exams import seed_demo_exams
from training.models import Unit, User
from training.records.demo import seed_demo_records
from training.study.demo import load_demo_course

DEMO_PASSWORD = "Demo@2026"

DISTRICT = "示范区人民政府"
UNIT_TREE = {
    "区政府办公室": [],
    "区司法局": ["行政执法协调监督科", "普法与依法治理科"],
    "区公安分局": ["法制大队", "城关派出所"],
    "区市场监督管理局": ["综合执法大队", "登记注册科"],
    "区教育局": [],
    "区人力资源和社会保障局": [],
    "区行政审批服务管理局": [],
    "区城市管理局": [],
    "东山镇人民政府": [],
    "北街街道办事处": [],
    "南街街道办事处": [],
    "桃园街道办事处": [],
}

# login, name, unit, position, leader, enforcement, roles
DEMO_ACCOUNTS = [
    ("admin", "周建国", "区司法局", "信息中心主任", False, False, {Role.SYSTEM_ADMIN}),
    ("secadmin", "孙立新", "区政府办公室", "网络安全员", False, False, {Role.SECURITY_ADMIN}),
    ("auditor", "吴敏", "区政府办公室", "安全审计员", False, False, {Role.AUDITOR}),
    ("trainer", "郑晓雯", "普法与依法治理科", "科长", False, False, {Role.TRAINER, Role.LEARNER}),
    (
        "unitadmin",
        "王海涛",
        "区市场监督管理局",
        "办公室主任",
        False,
        False,
        {Role.UNIT_ADMIN, Role.LEARNER},
    ),
    ("leader", "李卫东", "区教育局", "副局长", True, False, {Role.LEARNER}),
    ("officer", "陈志强", "综合执法大队", "执法队员", False, True, {Role.LEARNER}),
    ("newcadre", "刘思源", "东山镇人民政府", "副镇长（拟任）", True, False, {Role.LEARNER}),
]

SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["建华", "丽娟", "志明", "秀英", "海燕", "国强", "晓东", "雪梅", "文博", "春花"]


def demo_present() -> bool:
    """Whether this database holds the demo district (and so the demo accounts)."""
    return db.session.scalar(select(Unit.id).where(Unit.name == DISTRICT)) is not None


def seed_demo() -> bool:
    """Create the demo district, accounts and question bank; False if they exist already."""
    if demo_present():
        return False
    root = Unit(name=DISTRICT)
    db.session.add(root)
    units = {DISTRICT: root}
    for order, (name, sections) in enumerate(UNIT_TREE.items()):
        unit = Unit(name=name, parent=root, sort_order=order)
        units[name] = unit
        for section_order, section in enumerate(sections):
            units[section] = Unit(name=section, parent=unit, sort_order=section_order)
    password_hash = hash_password(DEMO_PASSWORD)
    for number, (login, name, unit, position, leader, officer, roles) in enumerate(DEMO_ACCOUNTS):
        _add_user(login, name, units[unit], position, leader, officer, roles, password_hash, number)
    staff_units = [name for name in units if name != DISTRICT]
    for number in range(40):
        name = SURNAMES[number % len(SURNAMES)] + GIVEN[number % len(GIVEN)]
        unit = units[staff_units[number % len(staff_units)]]
        leader = number % 5 == 0
        officer = "执法" in unit.name or unit.name in ("区市场监督管理局", "区城市管理局")
        position = "副局长" if leader else "科员"
        _add_user(
            f"staff{number + 1:02d}",
            name,
            unit,
            position,
            leader,
            officer,
            {Role.LEARNER},
            password_hash,
            100 + number,
        )
    db.session.flush()
    trainer = db.session.scalar(select(User).where(User.login == "trainer"))
    load_demo_bank(Actor(trainer.id, trainer.login))
    load_demo_course(Actor(trainer.id, trainer.login))
    admin = db.session.scalar(select(User).where(User.login == "admin"))
    seed_demo_exams(trainer, admin)
    seed_demo_records(admin)
    return True


def _add_user(login, name, unit, position, leader, officer, roles, password_hash, number):
    user = User(
        login=login,
        name=name,
        unit=unit,
        position=position,
        is_leader=leader,
        is_enforcement_officer=officer,
        phone=f"139{number:08d}",
        id_number=f"140302{1970 + number % 30}0101{number % 1000:03d}X",
        password_hash=password_hash,
        must_change_password=False,
    )
    user.set_roles(roles)
    db.session.add(user)
