"""Study records: activities recorded by unit admins or submitted by a person with evidence,
review, the oath only after a passed pre-appointment exam, the personal record and its
export, and the yearly requirements."""

import io
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import clock, uploads
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from tests.factories import (
    add_batch,
    add_questions,
    key_of,
    make_blueprint,
    make_exam,
    make_module,
    take,
)
from training.exams import attempts as exam_attempts
from training.records import activities, appointments
from training.records.models import Activity, Attendance, Evidence
from training.study import learning
from training.study.models import StudyModule

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def district(make_unit, root_unit, make_user):
    """A bureau with a section, another bureau, their unit admin and people."""
    bureau = make_unit("区司法局", parent=root_unit)
    section = make_unit("普法科", parent=bureau)
    elsewhere = make_unit("区教育局", parent=root_unit)
    return {
        "bureau": bureau,
        "section": section,
        "elsewhere": elsewhere,
        "admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="王管理"),
        "leader": make_user(unit=section, name="李领导", is_leader=True),
        "clerk": make_user(unit=bureau, name="赵科员"),
        "outsider": make_user(unit=elsewhere, name="钱外人"),
    }


def _form(people, **fields) -> dict:
    today = clock.china_today()
    data = {
        "kind": "pre_meeting",
        "held_on": today.isoformat(),
        "title": "区政府第12次常务会议",
        "topic": "行政复议法修订要点",
        "laws_studied": "《中华人民共和国行政复议法》",
        "presenter": "区司法局局长",
        "credit_hours": "2",
        "attendees": [person.id for person in people],
    }
    data.update(fields)
    return data


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_unit_admin_records_a_pre_meeting_study_and_the_leader_sees_the_hours(
    client, auth, district
):
    auth.login(district["admin"])
    data = _form([district["leader"], district["clerk"]], unit_id=district["bureau"].id)
    response = client.post("/records/activities/new", data=data)
    assert response.status_code == 302, response.text
    activity = db.session.scalar(select(Activity))
    assert activity.kind == "pre_meeting" and activity.credit_hours == Decimal(2)
    assert {a.status for a in activity.attendances} == {"approved"}
    auth.logout()
    auth.login(district["leader"])
    page = client.get("/records/").text
    assert "区政府第12次常务会议" in page and "学时合计 2.0" in page


def test_attendees_outside_the_admins_units_are_refused_and_nothing_is_saved(
    client, auth, district
):
    auth.login(district["admin"])
    data = _form([district["leader"], district["outsider"]], unit_id=district["bureau"].id)
    response = client.post("/records/activities/new", data=data, follow_redirects=True)
    assert "1 人不在您管理的单位内" in response.text
    assert "钱外人" not in response.text.split("参加人员")[0]
    assert _count(Activity) == 0 and _count(Attendance) == 0


def test_an_admin_sees_only_the_people_of_their_units_to_choose_from(client, auth, district):
    auth.login(district["admin"])
    page = client.get("/records/activities/new").text
    assert "李领导" in page and "赵科员" in page and "钱外人" not in page


def test_an_admins_own_attendance_waits_for_another_admin(client, auth, district, make_user):
    auth.login(district["admin"])
    data = _form([district["admin"], district["clerk"]], unit_id=district["bureau"].id)
    client.post("/records/activities/new", data=data)
    statuses = {a.user_id: a.status for a in db.session.scalars(select(Attendance))}
    assert statuses == {district["admin"].id: "pending", district["clerk"].id: "approved"}
    own = db.session.scalar(select(Attendance).where(Attendance.user_id == district["admin"].id))
    # Not on their own review list, and refused if posted anyway.
    assert "王管理" not in client.get("/records/reviews").text.split("待审核的学法记录")[-1]
    client.post(f"/records/reviews/{own.id}", data={"decision": "approve"})
    db.session.refresh(own)
    assert own.status == "pending"
    auth.logout()
    other = make_user(Role.UNIT_ADMIN, unit=district["bureau"].parent)
    auth.login(other)
    client.post(f"/records/reviews/{own.id}", data={"decision": "approve"})
    db.session.refresh(own)
    assert own.status == "approved" and own.reviewed_by == other.id


def test_a_person_submits_with_evidence_and_an_admin_approves(client, auth, district):
    auth.login(district["clerk"])
    data = _form([], kind="court_hearing", place="区人民法院", case_type="行政诉讼")
    data["evidence"] = [(io.BytesIO(PNG), "旁听照片.png")]
    response = client.post("/records/submit", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    attendance = db.session.scalar(select(Attendance))
    assert attendance.status == "pending" and attendance.activity.evidence[0].file_kind == "png"
    assert "还差" in client.get("/records/").text
    auth.logout()
    auth.login(district["admin"])
    assert "赵科员" in client.get("/records/reviews").text
    evidence = client.get(f"/records/evidence/{attendance.activity.evidence[0].id}")
    assert evidence.status_code == 200 and evidence.data == PNG
    client.post(f"/records/reviews/{attendance.id}", data={"decision": "approve"})
    db.session.refresh(attendance)
    assert attendance.status == "approved"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"records.activity.submit", "records.evidence.view", "records.activity.approve"} <= (
        actions
    )


def test_returning_needs_a_reason(client, auth, district):
    auth.login(district["clerk"])
    data = _form([], kind="year_end_report", title="2026年度述法报告", report_text="一年来……")
    client.post("/records/submit", data=data)
    attendance = db.session.scalar(select(Attendance))
    auth.logout()
    auth.login(district["admin"])
    response = client.post(
        f"/records/reviews/{attendance.id}", data={"decision": "return"}, follow_redirects=True
    )
    assert "请填写退回原因" in response.text
    client.post(
        f"/records/reviews/{attendance.id}", data={"decision": "return", "remark": "缺少签字"}
    )
    db.session.refresh(attendance)
    assert attendance.status == "returned" and attendance.remark == "缺少签字"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("照片.png", b"GIF89a" + b"\x00" * 20, "文件内容与扩展名不符"),
        ("脚本.html", b"<script>", "只支持图片（JPG、PNG）或 PDF"),
        ("扫描.pdf", b"%PDF-" + b"\x00" * 4000, "证明材料不能超过 0 MB"),
    ],
)
def test_a_wrong_or_oversized_upload_is_refused_and_nothing_stored(
    client, auth, district, monkeypatch, filename, data, message
):
    # A small limit: the test client leaks the temporary file of a body over 500 KB.
    monkeypatch.setattr(uploads, "EVIDENCE_MAX_BYTES", 1000)
    auth.login(district["clerk"])
    form = _form([], kind="lecture", title="民法典专题讲座")
    form["evidence"] = [(io.BytesIO(PDF), "签到表.pdf"), (io.BytesIO(data), filename)]
    response = client.post(
        "/records/submit", data=form, content_type="multipart/form-data", follow_redirects=True
    )
    assert message in response.text
    assert _count(Activity) == 0 and _count(Evidence) == 0


def test_a_submission_needs_evidence_and_a_past_date(client, auth, district):
    auth.login(district["clerk"])
    response = client.post("/records/submit", data=_form([], kind="lecture"))
    assert "请上传证明材料" in response.text
    tomorrow = (clock.china_today() + timedelta(days=1)).isoformat()
    form = _form([district["clerk"]], held_on=tomorrow, unit_id=district["bureau"].id)
    auth.logout()
    auth.login(district["admin"])
    response = client.post("/records/activities/new", data=form)
    assert "日期不能晚于今天" in response.text
    assert _count(Activity) == 0


def test_nobody_else_sees_an_activity_or_its_evidence(client, auth, district):
    auth.login(district["admin"])
    client.post(
        "/records/activities/new", data=_form([district["clerk"]], unit_id=district["bureau"].id)
    )
    activity = db.session.scalar(select(Activity))
    auth.logout()
    auth.login(district["outsider"])
    assert client.get(f"/records/activities/{activity.id}").status_code == 404
    auth.logout()
    auth.login(district["clerk"])
    assert client.get(f"/records/activities/{activity.id}").status_code == 200


# --- the oath ------------------------------------------------------------------------------


@pytest.fixture
def pre_exam(law):
    add_questions("true_false", 10)
    return make_exam(
        make_blueprint(("true_false", 10, 10)),
        kind="pre_appointment",
        title="2026年第一批任前学法考试",
        pass_mark=Decimal(60),
        attempts_allowed=2,
        one_attempt_per_batch=True,
        grade_bands=[],
    )


def test_the_oath_only_for_someone_who_passed_the_pre_appointment_exam(
    client, auth, district, pre_exam
):
    admin, leader, clerk = district["admin"], district["leader"], district["clerk"]
    batch = add_batch(pre_exam, name="第一批")
    for person, post in ((leader, "普法科科长"), (clerk, "办公室副主任")):
        appointments.register_nominee(SYSTEM, admin, person, post, batch)
    db.session.commit()
    take(leader, pre_exam)
    take(clerk, pre_exam, answers={"true_false": [1]})
    auth.login(admin)
    oath = {
        "kind": "oath",
        "title": "宪法宣誓仪式",
        "place": "区政府会议室",
        "presenter": "区人大常委会",
    }
    refused = client.post(
        "/records/activities/new?kind=oath",
        data=_form([leader, clerk], unit_id=district["bureau"].id, **oath),
        follow_redirects=True,
    )
    assert "赵科员 没有通过任前学法考试" in refused.text
    assert _count(Activity) == 0
    page = client.get("/records/activities/new?kind=oath").text
    assert "李领导" in page and "赵科员" not in page.split("参加人员")[-1]
    client.post(
        "/records/activities/new?kind=oath",
        data=_form([leader], unit_id=district["bureau"].id, **oath),
    )
    sworn = db.session.scalar(select(Attendance))
    assert sworn.appointment_id is not None and sworn.user_id == leader.id
    # Sworn once: a second oath for the same appointment is refused.
    again = client.post(
        "/records/activities/new?kind=oath",
        data=_form([leader], unit_id=district["bureau"].id, **oath),
        follow_redirects=True,
    )
    assert "已记录过宪法宣誓" in again.text


# --- the record ----------------------------------------------------------------------------


def test_an_admin_views_and_exports_a_record_audited_and_never_outside_their_units(
    client, auth, district
):
    auth.login(district["admin"])
    client.post(
        "/records/activities/new", data=_form([district["leader"]], unit_id=district["bureau"].id)
    )
    leader = district["leader"]
    assert "区政府第12次常务会议" in client.get(f"/records/people/{leader.id}").text
    export = client.get(f"/records/people/{leader.id}/export")
    book = load_workbook(io.BytesIO(export.data))
    rows = list(book["学法活动"].iter_rows(values_only=True))
    assert rows[1][0] == "日期" and rows[2][2] == "区政府第12次常务会议" and rows[2][3] == 2
    assert any(row[2] == "学时" for row in book["年度要求"].iter_rows(values_only=True))
    printed = client.get(f"/records/people/{leader.id}/print").text
    assert "单位（盖章）" in printed and "css/records.css" in printed
    actions = list(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("records.record.%"))
        )
    )
    assert sorted(actions) == [
        "records.record.export",
        "records.record.print",
        "records.record.view",
    ]
    assert client.get(f"/records/people/{district['outsider'].id}").status_code == 404
    auth.logout()
    auth.login(leader)
    assert client.get("/records/").status_code == 200
    assert client.get(f"/records/people/{leader.id}/export").status_code == 200
    assert client.get(f"/records/people/{district['clerk'].id}").status_code == 404
    # Reading one's own record is not an audited event.
    assert (
        db.session.scalar(select(func.count()).where(AuditEntry.action.like("records.record.%")))
        == 3
    )


def test_module_credit_and_exams_flow_into_the_record(client, auth, district, law):
    add_questions("true_false", 3)
    module = make_module(lessons=1, credit_hours="3")
    leader = district["leader"]
    learning.open_lesson(leader, module, module.published.lessons[0].key, clock.now())
    module = db.session.get(StudyModule, module.id)
    attempt = learning.start_quiz(leader, module, clock.now(), random.Random(1))
    db.session.commit()
    for seq, item in enumerate(attempt.items, 1):
        exam_attempts.save_answer(
            leader.id,
            attempt.id,
            item.id,
            key_of(item.question_version),
            seq,
            clock.now(),
            timedelta(seconds=30),
        )
    exam_attempts.submit(attempt, clock.now(), "candidate")
    learning.sync_completion(leader, module, clock.now())
    db.session.commit()
    auth.login(leader)
    page = client.get("/records/").text
    assert "测试模块" in page and "学时合计 3.0" in page


def test_a_unit_admin_sees_only_their_units_attendees_of_a_shared_meeting(
    client, auth, district, make_user
):
    district_admin = make_user(Role.SYSTEM_ADMIN, name="区管理员")
    activities.record_activity(
        SYSTEM,
        district_admin,
        activities.ActivityData("pre_meeting", clock.china_today(), "区政府常务会议", Decimal(1)),
        [district["leader"].id, district["outsider"].id],
        district["bureau"].parent_id,
    )
    db.session.commit()
    activity = db.session.scalar(select(Activity))
    auth.login(district["admin"])
    page = client.get(f"/records/activities/{activity.id}").text
    assert "李领导" in page and "钱外人" not in page and "共 2 人" in page


def test_a_person_does_not_see_on_their_record_a_score_their_exam_does_not_publish(
    client, auth, district, law
):
    add_questions("true_false", 3)
    clerk, admin = district["clerk"], district["admin"]
    exam = make_exam(
        sections=[("true_false", 3, 10)], roster=[clerk], review_policy="nothing", grade_bands=[]
    )
    take(clerk, exam)  # every key right: 30 points, 通过
    auth.login(clerk)
    row = client.get("/records/").text.split(exam.title)[1].split("</tr>")[0]
    assert "已交卷（本考试不公布成绩）" in row and "通过" not in row.replace("已交卷", "")
    assert "30" not in row
    sheet = load_workbook(io.BytesIO(client.get(f"/records/people/{clerk.id}/export").data))
    exams = [
        row
        for ws in sheet.worksheets
        for row in ws.iter_rows(values_only=True)
        if exam.title in row
    ]
    assert exams and "通过" not in exams[0] and 30 not in exams[0]
    assert "已交卷（本考试不公布成绩）" in exams[0]
    auth.logout()
    auth.login(admin)  # the unit admin sees the result (audited, as every view of a record)
    row = client.get(f"/records/people/{clerk.id}").text.split(exam.title)[1].split("</tr>")[0]
    assert "通过" in row and "30" in row


def _requirement_row(page: str, label: str = "通过年度学法考试") -> str:
    return page.split(f"<td>{label}</td>")[1].split("</tr>")[0]


def test_the_exam_requirement_tells_nothing_an_unpublished_exam_does_not(
    client, auth, district, law
):
    """Review finding F10: 通过年度学法考试 on one's own record and home card reads the same
    after a pass and a fail of an exam that publishes no results; never tried: 尚未通过."""
    add_questions("true_false", 3)
    clerk, leader, admin = district["clerk"], district["leader"], district["admin"]
    exam = make_exam(
        sections=[("true_false", 3, 10)],
        roster=[clerk, leader],
        review_policy="nothing",
        grade_bands=[],
    )
    take(clerk, exam)  # passed
    take(leader, exam, answers={"true_false": [1]})  # failed
    seen = []
    for person in (clerk, leader):
        auth.login(person)
        row = _requirement_row(client.get("/records/").text)
        assert "结果未公布" in row and "尚未通过" not in row and "已完成" not in row
        home = client.get("/").text
        assert "通过年度学法考试：结果未公布" in home and "尚未通过年度学法考试" not in home
        sheet = load_workbook(io.BytesIO(client.get(f"/records/people/{person.id}/export").data))
        rows = [r for r in sheet["年度要求"].iter_rows(values_only=True) if "通过年度学法考试" in r]
        assert rows[0][4:] == (None, "结果未公布")
        seen.append(row)
        auth.logout()
    assert seen[0] == seen[1]
    auth.login(admin)  # an admin sees what the record holds
    assert "已完成" in _requirement_row(client.get(f"/records/people/{clerk.id}").text)
    assert "尚未通过" in _requirement_row(client.get(f"/records/people/{leader.id}").text)


def test_an_exam_requirement_never_tried_reads_not_yet_passed(client, auth, district):
    auth.login(district["clerk"])
    row = _requirement_row(client.get("/records/").text)
    assert "尚未通过" in row and "结果未公布" not in row
    assert "尚未通过年度学法考试" in client.get("/").text


def test_an_admin_reading_anothers_year_end_report_is_audited(client, auth, district):
    clerk, admin = district["clerk"], district["admin"]
    auth.login(clerk)
    data = _form([], kind="year_end_report", title="2026年度述法报告", report_text="一年来……")
    client.post("/records/submit", data=data)
    activity = db.session.scalar(select(Activity))
    assert "一年来" in client.get(f"/records/activities/{activity.id}").text

    def views():
        return db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "records.report.view")
        )

    assert views() == 0  # one's own: not audited
    auth.logout()
    auth.login(admin)
    assert "一年来" in client.get(f"/records/activities/{activity.id}").text
    assert views() == 1


def test_a_nominee_is_not_told_the_result_of_an_exam_that_publishes_none(
    client, auth, district, law
):
    """Their own record shows such an exam's attempt as handed in only; the nominations
    table of the same page told 已通过 or 未通过，待补考 (admins still see the stage)."""
    add_questions("true_false", 3)
    clerk, leader, admin = district["clerk"], district["leader"], district["admin"]
    exam = make_exam(
        sections=[("true_false", 3, 10)],
        review_policy="nothing",
        grade_bands=[],
        kind="pre_appointment",
        title="任前学法考试",
    )
    batch = add_batch(exam, [], name="第一批")
    for person in (clerk, leader):
        appointments.register_nominee(SYSTEM, admin, person, "科长", batch)
    db.session.commit()
    take(clerk, exam)  # passes
    take(leader, exam, answers={"true_false": [1]})  # fails
    for person in (clerk, leader):
        auth.login(person)
        page = client.get("/records/").text
        nominations = page.split("任前学法考试与宪法宣誓")[1].split("</table>")[0]
        assert "已参加（结果未公布）" in nominations
        assert "通过" not in nominations
        auth.logout()
