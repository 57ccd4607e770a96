"""Correcting and withdrawing recorded activities (kept, with the reason, audited, the hours
recomputed), a person withdrawing their own pending submission, and record_year_totals
staying equal to a rebuild from the attendances after each change."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from training.records import activities, totals
from training.records.activities import RecordError
from training.records.models import Activity, Attendance, AttendanceStatus, YearTotal
from training.records.record import year_totals

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def district(make_unit, root_unit, make_user):
    bureau = make_unit("区司法局", parent=root_unit)
    elsewhere = make_unit("区教育局", parent=root_unit)
    return {
        "bureau": bureau,
        "elsewhere": elsewhere,
        "admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="王管理"),
        "other_admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=bureau, name="孙管理"),
        "leader": make_user(unit=bureau, name="李领导", is_leader=True),
        "clerk": make_user(unit=bureau, name="赵科员"),
        "outsider_admin": make_user(Role.UNIT_ADMIN, Role.LEARNER, unit=elsewhere),
    }


def _data(kind="lecture", hours=2, held_on=None, **fields) -> activities.ActivityData:
    return activities.ActivityData(
        kind, held_on or clock.china_today(), "法治讲座", Decimal(hours), **fields
    )


def _record(district, people, **fields) -> Activity:
    activity = activities.record_activity(
        SYSTEM, district["admin"], _data(**fields), [p.id for p in people], district["bureau"].id
    )
    db.session.commit()
    return activity


def _kept() -> dict:
    """record_year_totals as {(user, year): counters}, rows of nothing left out."""
    db.session.expire_all()
    found = {}
    for row in db.session.scalars(select(YearTotal)):
        values = {name: getattr(row, name) for name in totals.COUNTERS if getattr(row, name)}
        if values:
            found[(row.user_id, row.year)] = values
    return found


def assert_same_as_rebuilt():
    kept = _kept()
    totals.rebuild()
    db.session.flush()
    assert _kept() == kept
    db.session.rollback()


def _hours(person) -> Decimal:
    return year_totals([person.id], clock.china_today().year)[person.id].hours


def test_the_kept_totals_equal_a_rebuild_after_every_kind_of_change(district):
    admin, leader, clerk = district["admin"], district["leader"], district["clerk"]
    meeting = _record(district, [leader, clerk, admin], kind="pre_meeting", hours=2)
    assert _kept()[(leader.id, clock.china_today().year)] == {
        "hours": Decimal(2),
        "pre_meeting": 1,
    }
    assert_same_as_rebuilt()  # the admin's own line waits, uncounted
    _record(district, [leader], hours=Decimal("1.5"))
    assert_same_as_rebuilt()
    submitted = activities.submit_own(
        SYSTEM, clerk, _data(uploads=[activities.Upload("签到.pdf", PDF)])
    )
    db.session.commit()
    assert_same_as_rebuilt()
    activities.review(SYSTEM, district["other_admin"], submitted.attendances[0], True, "")
    db.session.commit()
    assert_same_as_rebuilt()
    returned = activities.submit_own(
        SYSTEM, leader, _data(uploads=[activities.Upload("签到.pdf", PDF)])
    )
    activities.review(SYSTEM, admin, returned.attendances[0], False, "材料不清")
    db.session.commit()
    assert_same_as_rebuilt()
    # A correction into last year moves the hours between years.
    lecture = _record(district, [leader, clerk], hours=3)
    last_year = date(clock.china_today().year - 1, 12, 30)
    activities.correct_activity(
        SYSTEM, district["other_admin"], lecture, _data(hours=4, held_on=last_year), "日期记错"
    )
    db.session.commit()
    assert _kept()[(clerk.id, last_year.year)] == {"hours": Decimal(4), "lecture": 1}
    assert_same_as_rebuilt()
    activities.withdraw_activity(SYSTEM, district["other_admin"], meeting, "重复记录")
    db.session.commit()
    assert_same_as_rebuilt()
    pending = activities.submit_own(
        SYSTEM, clerk, _data(uploads=[activities.Upload("签到.pdf", PDF)])
    )
    activities.withdraw_own(SYSTEM, clerk, pending, "")
    db.session.commit()
    assert_same_as_rebuilt()
    # 1.5 (the lecture) of the leader's hours are left this year; the clerk has 2 (approved).
    assert _hours(leader) == Decimal("1.5") and _hours(clerk) == Decimal(2)


def test_a_correction_recomputes_the_hours_and_is_audited_with_what_it_was(client, auth, district):
    leader = district["leader"]
    activity = _record(district, [leader], hours=2)
    auth.login(district["other_admin"])
    page = client.get(f"/records/activities/{activity.id}/correct").text
    assert 'value="法治讲座"' in page
    form = {
        "held_on": clock.china_today().isoformat(),
        "title": "法治讲座（民法典）",
        "credit_hours": "3",
        "reason": "",
    }
    refused = client.post(f"/records/activities/{activity.id}/correct", data=form)
    assert "请填写修改原因" in refused.text
    db.session.expire_all()
    assert activity.credit_hours == 2
    form["reason"] = "学时记错"
    response = client.post(f"/records/activities/{activity.id}/correct", data=form)
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert activity.credit_hours == 3 and activity.title == "法治讲座（民法典）"
    assert _hours(leader) == 3
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "records.activity.correct")
    )
    detail = json.loads(entry.detail)
    assert detail["before"] == {"名称": "法治讲座", "学时": "2.0"}
    assert detail["after"] == {"名称": "法治讲座（民法典）", "学时": "3.0"}
    assert detail["reason"] == "学时记错"


def test_a_withdrawn_activity_is_kept_marked_and_counts_no_more(client, auth, district):
    leader = district["leader"]
    activity = _record(district, [leader], kind="pre_meeting", hours=2)
    auth.login(district["other_admin"])
    refused = client.post(
        f"/records/activities/{activity.id}/withdraw", data={"reason": ""}, follow_redirects=True
    )
    assert "请填写原因" in refused.text
    client.post(f"/records/activities/{activity.id}/withdraw", data={"reason": "会议未举行"})
    db.session.expire_all()
    assert db.session.get(Activity, activity.id) is not None
    assert activity.withdraw_reason == "会议未举行" and activity.withdrawn_by
    assert activity.attendances[0].status == AttendanceStatus.WITHDRAWN.value
    assert _hours(leader) == 0
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "records.activity.withdraw")
    )
    assert json.loads(entry.detail)["before"] == {str(leader.id): "approved"}
    auth.logout()
    auth.login(leader)
    record_page = client.get("/records/").text
    assert "已撤销" in record_page and "会议未举行" in record_page
    with pytest.raises(RecordError, match="已撤销"):
        activities.withdraw_activity(SYSTEM, district["other_admin"], activity, "再撤一次")


def test_nobody_corrects_what_they_attended_nor_another_units_activity(district):
    admin, leader = district["admin"], district["leader"]
    attended = _record(district, [leader, admin])
    with pytest.raises(RecordError, match="自己参加的活动"):
        activities.withdraw_activity(SYSTEM, admin, attended, "重复")
    with pytest.raises(RecordError, match="自己参加的活动"):
        activities.correct_activity(SYSTEM, admin, attended, _data(hours=9), "改学时")
    with pytest.raises(RecordError, match="管理范围"):
        activities.withdraw_activity(SYSTEM, district["outsider_admin"], attended, "重复")
    report = activities.submit_own(
        SYSTEM, leader, _data(kind="year_end_report", report_text="一年来学法用法情况")
    )
    with pytest.raises(RecordError, match="不能修改"):
        activities.correct_activity(SYSTEM, admin, report, _data(kind="lecture"), "改")
    db.session.rollback()
    db.session.expire_all()
    assert attended.withdrawn_at is None and attended.credit_hours == 2


def test_a_person_withdraws_their_own_pending_submission_only(client, auth, district):
    clerk, leader = district["clerk"], district["leader"]
    mine = activities.submit_own(SYSTEM, clerk, _data(uploads=[activities.Upload("a.pdf", PDF)]))
    theirs = activities.submit_own(SYSTEM, leader, _data(uploads=[activities.Upload("b.pdf", PDF)]))
    approved = activities.submit_own(
        SYSTEM, clerk, _data(uploads=[activities.Upload("c.pdf", PDF)])
    )
    activities.review(SYSTEM, district["admin"], approved.attendances[0], True, "")
    db.session.commit()
    auth.login(clerk)
    assert "撤回我的提交" in client.get(f"/records/activities/{mine.id}").text
    assert "撤回我的提交" not in client.get(f"/records/activities/{approved.id}").text
    assert client.post(f"/records/activities/{theirs.id}/withdraw-own").status_code == 404
    client.post(f"/records/activities/{approved.id}/withdraw-own")
    response = client.post(f"/records/activities/{mine.id}/withdraw-own")
    assert response.status_code == 302
    db.session.expire_all()
    assert mine.withdrawn_at is not None and mine.withdraw_reason == "本人撤回"
    assert approved.withdrawn_at is None and theirs.withdrawn_at is None
    assert activities.pending_reviews(district["admin"]) == [theirs.attendances[0]]
    assert db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "records.activity.withdraw_own")
    )


def test_a_correction_into_the_future_is_refused(district):
    activity = _record(district, [district["leader"]])
    tomorrow = clock.china_today() + timedelta(days=1)
    with pytest.raises(RecordError, match="不能晚于今天"):
        activities.correct_activity(
            SYSTEM, district["other_admin"], activity, _data(held_on=tomorrow), "改日期"
        )


def test_the_totals_are_rebuilt_from_the_command_line(runner, district):
    leader = district["leader"]
    _record(district, [leader], hours=2)
    kept = _kept()
    db.session.execute(delete(YearTotal))  # as if attendance had come in by SQL
    db.session.commit()
    result = runner.invoke(args=["records", "rebuild-totals"])
    assert result.exit_code == 0 and "已重建学法年度汇总：1 行" in result.output
    assert _kept() == kept and _hours(leader) == 2


def test_changes_read_the_activity_again_under_a_lock_so_nothing_counts_twice(district):
    """Another admin's approval committed after this request loaded the attendance is
    seen, not repeated: the same attendance is never added to the totals twice."""
    clerk = district["clerk"]
    submitted = activities.submit_own(
        SYSTEM, clerk, _data(uploads=[activities.Upload("a.pdf", PDF)])
    )
    db.session.commit()
    attendance = submitted.attendances[0]
    assert attendance.status == "pending"  # what this request loaded
    # Meanwhile another admin approves it (written past this session's objects).
    db.session.execute(
        update(Attendance).where(Attendance.id == attendance.id).values(status="approved"),
        execution_options={"synchronize_session": False},
    )
    totals.move([(clerk.id, submitted.held_on, submitted.kind, submitted.credit_hours)], +1)
    with pytest.raises(RecordError, match="已审核过"):
        activities.review(SYSTEM, district["admin"], attendance, True, "")
    assert _kept()[(clerk.id, submitted.held_on.year)] == {"hours": Decimal(2), "lecture": 1}


def test_a_unit_admin_changes_no_hours_of_people_outside_their_units(district, make_user):
    """A district lecture held by the bureau, recorded by a system admin with attendees of
    two bureaus: the bureau's admin may not move the other bureau's attendee's hours."""
    system_admin = make_user(Role.SYSTEM_ADMIN)
    teacher = make_user(unit=district["elsewhere"], name="钱老师")
    lecture = activities.record_activity(
        SYSTEM,
        system_admin,
        _data(hours=3),
        [district["leader"].id, teacher.id],
        district["bureau"].id,
    )
    db.session.commit()
    admin = district["admin"]
    assert not activities.can_correct(admin, lecture)
    with pytest.raises(RecordError, match="其他单位的人员"):
        activities.correct_activity(SYSTEM, admin, lecture, _data(hours=0), "改学时")
    with pytest.raises(RecordError, match="其他单位的人员"):
        activities.withdraw_activity(SYSTEM, admin, lecture, "重复")
    db.session.rollback()
    assert _hours(teacher) == 3
    activities.withdraw_activity(SYSTEM, system_admin, lecture, "重复")
    db.session.commit()
    assert _hours(teacher) == 0
    assert_same_as_rebuilt()


def test_a_correction_shows_only_its_kinds_fields_and_keeps_what_another_kinds_holds(
    client, auth, district
):
    lecture = _record(district, [district["leader"]])
    hearing = _record(
        district, [district["leader"]], kind="court_hearing", case_type="行政诉讼", place="区法院"
    )
    kept = _record(district, [district["leader"]], law_day="12·4")  # entered on a lecture
    auth.login(district["other_admin"])

    def fields(activity) -> set[str]:
        page = client.get(f"/records/activities/{activity.id}/correct").text
        return {name for name in ("case_type", "law_day", "topic") if f'name="{name}"' in page}

    assert fields(lecture) == {"topic"}
    assert fields(hearing) == {"topic", "case_type"}
    assert fields(kept) == {"topic", "law_day"}  # not hidden, so a correction keeps it
