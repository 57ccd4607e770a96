"""Marking screens (阅卷): the exams a person marks, a batch's progress, one answer at a
time (the next unmarked one after each mark), corrections, and the exam's named markers.

Any logged-in user may open /marking/: whether they mark an exam is the exam's (trainers,
or the people it names), checked by training.exams.marking for every request.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from core.errors import show_error
from core.extensions import db
from core.roles import Role, role_required
from core.web import current_actor
from training.exams import marking
from training.exams.forms import CorrectMarkForm, MarkersForm, MarkForm
from training.exams.marking import MarkingError
from training.exams.models import Batch, Exam, Mark

bp = Blueprint("marking", __name__, url_prefix="/marking")


@bp.app_context_processor
def marking_menu() -> dict:
    """For the menu (base.html): asked only for a logged-in person who is no trainer."""
    return {"has_marking_work": lambda: marking.has_work(current_user)}


def _exam_for_marker(exam_id: int) -> Exam:
    exam = db.get_or_404(Exam, exam_id)
    if not marking.is_marker(current_user, exam):
        abort(403)
    return exam


@bp.get("/")
@login_required
def home():
    exams = marking.markable_exams(current_user)
    return render_template(
        "marking/home.html",
        rows=[(exam, marking.progress(exam, current_user)) for exam in exams],
    )


@bp.get("/exams/<int:exam_id>")
@login_required
def exam_marking(exam_id: int):
    exam = _exam_for_marker(exam_id)
    trainer = Role.TRAINER in current_user.roles
    form = MarkersForm()
    if trainer:
        form.logins.data = "\n".join(user.login for user in marking.named_markers(exam))
    by_batch = marking.batch_progress(exam, current_user)
    return render_template(
        "marking/exam.html",
        exam=exam,
        progress=by_batch.get(None, marking.Progress()),
        batches=[(batch, by_batch.get(batch.id, marking.Progress())) for batch in exam.batches],
        marks=marking.marks_of_exam(exam, current_user),
        markers_form=form if trainer else None,
        may_correct=lambda mark: marking.may_correct(current_user, mark),
        round_labels=marking.ROUND_LABELS,
    )


@bp.get("/exams/<int:exam_id>/next")
@login_required
def next_answer(exam_id: int):
    exam = _exam_for_marker(exam_id)
    batch = _batch_of(exam)
    found = marking.next_answer(current_user, exam, batch=batch)
    if found is None:
        where = f"「{batch.name}」" if batch else "本考试"
        flash(f"{where}暂时没有需要您评阅的答卷。", "info")
        return redirect(url_for("marking.exam_marking", exam_id=exam_id))
    return redirect(url_for("marking.mark_answer", item_id=found[0].id, batch=_batch_arg(batch)))


def _batch_of(exam: Exam) -> Batch | None:
    """The batch (场次) the marker works through (?batch=id), or None for the whole exam."""
    batch_id = request.args.get("batch", type=int)
    if batch_id is None:
        return None
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.exam_id != exam.id:
        abort(404)
    return batch


def _batch_arg(batch: Batch | None) -> int | None:
    return batch.id if batch else None


@bp.route("/answers/<int:item_id>", methods=["GET", "POST"])
@login_required
def mark_answer(item_id: int):
    form = MarkForm()
    try:
        task = marking.task(current_user, item_id)
    except MarkingError as error:
        if error.status != 400:
            abort(error.status)
        flash(error.message, "warning")
        return redirect(url_for("marking.home"))
    batch = _batch_of(task.exam)
    if form.validate_on_submit():
        try:
            marking.give_mark(
                current_actor(),
                current_user,
                item_id,
                int(form.round.data or 0),
                form.score.data,
                form.checked.data or [],
                form.note.data or "",
            )
        except MarkingError as error:
            show_error(error, form)
        else:
            flash(f"已评阅（{task.round_label}）。", "success")
            return redirect(
                url_for("marking.next_answer", exam_id=task.exam.id, batch=_batch_arg(batch))
            )
    form.round.data = task.round
    return render_template(
        "marking/answer.html",
        task=task,
        form=form,
        batch=batch,
        progress=marking.progress(task.exam, current_user, batch),
    )


@bp.route("/marks/<int:mark_id>/correct", methods=["GET", "POST"])
@login_required
def correct_mark(mark_id: int):
    mark = db.get_or_404(Mark, mark_id)
    if not marking.may_correct(current_user, mark):
        abort(403)
    item = mark.item
    exam = mark.attempt.exam
    form = CorrectMarkForm()
    if not form.is_submitted():
        form.score.data = str(mark.score)
        form.checked.data = list(mark.checked)
    if form.validate_on_submit():
        try:
            marking.correct_mark(
                current_actor(),
                current_user,
                mark,
                form.score.data,
                form.checked.data or [],
                form.reason.data,
            )
        except MarkingError as error:
            show_error(error, form)
        else:
            flash("已更正评分。", "success")
            return redirect(url_for("marking.exam_marking", exam_id=exam.id))
    return render_template(
        "marking/correct.html",
        mark=mark,
        item=item,
        exam=exam,
        form=form,
        round_labels=marking.ROUND_LABELS,
    )


@bp.post("/exams/<int:exam_id>/markers")
@role_required(Role.TRAINER)
def set_markers(exam_id: int):
    exam = db.get_or_404(Exam, exam_id)
    form = MarkersForm()
    if not form.validate_on_submit():
        abort(400)
    logins = (form.logins.data or "").replace(",", "\n").replace("，", "\n").splitlines()
    try:
        users = marking.set_markers(current_actor(), exam, logins)
    except MarkingError as error:
        show_error(error)
    else:
        flash(f"已设置阅卷人 {len(users)} 人。", "success")
    return redirect(url_for("marking.exam_marking", exam_id=exam_id))
