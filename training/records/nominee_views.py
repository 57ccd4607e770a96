"""Pre-appointment nominees under /records/nominees/: registration with the post, the 补考
in a later batch, and the result sheet."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from core import clock
from core.audit import record
from core.errors import ServiceError, show_error
from core.extensions import db
from core.forms import choices
from core.roles import Role, role_required
from core.web import current_actor
from training import units
from training.accounts import UNKNOWN_PERSON, manageable_unit_ids, managed_person
from training.exams.models import Batch, Exam, ExamKind, ExamStatus
from training.records import activities, appointments
from training.records.forms import NomineeForm, RetakeForm, RosterFilterForm
from training.records.models import Appointment
from training.records.record import can_view, record_view

bp = Blueprint("nominees", __name__, url_prefix="/records/nominees")

admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)


def _batch_choices() -> list:
    """Batches of pre-appointment exams not yet closed, soonest first."""
    batches = db.session.scalars(
        select(Batch)
        .join(Exam, Exam.id == Batch.exam_id)
        .where(
            Exam.kind == ExamKind.PRE_APPOINTMENT.value,
            Exam.status != ExamStatus.CLOSED.value,
        )
        .order_by(Batch.opens_at)
    )
    return choices(
        (b.id, f"{b.exam.title} · {b.name}（{clock.to_china_time(b.opens_at)}）") for b in batches
    )


@bp.route("/", methods=["GET", "POST"])
@admin_required
def nominee_list():
    form = NomineeForm()
    form.batch_id.choices = _batch_choices()
    search = RosterFilterForm(request.args)
    search.unit.choices = choices([(0, "全部"), *units.unit_choices(current_user)])
    if form.validate_on_submit():
        person = managed_person(current_user, user_id=form.user_id.data)
        batch = db.get_or_404(Batch, form.batch_id.data)
        try:
            if person is None:
                raise appointments.AppointmentError(
                    UNKNOWN_PERSON, fields={"user_id": UNKNOWN_PERSON}
                )
            found = appointments.register_nominee(
                current_actor(), current_user, person, form.post.data, batch
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash(f"已登记 {person.name}，准考证号 {found.candidate_number}。", "success")
            return redirect(url_for("nominees.nominee_list"))
    people = []
    if search.q.data or search.unit.data:
        people = activities.roster(current_user, search.unit.data or None, search.q.data or "", 50)
    rows = appointments.nominees(current_user)
    # Other people's exam results: audited as a look at their record is (review finding F5).
    record(
        current_actor(),
        "records.nominee.list",
        summary=f"{len(rows)} 人",
        detail={"people": len(rows)},
    )
    return render_template(
        "records/nominees.html",
        form=form,
        search=search,
        people=people,
        rows=rows,
        retake=RetakeForm(),
        batches=form.batch_id.choices,
    )


def _appointment_or_404(appointment_id: int) -> Appointment:
    found = db.get_or_404(Appointment, appointment_id)
    scope = manageable_unit_ids(current_user)
    if scope is not None and found.user.unit_id not in scope:
        abort(404)
    return found


@bp.post("/<int:appointment_id>/retake")
@admin_required
def schedule_retake(appointment_id: int):
    found = _appointment_or_404(appointment_id)
    form = RetakeForm()
    form.batch_id.choices = _batch_choices()
    if not form.validate_on_submit():
        flash("请选择补考场次。", "danger")
        return redirect(url_for("nominees.nominee_list"))
    try:
        appointments.schedule_retake(
            current_actor(), current_user, found, db.get_or_404(Batch, form.batch_id.data)
        )
    except ServiceError as error:
        show_error(error)
    else:
        flash(f"已安排 {found.user.name} 补考。", "success")
    return redirect(url_for("nominees.nominee_list"))


@bp.get("/<int:appointment_id>/sheet")
@login_required
def result_sheet(appointment_id: int):
    """The result sheet (成绩单): post, exam date, candidate number, every sitting."""
    found = db.get_or_404(Appointment, appointment_id)
    if not can_view(current_user, found.user):
        abort(404)
    record_view(current_actor(), current_user, found.user, "view")
    tried = appointments.attempts_of([found])[found.id]
    return render_template(
        "records/result_sheet.html",
        appointment=found,
        attempts=tried,
        stage=appointments.stage_of([t.passed for t in tried]),
        today=clock.china_today(),
    )
