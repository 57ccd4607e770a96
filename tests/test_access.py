"""Every route, every role: a route added without an access rule here fails this test."""

import random
from datetime import date
from decimal import Decimal

import pytest

from core import clock, uploads
from core.audit import SYSTEM
from core.extensions import db
from core.outages import Outage
from core.roles import Role
from question_bank import bank
from question_bank.drafts import LawRefDraft, QuestionDraft
from question_bank.statutes.library import commit_law_import, plan_law_import
from tests.factories import add_case, add_written, make_exam, make_module, take
from training.exams import attempts
from training.exams.models import Exam, Mark
from training.records import activities, scorecards
from training.records.models import Appointment, Certificate
from training.study import modules

PUBLIC = "public"
# The CAPTCHA image: anyone, but only after the login page asked for one (404 before).
CAPTCHA = "public, once the login page asked for a CAPTCHA"
ANY_USER = "any logged-in user"
ADMINS = frozenset({Role.SYSTEM_ADMIN, Role.UNIT_ADMIN})
# The security admin finds people, grants roles and unlocks; accounts are the admins'.
USER_LIST = ADMINS | {Role.SECURITY_ADMIN}
GRANTORS = frozenset({Role.SECURITY_ADMIN, Role.UNIT_ADMIN})
TRAINERS = frozenset({Role.TRAINER})
LEARNERS = frozenset({Role.LEARNER})
MARKERS = TRAINERS
# An attempt is its owner's alone: anyone else gets 404, so a login is the only gate.
ATTEMPT_OWNER = ANY_USER

EXPECTED_ACCESS = {
    "static": PUBLIC,
    "healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.captcha_image": CAPTCHA,
    "auth.second_factor_login": PUBLIC,
    "auth.totp": ANY_USER,
    "auth.totp_recovery_codes": ANY_USER,
    "auth.totp_disable": ANY_USER,
    "auth.security_settings": frozenset({Role.SECURITY_ADMIN}),
    "auth.logout": ANY_USER,
    "auth.change_password": ANY_USER,
    "main.home": ANY_USER,
    "exams.my_exams": LEARNERS,
    "exams.exam_rules": LEARNERS,
    "exams.start": LEARNERS,
    "exams.attempt_page": ATTEMPT_OWNER,
    "exams.paper": ATTEMPT_OWNER,
    "exams.save_answer": ATTEMPT_OWNER,
    "exams.save_flags": ATTEMPT_OWNER,
    "exams.service_worker": PUBLIC,
    "exams.submit": ATTEMPT_OWNER,
    "exams.result": ATTEMPT_OWNER,
    "admin.unit_tree": ADMINS,
    "admin.create_unit": ADMINS,
    "admin.rename_unit": ADMINS,
    "admin.delete_unit": ADMINS,
    "admin.user_list": USER_LIST,
    "admin.create_user": ADMINS,
    "admin.edit_user": ADMINS,
    "admin.deactivate_user": ADMINS,
    "admin.activate_user": ADMINS,
    "admin.reset_password": ADMINS,
    "admin.unlock_user": GRANTORS,
    "admin.user_roles": GRANTORS,
    "admin.import_users": ADMINS,
    "admin.confirm_import": ADMINS,
    "admin.import_template": ADMINS,
    "audit.log": frozenset({Role.AUDITOR}),
    "audit.export": frozenset({Role.AUDITOR}),
    "bank.question_list": TRAINERS,
    "bank.bulk_tag": TRAINERS,
    "bank.new_question": TRAINERS,
    "bank.edit_question": TRAINERS,
    "bank.question_detail": TRAINERS,
    "bank.retire_question": TRAINERS,
    "bank.restore_question": TRAINERS,
    "bank.confirm_question": TRAINERS,
    "bank.import_questions": TRAINERS,
    "bank.confirm_import": TRAINERS,
    "bank.import_preview": TRAINERS,
    "bank.import_errors": TRAINERS,
    "bank.import_template": TRAINERS,
    "bank.export_questions": TRAINERS,
    "bank.law_list": TRAINERS,
    "cases.case_list": TRAINERS,
    "cases.new_case": TRAINERS,
    "cases.edit_case": TRAINERS,
    "cases.case_detail": TRAINERS,
    "cases.retire_case": TRAINERS,
    "cases.restore_case": TRAINERS,
    "bank.create_law": TRAINERS,
    "bank.revise_law": TRAINERS,
    "laws.library": ANY_USER,
    "laws.reader": ANY_USER,
    "laws.article": ANY_USER,
    "laws.amendment": ANY_USER,
    "laws.cite": ANY_USER,
    "laws.search": ANY_USER,
    "laws.changes": ANY_USER,
    "laws.import_text": TRAINERS,
    "laws.confirm_import": TRAINERS,
    "laws.version_report": TRAINERS,
    "manage.blueprint_list": TRAINERS,
    "manage.new_blueprint": TRAINERS,
    "manage.edit_blueprint": TRAINERS,
    "manage.exam_list": TRAINERS,
    "manage.new_exam": TRAINERS,
    "manage.edit_exam": TRAINERS,
    "manage.publish_exam": TRAINERS,
    "manage.close_exam": TRAINERS,
    "manage.regrade_list": TRAINERS,
    "manage.regrade_preview": TRAINERS,
    "manage.apply_regrade": TRAINERS,
    "manage.sitting_list": ADMINS,
    "manage.new_batch": ADMINS,
    "manage.batch_roster": ADMINS,
    "manage.add_unit": ADMINS,
    "manage.add_people": ADMINS,
    "manage.remove_member": ADMINS,
    "manage.extend_time": ADMINS,
    "manage.extend_on_board": ADMINS,
    "manage.batch_board": ADMINS,
    "manage.exam_results": ADMINS,
    "manage.export_results": ADMINS,
    "manage.outage_list": ADMINS,
    "manage.reopen_attempt": ADMINS,
    "reports.item_analysis_page": TRAINERS,
    "reports.overview": ADMINS,
    "reports.export": ADMINS,
    "reports.person": ADMINS,
    "reports.question_report": TRAINERS,
    # Marking: trainers, and the people an exam names (tests/training/test_marking.py);
    # the list of exams to mark is anyone's (empty for most).
    "marking.home": ANY_USER,
    "marking.exam_marking": MARKERS,
    "marking.next_answer": MARKERS,
    "marking.mark_answer": MARKERS,
    "marking.correct_mark": MARKERS,
    "marking.set_markers": TRAINERS,
    "study.manage": TRAINERS,
    "study.new_module": TRAINERS,
    "study.module_detail": TRAINERS,
    "study.edit_module": TRAINERS,
    "study.new_lesson": TRAINERS,
    "study.edit_lesson": TRAINERS,
    "study.move_lesson": TRAINERS,
    "study.remove_lesson": TRAINERS,
    "study.preview_lesson": TRAINERS,
    "study.publish_module": TRAINERS,
    "study.retire_module": TRAINERS,
    "study.confirm_review": TRAINERS,
    "study.new_program": TRAINERS,
    "study.edit_program": TRAINERS,
    "study.publish_program": TRAINERS,
    "study.retire_program": TRAINERS,
    # A learner's own reading and quiz; progress is never shown to anyone else.
    "study.home": LEARNERS,
    "study.program": LEARNERS,
    "study.module": LEARNERS,
    "study.lesson": LEARNERS,
    "study.start_quiz": LEARNERS,
    # A learner's own practice, notebook, settings and progress.
    "practice.index": LEARNERS,
    "practice.law": LEARNERS,
    "practice.question": LEARNERS,
    "practice.answer": LEARNERS,
    "practice.star": LEARNERS,
    "practice.mistakes": LEARNERS,
    "practice.remove_mistake": LEARNERS,
    "practice.settings": LEARNERS,
    # Study records: an activity, its evidence and a person's record answer 404 to anyone
    # who is neither in it nor an admin of their units, so a login is the only gate.
    "records.my_record": ANY_USER,
    "records.person_record": ANY_USER,
    "records.print_record": ANY_USER,
    "records.export_record": ANY_USER,
    "records.activity": ANY_USER,
    # A person withdraws their own pending submission: 404 to anyone not in the activity.
    "records.withdraw_own": ANY_USER,
    "records.correct_activity": ADMINS,
    "records.withdraw_activity": ADMINS,
    "records.evidence": ANY_USER,
    "records.submit": LEARNERS,
    "records.activity_list": ADMINS,
    "records.new_activity": ADMINS,
    "records.reviews": ADMINS,
    "records.review": ADMINS,
    "records.requirement_settings": frozenset({Role.SYSTEM_ADMIN}),
    "nominees.nominee_list": ADMINS,
    "nominees.schedule_retake": ADMINS,
    # The nominee's own result sheet, or an admin's of their units: 404 to anyone else.
    "nominees.result_sheet": ANY_USER,
    "certificates.register": ADMINS,
    "certificates.issue": ADMINS,
    # The holder's own certificate, or an admin's of their units: 404 to anyone else.
    "certificates.detail": ANY_USER,
    "certificates.review": ADMINS,
    "certificates.suspend": ADMINS,
    "certificates.restore": ADMINS,
    "certificates.revoke": ADMINS,
    "certificates.renew": ADMINS,
    "certificates.due": ADMINS,
    "certificates.export_due": ADMINS,
    "certificates.import_holders": ADMINS,
    "certificates.import_template": ADMINS,
    "certificates.settings": frozenset({Role.SYSTEM_ADMIN}),
    "practice.mock_format": frozenset({Role.SYSTEM_ADMIN}),
    "compliance.page": ADMINS,
    "compliance.export": ADMINS,
    "assessment.scorecard_list": frozenset({Role.SYSTEM_ADMIN}),
    "assessment.scorecard": frozenset({Role.SYSTEM_ADMIN}),
    "assessment.edit": frozenset({Role.SYSTEM_ADMIN}),
    "assessment.score": frozenset({Role.SYSTEM_ADMIN}),
    "assessment.export": frozenset({Role.SYSTEM_ADMIN}),
    "practice.start_mock": LEARNERS,
    "practice.my_progress": LEARNERS,
}

IMPORT_CSV = (
    "题型,题干,选项A,选项B,答案,法律依据\n单选,访问检查导入的题,甲,乙,A,宪法第1条\n".encode()
)


def _bank_values(uploader_id: int | None) -> dict:
    """A law, a question and a stashed upload, so that every /bank URL resolves."""
    law = bank.add_law(SYSTEM, "宪法", "2018年修正")
    question = bank.add_question(
        SYSTEM,
        QuestionDraft(
            "true_false",
            "宪法是国家的根本法。",
            ["正确", "错误"],
            [0],
            [],
            law_refs=[LawRefDraft("宪法", None, 1)],
        ),
    )
    case = add_case(parts=2)
    token = uploads.stash(uploader_id, "访问检查.csv", "csv", IMPORT_CSV)
    # A short made-up text, so that the reader's pages render for every role.
    text = "第一条　访问检查用的条文。\n第二条　另一条。\n".encode()
    commit_law_import(SYSTEM, plan_law_import(text, "宪法.txt", "宪法", "2018年修正"))
    db.session.commit()
    return {
        "law_id": law.id,
        "question_id": question.id,
        "case_id": case.id,
        "token": token,
        "version_id": law.versions[0].id,
        "key": "1",
    }


def _exam_values(candidate) -> dict:
    """A published exam of the bank's one question, a batch with `candidate` on its roster,
    so that every /manage URL resolves (call after _bank_values)."""
    exam = make_exam(sections=[("true_false", 1, 100)], roster=[candidate])
    (batch,) = exam.batches
    return {
        "blueprint_id": exam.blueprint_id,
        "exam_id": exam.id,
        "batch_id": batch.id,
        "member_id": batch.members[0].id,
        "fmt": "csv",
    }


def _study_values() -> dict:
    """A published module of two lessons in a published program (call after _bank_values,
    whose one question the module's quiz draws)."""
    module = make_module(lessons=2)
    program = modules.save_program(SYSTEM, modules.ProgramData("访问检查课程", "", [module.id]))
    modules.publish_program(SYSTEM, program)
    db.session.commit()
    return {
        "module_id": module.id,
        "number": module.current_number,
        "program_id": program.id,
        "review_id": 1,
    }


def _records_values(person, exam_id: int) -> dict:
    """An activity `person` submitted with a scan, so that every /records URL resolves."""
    activity = activities.submit_own(
        SYSTEM,
        person,
        activities.ActivityData(
            "lecture",
            clock.china_today(),
            "访问检查讲座",
            Decimal(1),
            uploads=[activities.Upload("签到表.pdf", b"%PDF-1.4")],
        ),
    )
    certificate = Certificate(
        number="访问检查-0001",
        user_id=person.id,
        field="市场监管",
        authority="测试区人民政府",
        issued_on=date(2025, 1, 1),
        valid_until=date(2029, 12, 31),
        imported=True,
    )
    appointment = Appointment(
        user_id=person.id,
        post="科长",
        exam_id=exam_id,
        candidate_number="RQ-ACCESS",
        registered_by=person.id,
    )
    scorecard = scorecards.create_scorecard(
        SYSTEM, person, "访问检查考核", 2026, scorecards.parse_criteria("日常学法|50")
    )
    db.session.add_all([certificate, appointment])
    db.session.commit()
    return {
        "certificate_id": certificate.id,
        "appointment_id": appointment.id,
        "scorecard_id": scorecard.id,
        "activity_id": activity.id,
        "evidence_id": activity.evidence[0].id,
        "attendance_id": activity.attendances[0].id,
    }


def _attempt_values(candidate, exam_id: int) -> dict:
    """`candidate`'s attempt at the exam, so that every /attempts URL resolves."""
    exam = db.session.get(Exam, exam_id)
    attempt = attempts.start_attempt(candidate, exam, clock.now(), random.Random(1))
    outage = Outage(started_at=attempt.deadline_at, ended_at=attempt.deadline_at, source="walk")
    db.session.add(outage)
    db.session.commit()
    return {"attempt_id": attempt.id, "outage_id": outage.id}


def _marking_values(candidate, marker) -> dict:
    """`candidate`'s submitted answer to a written question, marked once by `marker` and
    settled (a trainer corrects a mark only then), so that every /marking URL resolves."""
    add_written()
    exam = make_exam(
        sections=[("short_answer", 1, 10)], roster=[candidate], pass_mark=5, grade_bands=[]
    )
    attempt = take(candidate, exam)
    (item,) = attempt.items
    mark = Mark(attempt_id=attempt.id, item_id=item.id, round=2, marker_id=marker.id, score=1)
    db.session.add(mark)
    item.earned = mark.score
    db.session.commit()
    return {"item_id": item.id, "mark_id": mark.id}


ROLES = [None, *Role]


def _routes(app):
    # Logout last, so the walk stays logged in until the end.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "auth.logout")
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_an_access_rule(app):
    endpoints = {rule.endpoint for rule, _ in _routes(app)}
    assert endpoints - EXPECTED_ACCESS.keys() == set(), "add the new route to EXPECTED_ACCESS"
    assert EXPECTED_ACCESS.keys() - endpoints == set(), "remove routes that no longer exist"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value if role else "anonymous")
def test_every_route_answers_each_role_as_expected(app, make_user, make_unit, root_unit, role):
    target_unit = make_unit("下级单位", parent=root_unit)
    target = make_user(unit=target_unit)
    client = app.test_client()
    actor = None
    if role is not None:
        actor = make_user(role)
        client.post("/login", data={"login": actor.login, "password": "Passw0rd!"})
    values = {"user_id": target.id, "unit_id": target_unit.id, "filename": "css/app.css"}
    values |= _bank_values(actor.id if actor else None)
    values |= _exam_values(target)
    values |= _attempt_values(target, values["exam_id"])
    values |= _study_values()
    values |= _records_values(target, values["exam_id"])
    values |= _marking_values(target, make_user(Role.TRAINER))
    for rule, method in _routes(app):
        url = rule.build({arg: values[arg] for arg in rule.arguments})[1]
        response = client.open(url, method=method)
        response.close()
        expected = EXPECTED_ACCESS[rule.endpoint]
        where = f"{method} {url} as {role}"
        if expected == PUBLIC:
            assert response.status_code < 400 or response.status_code == 401, where
        elif expected == CAPTCHA:
            assert response.status_code == 404, where
        elif role is None:
            assert response.status_code == 302 and "/login" in response.location, where
        elif rule.endpoint == "auth.logout":
            assert response.status_code == 302 and "/login" in response.location, where
            assert client.get("/").status_code == 302, "logout must end the session"
        elif expected == ANY_USER or role in expected:
            assert response.status_code not in (401, 403), where
            assert "/login" not in (response.location or ""), where
        else:
            assert response.status_code == 403, where


def test_json_requests_get_json_answers(client, login_as):
    anonymous = client.get("/admin/users", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401 and anonymous.json["error"] == "login_required"
    login_as(Role.LEARNER)
    forbidden = client.get("/admin/users", headers={"Accept": "application/json"})
    assert forbidden.status_code == 403 and "message" in forbidden.json


def test_every_post_route_rejects_a_missing_csrf_token(app, make_user, root_unit):
    admin = make_user(Role.SYSTEM_ADMIN)
    target = make_user()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert (
        client.post("/login", data={"login": admin.login, "password": "Passw0rd!"}).status_code
        == 400
    )
    logged_in = client.post(
        "/login", data={"login": admin.login, "password": "Passw0rd!", "csrf_token": token}
    )
    assert logged_in.status_code == 302
    values = {"user_id": target.id, "unit_id": root_unit.id, **_bank_values(admin.id)}
    values |= _exam_values(target)
    values |= _attempt_values(target, values["exam_id"])
    values |= _study_values()
    values |= _records_values(target, values["exam_id"])
    values |= _marking_values(target, make_user(Role.TRAINER))
    posts = [rule for rule, method in _routes(app) if method == "POST"]
    assert posts
    for rule in posts:
        url = rule.build({arg: values[arg] for arg in rule.arguments})[1]
        response = client.post(url, data={"name": "x"})
        assert response.status_code == 400, url
        assert "页面已过期" in response.text, url
