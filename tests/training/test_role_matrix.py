"""The role-boundary matrix: actor role × target role × action, through the web.

Separation of duties (三员分立): the system admin manages accounts, the security admin grants
roles and unlocks, the auditor reads the log; none reaches another of the three or
themselves, and a unit admin reaches learners and trainers of their own units only.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from core.roles import Role
from tests.factories import add_batch, add_questions, add_written, make_blueprint, make_exam, take
from training import logins
from training.exams import marking
from training.exams.models import Attempt, Mark
from training.models import LoginFailure, Setting, User
from training.records import activities
from training.records.models import Activity, Appointment, Attendance, Certificate
from training.study import mock

ORDINARY = {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN}
PEOPLE = {Role.LEARNER, Role.TRAINER}
SELF, OUTSIDE = "self", "outside"  # the actor's own account; a learner of another unit

# (actor role, action) → the targets on which it succeeds; everything else is refused.
ALLOWED = {
    (Role.SYSTEM_ADMIN, "create"): {Role.LEARNER},
    (Role.SYSTEM_ADMIN, "edit"): ORDINARY | {OUTSIDE},
    (Role.SYSTEM_ADMIN, "deactivate"): ORDINARY | {OUTSIDE},
    (Role.SYSTEM_ADMIN, "reset_password"): ORDINARY | {OUTSIDE},
    (Role.SECURITY_ADMIN, "grant"): ORDINARY | {OUTSIDE},
    (Role.SECURITY_ADMIN, "unlock"): ORDINARY | {OUTSIDE},
    (Role.UNIT_ADMIN, "create"): PEOPLE,
    (Role.UNIT_ADMIN, "edit"): PEOPLE,
    (Role.UNIT_ADMIN, "deactivate"): PEOPLE,
    (Role.UNIT_ADMIN, "reset_password"): PEOPLE,
    (Role.UNIT_ADMIN, "grant"): PEOPLE,
    (Role.UNIT_ADMIN, "unlock"): PEOPLE,
}
# The roles each actor holds: a unit admin and a trainer are learners too.
ACTOR_ROLES = {
    Role.SYSTEM_ADMIN: [Role.SYSTEM_ADMIN],
    Role.SECURITY_ADMIN: [Role.SECURITY_ADMIN],
    Role.AUDITOR: [Role.AUDITOR],
    Role.UNIT_ADMIN: [Role.UNIT_ADMIN, Role.LEARNER],
    Role.TRAINER: [Role.TRAINER, Role.LEARNER],
    Role.LEARNER: [Role.LEARNER],
}
# grant: add or take away the trainer role; grant_privileged: make the account an auditor
# (a system admin one) instead, which nobody may do on the web.
ACCOUNT_ACTIONS = ["edit", "deactivate", "reset_password", "unlock", "grant", "grant_privileged"]
ACTIONS = ["create", *ACCOUNT_ACTIONS]
TARGETS = [*Role, OUTSIDE, SELF]  # the actor's own account last: acting on it may log out


def case_id(value) -> str:
    return str(value.value if isinstance(value, Role) else value)


def _lock(user: User) -> None:
    key = logins.failure_key(user.login)
    db.session.add(LoginFailure(login=key, failures=5, last_failure_at=clock.now()))
    user.locked_until = clock.now() + timedelta(minutes=15)
    db.session.commit()


def _edit(client, target: User, name: str, roles=()):
    data = {"login": target.login, "name": name, "unit_id": target.unit_id}
    return client.post(f"/admin/users/{target.id}/edit", data=data | {"roles": list(roles)})


def _act(client, action: str, target: User):
    """Do `action` to `target`; returns whether it took effect and the response."""
    if action == "edit":
        response = _edit(client, target, "改过的名字")
        db.session.refresh(target)
        return target.name == "改过的名字", response
    if action == "deactivate":
        response = client.post(f"/admin/users/{target.id}/deactivate")
        db.session.refresh(target)
        return not target.is_active, response
    if action == "reset_password":
        before = target.password_hash
        response = client.post(f"/admin/users/{target.id}/reset-password")
        db.session.refresh(target)
        return target.password_hash != before, response
    if action == "unlock":
        _lock(target)
        response = client.post(f"/admin/users/{target.id}/unlock")
        db.session.expire_all()
        return db.session.get(LoginFailure, logins.failure_key(target.login)) is None, response
    if action in ("grant", "grant_privileged"):
        if action == "grant":
            wanted = target.roles ^ {Role.TRAINER} or {Role.LEARNER}
        else:
            wanted = {Role.AUDITOR} if target.roles != {Role.AUDITOR} else {Role.SYSTEM_ADMIN}
        response = client.post(f"/admin/users/{target.id}/roles", data={"roles": sorted(wanted)})
        db.session.refresh(target)
        if target.roles != wanted:
            # The edit form must not do it either: it once had checkboxes for the roles the
            # editor could grant and kept the others.
            _edit(client, target, target.name, sorted(wanted - {Role.UNIT_ADMIN}))
            db.session.refresh(target)
        return target.roles == wanted, response
    raise AssertionError(action)


def _create(client, unit, role: Role) -> tuple[bool, object]:
    login = f"new_{role.value}"
    before = db.session.scalar(select(func.count(User.id)))
    response = client.post(
        "/admin/users/new",
        data={"login": login, "name": "新人", "unit_id": unit.id, "roles": [role]},
    )
    created = db.session.scalar(select(User).where(User.login == login))
    if created is None:
        assert db.session.scalar(select(func.count(User.id))) == before
    else:
        assert created.roles == {role}
    return created is not None, response


# Each case runs every target in one database (a test per cell took two minutes).
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor_role", list(ACTOR_ROLES), ids=case_id)
def test_role_matrix(client, make_user, make_unit, root_unit, auth, actor_role, action):
    bureau = make_unit("区司法局", parent=root_unit)
    elsewhere = make_unit("区教育局", parent=root_unit)
    actor = make_user(*ACTOR_ROLES[actor_role], unit=bureau)
    assert auth.login(actor).status_code == 302
    allowed = ALLOWED.get((actor_role, action), set())
    wrong = []
    for target in TARGETS:
        if action == "create":
            if target in (SELF, OUTSIDE):
                continue
            done, response = _create(client, bureau, target)
        else:
            if target == SELF:
                subject = actor
            elif target == OUTSIDE:
                subject = make_user(Role.LEARNER, unit=elsewhere)
            else:
                subject = make_user(target, unit=bureau)
            done, response = _act(client, action, subject)
        if done != (target in allowed):
            wrong.append(f"{case_id(target)}: {'done' if done else 'refused'}")
        if action in ("create", "reset_password"):
            # A temporary password is shown once, to whoever made it, and never otherwise.
            assert ("只显示这一次" in response.text) == done, case_id(target)
    assert not wrong, f"{actor_role.value} {action}: " + ", ".join(wrong)


# --- study records: recording an activity for a person, approving what a person submitted ---

RECORD_TARGETS = [Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN, OUTSIDE, SELF]
# (actor role, action) → targets for whom it takes effect (an approved attendance).
RECORDS_ALLOWED = {
    (Role.SYSTEM_ADMIN, "record_activity"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN, OUTSIDE},
    (Role.SYSTEM_ADMIN, "approve"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN, OUTSIDE},
    (Role.UNIT_ADMIN, "record_activity"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
    (Role.UNIT_ADMIN, "approve"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
    (Role.SYSTEM_ADMIN, "issue_certificate"): {
        Role.LEARNER,
        Role.TRAINER,
        Role.UNIT_ADMIN,
        OUTSIDE,
    },
    (Role.UNIT_ADMIN, "issue_certificate"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
    (Role.SYSTEM_ADMIN, "register_nominee"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN, OUTSIDE},
    (Role.UNIT_ADMIN, "register_nominee"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
    # An activity the target attended: corrected or withdrawn by an admin of the unit that
    # held it, never by one who attended it (their own hours).
    (Role.SYSTEM_ADMIN, "correct_activity"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN, OUTSIDE},
    (Role.UNIT_ADMIN, "correct_activity"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
    (Role.SYSTEM_ADMIN, "withdraw_activity"): {
        Role.LEARNER,
        Role.TRAINER,
        Role.UNIT_ADMIN,
        OUTSIDE,
    },
    (Role.UNIT_ADMIN, "withdraw_activity"): {Role.LEARNER, Role.TRAINER, Role.UNIT_ADMIN},
}
#: a pending submission is withdrawn by the one who submitted it, whatever their roles
OWN_ONLY = {"withdraw_own": {SELF}}


def _approved(user: User) -> bool:
    db.session.expire_all()
    return bool(
        db.session.scalar(
            select(func.count()).where(
                Attendance.user_id == user.id, Attendance.status == "approved"
            )
        )
    )


def _records_act(client, action: str, actor: User, target: User, unit, exam=None) -> bool:
    today = clock.china_today().isoformat()
    if action == "issue_certificate":
        # A passed certificate exam on file (a trainer may not sit one: written directly).
        now = clock.now()
        db.session.add(
            Attempt(
                exam_id=exam.id,
                batch_id=add_batch(exam).id,
                user_id=target.id,
                number=1,
                status="submitted",
                started_at=now,
                deadline_at=now,
                submitted_at=now,
                score=Decimal(100),
                max_score=Decimal(100),
                passed=True,
            )
        )
        db.session.commit()
        client.post(
            "/records/certificates/new",
            data={
                "login": target.login,
                "number": f"证-{target.id}",
                "field": "市场监管",
                "authority": "测试区人民政府",
                "issued_on": today,
            },
        )
        db.session.expire_all()
        return (
            db.session.scalar(select(Certificate).where(Certificate.user_id == target.id))
            is not None
        )
    if action == "register_nominee":
        client.post(
            "/records/nominees/",
            data={"user_id": target.id, "post": "科长", "batch_id": exam.batches[0].id},
        )
        db.session.expire_all()
        return (
            db.session.scalar(select(Appointment).where(Appointment.user_id == target.id))
            is not None
        )
    if action in ("correct_activity", "withdraw_activity"):
        activity = Activity(
            kind="lecture",
            held_on=clock.china_today(),
            title="专题讲座",
            credit_hours=Decimal(2),
            unit_id=target.unit_id,
            recorded_by=target.id,
        )
        activity.attendances.append(Attendance(user_id=target.id, status="approved"))
        db.session.add(activity)
        db.session.commit()
        if action == "withdraw_activity":
            client.post(f"/records/activities/{activity.id}/withdraw", data={"reason": "重复记录"})
            db.session.expire_all()
            return activity.withdrawn_at is not None
        client.post(
            f"/records/activities/{activity.id}/correct",
            data={"held_on": today, "title": "专题讲座", "credit_hours": "3", "reason": "学时记错"},
        )
        db.session.expire_all()
        return activity.credit_hours == 3
    if action == "withdraw_own":
        activity = activities.submit_own(
            SYSTEM,
            target,
            activities.ActivityData(
                "lecture",
                clock.china_today(),
                "专题讲座",
                Decimal(2),
                uploads=[activities.Upload("签到.pdf", b"%PDF-1.4")],
            ),
        )
        db.session.commit()
        client.post(f"/records/activities/{activity.id}/withdraw-own", data={})
        db.session.expire_all()
        return activity.withdrawn_at is not None
    if action == "record_activity":
        client.post(
            "/records/activities/new",
            data={
                "kind": "pre_meeting",
                "held_on": today,
                "title": "常务会议会前学法",
                "credit_hours": "2",
                "unit_id": unit.id,
                "attendees": [target.id],
            },
        )
        return _approved(target)
    data = activities.ActivityData(
        "lecture",
        clock.china_today(),
        "专题讲座",
        Decimal(2),
        uploads=[activities.Upload("签到.pdf", b"%PDF-1.4")],
    )
    activity = activities.submit_own(SYSTEM, target, data)
    db.session.commit()
    attendance = db.session.scalar(select(Attendance).where(Attendance.activity_id == activity.id))
    client.post(f"/records/reviews/{attendance.id}", data={"decision": "approve"})
    return _approved(target)


@pytest.mark.parametrize(
    "action",
    [
        "record_activity",
        "approve",
        "issue_certificate",
        "register_nominee",
        "correct_activity",
        "withdraw_activity",
        "withdraw_own",
    ],
)
@pytest.mark.parametrize("actor_role", list(ACTOR_ROLES), ids=case_id)
def test_records_role_matrix(
    client, make_user, make_unit, root_unit, auth, law, actor_role, action
):
    bureau = make_unit("区司法局", parent=root_unit)
    elsewhere = make_unit("区教育局", parent=root_unit)
    actor = make_user(*ACTOR_ROLES[actor_role], unit=bureau)
    assert auth.login(actor).status_code == 302
    allowed = OWN_ONLY.get(action) or RECORDS_ALLOWED.get((actor_role, action), set())
    exam = None
    if action in ("issue_certificate", "register_nominee"):
        add_questions("true_false", 2)
        kind = "enforcement" if action == "issue_certificate" else "pre_appointment"
        exam = make_exam(
            make_blueprint(("true_false", 2, 50)), kind=kind, grade_bands=[], roster=[]
        )
    wrong = []
    for target in RECORD_TARGETS:
        if target == SELF:
            subject = actor
        elif target == OUTSIDE:
            subject = make_user(Role.LEARNER, unit=elsewhere)
        else:
            subject = make_user(target, Role.LEARNER, unit=bureau)
        done = _records_act(client, action, actor, subject, bureau, exam)
        if done != (target in allowed):
            wrong.append(f"{case_id(target)}: {'done' if done else 'refused'}")
    assert not wrong, f"{actor_role.value} {action}: " + ", ".join(wrong)


# --- deployment settings ---------------------------------------------------------------

MOCK_FORMAT = {
    "province": "测试省",
    "full_marks": "4",
    "pass_mark": "3",
    "time_limit_minutes": "30",
    "part1_name": "公共法律知识",
    "part1_topic": "公共法律知识",
    "part1_single_count": "2",
    "part1_single_points": "1",
    "part2_name": "专业法律知识",
    "part2_topic": "专业法律知识",
    "part2_true_false_count": "2",
    "part2_true_false_points": "1",
}


@pytest.mark.parametrize("actor_role", list(ACTOR_ROLES), ids=case_id)
def test_mock_format_matrix(client, make_user, auth, law, actor_role):
    """Only a system admin sets the mock enforcement exam's format (the deployment's, no
    person is its target); anyone else's post changes nothing."""
    add_questions("single", 2, topics=["公共法律知识"])
    add_questions("true_false", 2, topics=["专业法律知识"])
    assert auth.login(make_user(*ACTOR_ROLES[actor_role])).status_code == 302
    client.post("/practice/mock-format", data=MOCK_FORMAT)
    db.session.expire_all()
    done = db.session.get(Setting, mock.FORMAT_KEY) is not None
    assert done == (actor_role == Role.SYSTEM_ADMIN)
    assert bool(mock.published_mocks()) == done


# --- marking written answers ---------------------------------------------------------

#: who marks another person's written answer: trainers, and the people the exam names
#: ("named", whatever their role); nobody marks their own (SELF): a candidate of the exam
#: cannot be named.
MARK_ALLOWED = {Role.TRAINER, "named"}


@pytest.mark.parametrize("actor_role", [*ACTOR_ROLES, "named", SELF], ids=case_id)
def test_marking_matrix(client, make_user, auth, law, actor_role):
    add_questions("single", 1)
    add_written()
    candidate = make_user(name="考生")
    if actor_role == SELF:
        actor = candidate  # named as a marker of the exam they sat
    elif actor_role == "named":
        actor = make_user(Role.LEARNER)
    else:
        actor = make_user(*ACTOR_ROLES[actor_role])
    exam = make_exam(sections=[("single", 1, 2), ("short_answer", 1, 8)], roster=[candidate])
    attempt = take(candidate, exam)
    item = next(i for i in attempt.items if i.question_version.type == "short_answer")
    if actor_role == "named":
        marking.set_markers(SYSTEM, exam, [actor.login])
        db.session.commit()
    elif actor_role == SELF:
        with pytest.raises(marking.MarkingError, match="考生，不能阅卷"):
            marking.set_markers(SYSTEM, exam, [actor.login])  # a candidate is never named
    assert auth.login(actor).status_code == 302
    response = client.post(f"/marking/answers/{item.id}", data={"round": "1", "score": "5"})
    done = db.session.scalar(select(func.count(Mark.id))) == 1
    assert done == (actor_role in MARK_ALLOWED), (actor_role, response.status_code)
    if not done:
        assert response.status_code in (302, 403)
    db.session.expire_all()
    assert (db.session.get(Attempt, attempt.id).score is not None) == done
