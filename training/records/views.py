"""Study record pages under /records/: activities recorded by admins or submitted by a
person, their review, evidence, and the personal study record."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from core import clock
from core.errors import ServiceError, show_error
from core.extensions import db
from core.forms import choices
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.uploads import EVIDENCE_MIMETYPES
from core.web import current_actor
from training import units
from training.accounts import manageable_unit_ids
from training.exams.models import ExamKind
from training.models import User
from training.records import activities, certificates, home, record, requirements
from training.records.forms import (
    COUNTED_KINDS,
    ActivityForm,
    CorrectionForm,
    OwnActivityForm,
    RequirementForm,
    ReviewForm,
    RosterFilterForm,
    WithdrawForm,
)
from training.records.models import Activity, ActivityKind, Attendance, Evidence, Group

bp = Blueprint("records", __name__, url_prefix="/records")

admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)
learner_required = role_required(Role.LEARNER)


@bp.get("/activities")
@admin_required
def activity_list():
    return render_template(
        "records/activities.html",
        activities=activities.recent_activities(current_user),
        pending=len(activities.pending_reviews(current_user)),
    )


@bp.route("/activities/new", methods=["GET", "POST"])
@admin_required
def new_activity():
    form = ActivityForm()
    form.unit_id.choices = choices(units.unit_choices(current_user))
    oath = (request.args.get("kind") or form.kind.data) == ActivityKind.OATH.value
    if not form.is_submitted():
        form.kind.data = request.args.get("kind") or ActivityKind.PRE_MEETING.value
        form.unit_id.data = current_user.unit_id
        form.held_on.data = clock.china_today()
    search = RosterFilterForm(request.args)
    search.unit.choices = choices([(0, "全部"), *units.unit_choices(current_user)])
    if form.validate_on_submit():
        try:
            activity = activities.record_activity(
                current_actor(),
                current_user,
                form.activity_data(),
                form.attendees.data or [],
                form.unit_id.data,
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash(f"已记录「{activity.title}」，{len(activity.attendances)} 人。", "success")
            return redirect(url_for("records.activity", activity_id=activity.id))
    if oath:
        people = [person for person, _ in activities.oath_candidates(current_user)]
    else:
        people = activities.roster(current_user, search.unit.data or None, search.q.data or "")
    return render_template(
        "records/activity_form.html",
        form=form,
        search=search,
        people=people,
        chosen=set(form.attendees.data or []),
        oath=oath,
    )


@bp.get("/activities/<int:activity_id>")
@login_required
def activity(activity_id: int):
    seen = activities.open_activity(
        current_actor(), current_user, db.get_or_404(Activity, activity_id)
    )
    if seen is None:
        abort(404)
    return render_template(
        "records/activity.html",
        activity=seen.activity,
        attendances=seen.attendances,
        can_correct=activities.can_correct(current_user, seen.activity),
        can_withdraw_own=activities.can_withdraw_own(current_user, seen.activity),
        withdraw=WithdrawForm(),
    )


def _activity_or_404(activity_id: int) -> Activity:
    found = db.get_or_404(Activity, activity_id)
    if not activities.can_see_activity(current_user, found):
        abort(404)
    return found


@bp.route("/activities/<int:activity_id>/correct", methods=["GET", "POST"])
@admin_required
def correct_activity(activity_id: int):
    found = _activity_or_404(activity_id)
    form = CorrectionForm(obj=None if request.method == "POST" else found)
    if form.validate_on_submit():
        try:
            activities.correct_activity(
                current_actor(), current_user, found, form.activity_data(), form.reason.data
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已修改，学时随之重新计算。", "success")
            return redirect(url_for("records.activity", activity_id=found.id))
    return render_template("records/activity_correct.html", form=form, activity=found)


@bp.post("/activities/<int:activity_id>/withdraw")
@admin_required
def withdraw_activity(activity_id: int):
    found = _activity_or_404(activity_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        activities.withdraw_activity(current_actor(), current_user, found, form.reason.data or "")
    except ServiceError as error:
        show_error(error)
    else:
        flash("已撤销：记录保留并注明原因，学时不再计入。", "success")
    return redirect(url_for("records.activity", activity_id=found.id))


@bp.post("/activities/<int:activity_id>/withdraw-own")
@login_required
def withdraw_own(activity_id: int):
    found = _activity_or_404(activity_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        activities.withdraw_own(current_actor(), current_user, found, form.reason.data or "")
    except ServiceError as error:
        show_error(error)
        return redirect(url_for("records.activity", activity_id=found.id))
    flash("已撤回。", "success")
    return redirect(url_for("records.my_record"))


@bp.get("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    found = db.get_or_404(Evidence, evidence_id)
    if activities.open_evidence(current_actor(), current_user, found) is None:
        abort(404)
    return send_file(
        io.BytesIO(found.data),
        mimetype=EVIDENCE_MIMETYPES[found.file_kind],
        as_attachment=True,
        download_name=found.filename,
    )


@bp.route("/submit", methods=["GET", "POST"])
@learner_required
def submit():
    form = OwnActivityForm()
    if not form.is_submitted() and request.args.get("kind"):
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            activities.submit_own(current_actor(), current_user, form.activity_data())
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已提交，单位管理员审核确认后记入学法档案。", "success")
            return redirect(url_for("records.my_record"))
    return render_template("records/submit.html", form=form)


@bp.get("/reviews")
@admin_required
def reviews():
    return render_template(
        "records/reviews.html",
        pending=activities.pending_reviews(current_user),
        form=ReviewForm(),
    )


@bp.post("/reviews/<int:attendance_id>")
@admin_required
def review(attendance_id: int):
    attendance = db.get_or_404(Attendance, attendance_id)
    scope = manageable_unit_ids(current_user)
    if scope is not None and attendance.user.unit_id not in scope:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    approve = form.decision.data == "approve"
    try:
        activities.review(
            current_actor(), current_user, attendance, approve, form.remark.data or ""
        )
    except ServiceError as error:
        show_error(error)
    else:
        flash("已确认，学时记入档案。" if approve else "已退回。", "success")
    return redirect(url_for("records.reviews"))


# --- the personal study record ------------------------------------------------------------


def _person_or_404(user_id: int) -> User:
    person = db.get_or_404(User, user_id)
    if not record.can_view(current_user, person):
        abort(404)
    return person


@bp.get("/")
@login_required
def my_record():
    return _record_page(current_user)


@bp.get("/people/<int:user_id>")
@login_required
def person_record(user_id: int):
    person = _person_or_404(user_id)
    record.record_view(current_actor(), current_user, person, "view")
    return _record_page(person)


def _record_page(person: User, template: str = "records/record.html"):
    return render_template(
        template,
        found=record.person_record(person, own=person.id == current_user.id),
        person=person,
        own=person.id == current_user.id,
        today=clock.china_today(),
    )


@bp.get("/people/<int:user_id>/print")
@login_required
def print_record(user_id: int):
    person = _person_or_404(user_id)
    record.record_view(current_actor(), current_user, person, "print")
    return _record_page(person, "records/record_print.html")


@bp.get("/people/<int:user_id>/export")
@login_required
def export_record(user_id: int):
    person = _person_or_404(user_id)
    data = record.export_record(current_actor(), current_user, person)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"学法档案_{person.name}_{clock.china_today()}.xlsx",
    )


# --- yearly requirements ------------------------------------------------------------------


@bp.route("/requirements", methods=["GET", "POST"])
@role_required(Role.SYSTEM_ADMIN)
def requirement_settings():
    form = RequirementForm()
    if not form.is_submitted():
        form.from_year.data = clock.china_today().year
    if form.validate_on_submit():
        try:
            requirements.save_requirement(current_actor(), form.requirement_data())
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已保存，自所填年度起适用。", "success")
            return redirect(url_for("records.requirement_settings"))
    year = clock.china_today().year
    rules = requirements.stored_rules()
    return render_template(
        "records/requirements.html",
        form=form,
        rows=requirements.requirement_rows(),
        current=[requirements.rule_for(rules, group, year) for group in Group],
        defaults=[requirements.default_rule(group) for group in Group],
        year=year,
        counted=COUNTED_KINDS,
    )


@bp.app_template_global("exam_kind_label")
def exam_kind_label(kind: str) -> str:
    return ExamKind(kind).label


@bp.app_template_global("activity_kind_label")
def activity_kind_label(kind: str) -> str:
    return ActivityKind(kind).label


@bp.app_template_global("group_label")
def group_label(group: str) -> str:
    return Group(group).label


@bp.app_template_global("certificate_status")
def certificate_status(certificate):
    return certificates.current_status(certificate)


@bp.app_template_global("records_home")
def records_home() -> dict:
    """What the home page's study record cards show the current user."""
    return home.summary(current_user)
