"""Unit compliance: who meets each requirement in a subtree, who is behind on what,
never another unit's people, exportable; pre-appointment nominees end to end."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from tests.factories import add_batch, add_questions, make_blueprint, make_exam, take
from training.records import activities, appointments, compliance
from training.records.appointments import AppointmentError, Stage
from training.records.models import Requirement


@pytest.fixture
def district(make_unit, root_unit, make_user):
    bureau = make_unit("区司法局", parent=root_unit)
    section = make_unit("普法科", parent=bureau)
    elsewhere = make_unit("区教育局", parent=root_unit)
    return {
        "bureau": bureau,
        "section": section,
        "admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="王管理"),
        "leader": make_user(unit=section, name="李领导", is_leader=True),
        "clerk": make_user(unit=bureau, name="赵科员"),
        "outsider": make_user(unit=elsewhere, name="钱外人"),
    }


def _hours(admin, people, unit, hours, kind="lecture"):
    activities.record_activity(
        SYSTEM,
        admin,
        activities.ActivityData(kind, clock.china_today(), "法治讲座", Decimal(hours)),
        [p.id for p in people],
        unit.id,
    )
    db.session.commit()


def test_who_meets_and_who_is_behind_in_the_subtree(district):
    year = clock.china_today().year
    db.session.add(
        Requirement(
            group_name="all", from_year=year, hours=Decimal(4), exam_kinds=[], activities={}
        )
    )
    db.session.add(
        Requirement(
            group_name="leader",
            from_year=year,
            hours=Decimal(4),
            exam_kinds=[],
            activities={"pre_meeting": 2},
        )
    )
    db.session.commit()
    admin, leader, clerk = district["admin"], district["leader"], district["clerk"]
    _hours(admin, [leader, clerk], district["bureau"], 4)
    _hours(admin, [leader], district["bureau"], 1, kind="pre_meeting")
    report = compliance.compliance(admin, None)
    names = {row.person.name: row for row in report.rows}
    assert "钱外人" not in names  # another unit's people are never shown
    assert names["赵科员"].met
    assert not names["李领导"].met and names["李领导"].behind == ["会前学法还差 1 次"]
    assert names["王管理"].behind == ["学时还差 4.0"]
    assert report.items["领导干部：会前学法"] == (1, 0)
    assert any("会前学法：1 人尚未完成" in note for note in report.reminders)
    only_section = compliance.compliance(admin, district["section"].id)
    assert [row.person.name for row in only_section.rows] == ["李领导"]


def test_the_page_lists_by_unit_and_exports_audited(client, auth, district):
    auth.login(district["admin"])
    page = client.get("/records/compliance/").text
    assert "尚未完成的人员（按单位排列）" in page and "钱外人" not in page
    exported = client.get("/records/compliance/export")
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert rows[1][:3] == ("单位", "姓名", "人员类别")
    assert {row[1] for row in rows[2:]} == {"王管理", "李领导", "赵科员"}
    assert db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "records.compliance.export")
    )


# --- pre-appointment exams end to end --------------------------------------------------------


@pytest.fixture
def pre_exam(law):
    add_questions("true_false", 10)
    return make_exam(
        make_blueprint(("true_false", 10, 10)),
        kind="pre_appointment",
        title="2026年任前学法考试",
        pass_mark=Decimal(60),
        attempts_allowed=2,
        one_attempt_per_batch=True,
        grade_bands=[],
    )


def test_one_retake_in_a_later_batch_then_a_second_failure_on_the_record(
    client, auth, district, pre_exam, frozen_clock
):
    admin, clerk = district["admin"], district["clerk"]
    first = add_batch(pre_exam, name="第一批")
    later = add_batch(
        pre_exam,
        opens_at=pre_exam.opens_at + timedelta(hours=2),
        closes_at=pre_exam.closes_at,
        name="第二批",
    )
    auth.login(admin)
    response = client.post(
        "/records/nominees/",
        data={"user_id": clerk.id, "post": "普法科副科长", "batch_id": first.id},
    )
    assert response.status_code == 302, response.text
    appointment = db.session.scalar(select(appointments.Appointment))
    assert appointment.candidate_number.startswith("RQ")
    take(clerk, pre_exam, answers={"true_false": [1]})
    assert appointments.stages([appointment])[appointment.id] == Stage.RETAKE
    # The 补考 must be a later batch.
    refused = client.post(
        f"/records/nominees/{appointment.id}/retake",
        data={"batch_id": first.id},
        follow_redirects=True,
    )
    assert "补考须安排在首次考试之后的场次" in refused.text
    client.post(f"/records/nominees/{appointment.id}/retake", data={"batch_id": later.id})
    frozen_clock.now = clock.now() + timedelta(hours=3)
    take(clerk, pre_exam, answers={"true_false": [1]})
    assert appointments.stages([appointment])[appointment.id] == Stage.FAILED_TWICE
    with pytest.raises(AppointmentError, match="两次未通过"):
        appointments.schedule_retake(SYSTEM, admin, appointment, later)
    auth.logout()
    assert auth.login(admin).status_code == 302  # the clock moved past the idle timeout
    sheet = client.get(f"/records/nominees/{appointment.id}/sheet").text
    assert "普法科副科长" in sheet and appointment.candidate_number in sheet
    assert "补考" in sheet and "两次未通过" in sheet
    auth.logout()
    auth.login(clerk)
    assert "补考未通过（两次未通过）" in client.get("/records/").text


def test_passing_opens_the_oath(district, pre_exam):
    admin, leader = district["admin"], district["leader"]
    batch = add_batch(pre_exam, name="第一批")
    appointments.register_nominee(SYSTEM, admin, leader, "普法科科长", batch)
    db.session.commit()
    assert activities.oath_candidates(admin) == []
    take(leader, pre_exam)
    assert [person.name for person, _ in activities.oath_candidates(admin)] == ["李领导"]


def test_nominees_only_inside_the_admins_units_and_never_oneself(district, pre_exam):
    batch = add_batch(pre_exam, name="第一批")
    with pytest.raises(AppointmentError, match="不在您管理的单位内"):
        appointments.register_nominee(
            SYSTEM, district["admin"], district["outsider"], "科长", batch
        )
    with pytest.raises(AppointmentError, match="不能为自己"):
        appointments.register_nominee(SYSTEM, district["admin"], district["admin"], "科长", batch)


def test_the_demo_shows_activities_requirements_and_certificates(runner, client, auth):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    auth.login("leader", "Demo@2026")
    page = client.get("/records/").text
    assert "区政府第9次常务会议会前学法" in page and "年度述法报告" in page and "待审核" in page
    auth.logout()
    auth.login("unitadmin", "Demo@2026")
    assert "换证" in client.get("/records/certificates/due").text
    assert "旁听行政诉讼案件庭审" in client.get("/records/activities").text
    auth.logout()
    auth.login("admin", "Demo@2026")
    assert "李卫东" in client.get("/records/reviews").text
    assert "刘思源" in client.get("/records/nominees/").text


def test_nominees_are_picked_from_the_admins_units_and_others_are_not_confirmed(
    client, auth, district, pre_exam
):
    batch = add_batch(pre_exam, name="第一批")
    auth.login(district["admin"])
    found = client.get("/records/nominees/?q=赵").text
    assert "赵科员" in found and f'value="{district["clerk"].id}"' in found
    assert "钱外人" not in client.get("/records/nominees/?q=钱").text
    # Review finding F7: another unit's person and no person at all get the same answer.
    answers = [
        client.post(
            "/records/nominees/", data={"user_id": user_id, "post": "科长", "batch_id": batch.id}
        ).text
        for user_id in (district["outsider"].id, 999_999)
    ]
    for answer in answers:
        assert "账号不存在或不在您管理的单位内" in answer
    assert answers[0].count("不在您管理") == answers[1].count("不在您管理")
    assert db.session.scalar(select(appointments.Appointment.id)) is None


def test_the_compliance_page_and_the_nominee_list_are_audited_once_per_view(client, auth, district):
    """Review finding F5: both show other people's progress or results."""
    auth.login(district["admin"])

    def entries(action: str) -> list[AuditEntry]:
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))

    client.get("/records/compliance/")
    client.get(f"/records/compliance/?unit={district['section'].id}")
    views = entries("records.compliance.view")
    assert len(views) == 2 and views[1].object_id == str(district["section"].id)
    assert "1 人" in views[1].summary
    client.get("/records/nominees/")
    assert len(entries("records.nominee.list")) == 1


def test_a_withdrawn_oath_is_kept_and_the_oath_can_be_recorded_again(district, pre_exam):
    admin, leader = district["admin"], district["leader"]
    batch = add_batch(pre_exam, name="第一批")
    appointments.register_nominee(SYSTEM, admin, leader, "普法科科长", batch)
    take(leader, pre_exam)
    oath = activities.record_activity(
        SYSTEM,
        admin,
        activities.ActivityData("oath", clock.china_today(), "宪法宣誓仪式", Decimal(1)),
        [leader.id],
        district["bureau"].id,
    )
    assert activities.oath_candidates(admin) == []
    other_admin = district["clerk"]
    other_admin.set_roles({Role.UNIT_ADMIN, Role.LEARNER})
    activities.withdraw_activity(SYSTEM, other_admin, oath, "日期记错")
    db.session.commit()
    assert oath.withdrawn_at is not None and oath.attendances[0].status == "withdrawn"
    assert [person.name for person, _ in activities.oath_candidates(admin)] == ["李领导"]
