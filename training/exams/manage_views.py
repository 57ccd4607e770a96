"""Trainers and administrators: blueprints, exams, batches, the live board, regrading."""

import io
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import clock
from core.errors import ServiceError, button_action, show_error
from core.extensions import db
from core.forms import EmptyForm, choices
from core.outages import Outage
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor, page_arg
from question_bank import search
from question_bank.types import QUESTION_TYPES
from training import accounts, units
from training.exams import models, regrade, results, setup, sittings
from training.exams import outages as exam_outages
from training.exams.attempts import ExamError
from training.exams.forms import (
    MULTIPLE_POLICY_LABELS,
    PAPER_MODES,
    AddPeopleForm,
    AddUnitForm,
    BatchForm,
    BlueprintForm,
    BoardExtendForm,
    BoardFilterForm,
    ExamForm,
    ExtendForm,
    PeopleSearchForm,
    ReopenForm,
    format_grade_bands,
)
from training.exams.models import (
    COUNTING_LABELS,
    Attempt,
    Batch,
    BatchMember,
    Exam,
    ExamStatus,
    ReviewPolicy,
)
from training.exams.setup import SetupError
from training.models import User

bp = Blueprint("manage", __name__, url_prefix="/manage")
trainer_required = role_required(Role.TRAINER)
admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)
EXPORT_MIME = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIMETYPE}


@bp.context_processor
def labels() -> dict:
    return {
        "QUESTION_TYPES": QUESTION_TYPES,
        "PAPER_MODES": PAPER_MODES,
        "COUNTING_LABELS": COUNTING_LABELS,
        "MULTIPLE_POLICY_LABELS": MULTIPLE_POLICY_LABELS,
        "ReviewPolicy": ReviewPolicy,
        "format_grade_bands": format_grade_bands,
        "STATE_LABELS": sittings.STATE_LABELS,
    }


def _scope() -> set[int] | None:
    return accounts.manageable_unit_ids(current_user)


def _grace() -> timedelta:
    return timedelta(seconds=current_app.config.get("EXAM_GRACE_SECONDS", 30))


def _flash_errors(errors) -> None:
    """Flash every message of a form's (possibly nested) errors."""
    if isinstance(errors, dict):
        errors = errors.values()
    for item in errors:
        if isinstance(item, str):
            flash(item, "danger")
        else:
            _flash_errors(item)


def _check_post() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


# --- blueprints (trainers) ---------------------------------------------------------


@bp.route("/blueprints")
@trainer_required
def blueprint_list():
    blueprints = db.session.scalars(
        select(models.Blueprint)
        .order_by(models.Blueprint.id.desc())
        .options(selectinload(models.Blueprint.sections))
    ).all()
    in_use = setup.blueprints_in_use([blueprint.id for blueprint in blueprints])
    return render_template("manage/blueprints.html", blueprints=blueprints, in_use=in_use)


def _blueprint_form(data: setup.BlueprintData | None = None) -> BlueprintForm:
    form = BlueprintForm()
    if data is not None and not form.is_submitted():
        form.fill(data)
    form.set_choices(
        [(law.id, law.name) for law in db.session.scalars(search.all_laws())],
        [(topic.id, topic.name) for topic in db.session.scalars(search.all_topics())],
    )
    return form


def _save_blueprint(form: BlueprintForm, blueprint: models.Blueprint | None):
    """Validate and save; on success redirect, else None with the problem shown."""
    if not form.validate_on_submit():
        return None  # the form shows its errors by the fields
    try:
        saved = setup.save_blueprint(current_actor(), form.blueprint_data(), blueprint)
    except SetupError as error:
        show_error(error)
        return None
    flash(f"已保存组卷规则「{saved.name}」。", "success")
    return redirect(url_for("manage.blueprint_list"))


@bp.route("/blueprints/new", methods=["GET", "POST"])
@trainer_required
def new_blueprint():
    data = None
    if copy_id := request.args.get("copy", type=int):
        original = db.get_or_404(models.Blueprint, copy_id)
        data = setup.blueprint_data_of(original)
        data.name = f"{original.name}（副本）"
    form = _blueprint_form(data)
    if form.is_submitted() and (done := _save_blueprint(form, None)):
        return done
    return render_template("manage/blueprint_form.html", form=form, blueprint=None, in_use=False)


@bp.route("/blueprints/<int:blueprint_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_blueprint(blueprint_id: int):
    blueprint = db.get_or_404(models.Blueprint, blueprint_id)
    form = _blueprint_form(setup.blueprint_data_of(blueprint))
    if form.is_submitted() and (done := _save_blueprint(form, blueprint)):
        return done
    return render_template(
        "manage/blueprint_form.html",
        form=form,
        blueprint=blueprint,
        in_use=bool(setup.blueprints_in_use([blueprint.id])),
    )


# --- exams (trainers) --------------------------------------------------------------


@bp.route("/exams")
@trainer_required
def exam_list():
    exams = db.session.scalars(select(Exam).order_by(Exam.id.desc())).all()
    return render_template("manage/exams.html", exams=exams, button_form=EmptyForm())


def _exam_form() -> ExamForm:
    form = ExamForm()
    blueprints = db.session.scalars(select(models.Blueprint).order_by(models.Blueprint.id.desc()))
    form.blueprint_id.choices = choices(
        (b.id, f"{b.name}（{b.question_count} 题，满分 {b.max_score}）") for b in blueprints
    )
    return form


def _save_exam(form: ExamForm, exam: Exam | None):
    if not form.validate_on_submit():
        return None
    try:
        saved = setup.save_exam(current_actor(), form.exam_data(), exam)
    except SetupError as error:
        show_error(error)
        return None
    flash(f"已保存考试「{saved.title}」（草稿）。发布前可继续修改。", "success")
    return redirect(url_for("manage.exam_list"))


@bp.route("/exams/new", methods=["GET", "POST"])
@trainer_required
def new_exam():
    form = _exam_form()
    if not form.is_submitted():
        now = clock.now().replace(second=0, microsecond=0)
        form.opens_at.data = clock.china_time(now)
        form.closes_at.data = clock.china_time(now + timedelta(days=7))
    elif done := _save_exam(form, None):
        return done
    return render_template("manage/exam_form.html", form=form, exam=None)


@bp.route("/exams/<int:exam_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_exam(exam_id: int):
    exam = db.get_or_404(Exam, exam_id)
    form = _exam_form()
    if not form.is_submitted():
        form.fill(setup.exam_data_of(exam))
    elif done := _save_exam(form, exam):
        return done
    return render_template("manage/exam_form.html", form=form, exam=exam)


def _exam_action(exam_id: int, action, done: str):
    exam = db.get_or_404(Exam, exam_id)
    return button_action(
        lambda: action(current_actor(), exam),
        done.format(title=exam.title),
        url_for("manage.exam_list"),
    )


@bp.route("/exams/<int:exam_id>/publish", methods=["POST"])
@trainer_required
def publish_exam(exam_id: int):
    return _exam_action(exam_id, setup.publish, "已发布「{title}」。管理员现在可以安排场次和名单。")


@bp.route("/exams/<int:exam_id>/close", methods=["POST"])
@trainer_required
def close_exam(exam_id: int):
    return _exam_action(exam_id, setup.close, "已结束「{title}」。")


# --- regrading (trainers) ----------------------------------------------------------


@bp.route("/exams/<int:exam_id>/regrade")
@trainer_required
def regrade_list(exam_id: int):
    exam = db.get_or_404(Exam, exam_id)
    regrade.check_not_candidate(current_user.id, exam)
    return render_template(
        "manage/regrade_list.html", exam=exam, candidates=regrade.regrade_candidates(exam)
    )


@bp.route("/exams/<int:exam_id>/regrade/<int:question_id>")
@trainer_required
def regrade_preview(exam_id: int, question_id: int):
    exam = db.get_or_404(Exam, exam_id)
    regrade.check_not_candidate(current_user.id, exam)
    try:
        plan = regrade.regrade_preview(exam, question_id)
    except SetupError as error:
        show_error(error)
        return redirect(url_for("manage.regrade_list", exam_id=exam.id))
    return render_template("manage/regrade.html", exam=exam, plan=plan, button_form=EmptyForm())


@bp.route("/exams/<int:exam_id>/regrade/<int:question_id>", methods=["POST"])
@trainer_required
def apply_regrade(exam_id: int, question_id: int):
    exam = db.get_or_404(Exam, exam_id)
    _check_post()
    try:
        plan = regrade.apply_regrade(current_actor(), exam, question_id)
    except SetupError as error:
        show_error(error)
        return redirect(url_for("manage.regrade_list", exam_id=exam.id))
    flash(
        f"已重新评分 {len(plan.rows)} 份答卷：{plan.score_changes} 份成绩变化，"
        f"{plan.pass_changes} 人合格情况变化。",
        "success",
    )
    return redirect(url_for("manage.regrade_list", exam_id=exam.id))


# --- sittings: batches and rosters (administrators) --------------------------------


def get_batch_or_404(batch_id: int) -> Batch:
    return db.get_or_404(Batch, batch_id)


def get_member_or_404(batch: Batch, member_id: int) -> BatchMember:
    member = db.get_or_404(BatchMember, member_id)
    # Someone outside the admin's units answers like a member that does not exist.
    if member.batch_id != batch.id or not accounts.can_manage_unit(
        current_user, member.user.unit_id
    ):
        abort(404)
    return member


@bp.route("/sittings")
@admin_required
def sitting_list():
    exams = db.session.scalars(
        select(Exam).where(Exam.status != ExamStatus.DRAFT.value).order_by(Exam.id.desc())
    ).all()
    stmt = (
        select(BatchMember.batch_id, func.count())
        .join(User, User.id == BatchMember.user_id)
        .group_by(BatchMember.batch_id)
    )
    if (scope := _scope()) is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    sizes = dict(db.session.execute(stmt).all())
    return render_template("manage/sittings.html", exams=exams, sizes=sizes)


@bp.route("/exams/<int:exam_id>/batches/new", methods=["GET", "POST"])
@admin_required
def new_batch(exam_id: int):
    exam = db.get_or_404(Exam, exam_id)
    form = BatchForm()
    if not form.is_submitted():
        form.opens_at.data = clock.china_time(exam.opens_at)
        form.closes_at.data = clock.china_time(exam.closes_at)
    elif form.validate_on_submit():
        try:
            batch = sittings.create_batch(
                current_actor(),
                exam,
                form.name.data,
                clock.from_china_time(form.opens_at.data),
                clock.from_china_time(form.closes_at.data),
            )
        except SetupError as error:
            show_error(error)
        else:
            flash(f"已新建场次「{batch.name}」，请添加考生名单。", "success")
            return redirect(url_for("manage.batch_roster", batch_id=batch.id))
    return render_template("manage/batch_form.html", form=form, exam=exam)


@bp.route("/batches/<int:batch_id>")
@admin_required
def batch_roster(batch_id: int):
    batch = get_batch_or_404(batch_id)
    unit_choices = units.unit_choices(current_user)
    unit_form = AddUnitForm()
    unit_form.unit_id.choices = choices(unit_choices)
    search_form = PeopleSearchForm(request.args)
    search_form.unit_id.choices = choices([(0, "全部单位"), *unit_choices])
    found = None
    if request.args and search_form.validate():
        found = sittings.find_people(
            batch, _scope(), search_form.q.data or "", search_form.unit_id.data or None
        )
    rows = sittings.roster(batch, _scope())
    return render_template(
        "manage/roster.html",
        batch=batch,
        rows=rows,
        acts=accounts.allowed_acts(current_user, [row.user for row in rows]),
        Act=accounts.Act,
        extension_max=current_app.config["EXTENSION_MAX_MINUTES"],
        unit_form=unit_form,
        search_form=search_form,
        people_form=AddPeopleForm(),
        found=found,
        extend_form=ExtendForm(),
        button_form=EmptyForm(),
    )


@bp.route("/batches/<int:batch_id>/add-unit", methods=["POST"])
@admin_required
def add_unit(batch_id: int):
    batch = get_batch_or_404(batch_id)
    form = AddUnitForm()
    form.unit_id.choices = choices(units.unit_choices(current_user))
    if form.validate_on_submit():
        try:
            added = sittings.add_unit(current_actor(), batch, form.unit_id.data, scope=_scope())
        except SetupError as error:
            show_error(error)
        else:
            flash(f"已加入 {added} 人（已在名单中的人员不重复加入）。", "success")
    else:
        _flash_errors(form.errors)
    return redirect(url_for("manage.batch_roster", batch_id=batch.id))


@bp.route("/batches/<int:batch_id>/add-people", methods=["POST"])
@admin_required
def add_people(batch_id: int):
    batch = get_batch_or_404(batch_id)
    form = AddPeopleForm()
    if form.validate_on_submit():
        people = db.session.scalars(select(User).where(User.id.in_(form.user_ids.data))).all()
        try:
            added = sittings.add_members(current_actor(), batch, list(people), scope=_scope())
        except SetupError as error:
            show_error(error)
        else:
            flash(f"已加入 {added} 人。", "success")
    else:
        _flash_errors(form.errors)
    return redirect(url_for("manage.batch_roster", batch_id=batch.id))


@bp.route("/batches/<int:batch_id>/members/<int:member_id>/remove", methods=["POST"])
@admin_required
def remove_member(batch_id: int, member_id: int):
    batch = get_batch_or_404(batch_id)
    member = get_member_or_404(batch, member_id)
    return button_action(
        lambda: sittings.remove_member(current_actor(), member),
        f"已将「{member.user.name}」移出名单。",
        url_for("manage.batch_roster", batch_id=batch.id),
    )


def _extend(member: BatchMember, minutes: int) -> None:
    name = member.user.name
    try:
        attempt = sittings.extend_time(
            current_actor(),
            current_user,
            member,
            minutes,
            maximum=current_app.config["EXTENSION_MAX_MINUTES"],
        )
    except ServiceError as error:
        show_error(error)
    else:
        now_applies = "，正在进行的作答已立即延长" if attempt is not None else ""
        flash(f"已为「{name}」延长 {minutes} 分钟{now_applies}。", "success")


@bp.route("/batches/<int:batch_id>/members/<int:member_id>/extend", methods=["POST"])
@admin_required
def extend_time(batch_id: int, member_id: int):
    batch = get_batch_or_404(batch_id)
    member = get_member_or_404(batch, member_id)
    form = ExtendForm()
    if form.validate_on_submit():
        _extend(member, form.minutes.data)
    else:
        _flash_errors(form.errors)
    return redirect(url_for("manage.batch_roster", batch_id=batch.id))


BOARD_ARGS = ("state", "unit_id", "q", "page")


def _board_args() -> dict:
    """The board's filter and page, to come back to after an extension."""
    return {name: request.args[name] for name in BOARD_ARGS if request.args.get(name)}


@bp.route("/batches/<int:batch_id>/board")
@admin_required
def batch_board(batch_id: int):
    batch = get_batch_or_404(batch_id)
    form = BoardFilterForm(request.args)
    form.state.choices = choices([("", "全部状态"), *sittings.STATE_LABELS.items()])
    form.unit_id.choices = choices([(0, "全部单位"), *units.unit_choices(current_user)])
    filters = sittings.BoardFilter(page=page_arg())
    if form.validate():
        filters.state = form.state.data or ""
        filters.unit_id = form.unit_id.data or None
        filters.text = (form.q.data or "").strip()
    board = sittings.board(batch, clock.now(), _grace(), _scope(), filters)
    return render_template(
        "manage/board.html",
        batch=batch,
        board=board,
        filter_form=form,
        extend_form=BoardExtendForm(),
        extension_max=current_app.config["EXTENSION_MAX_MINUTES"],
        args=_board_args(),
    )


@bp.route("/batches/<int:batch_id>/board/extend", methods=["POST"])
@admin_required
def extend_on_board(batch_id: int):
    """The board's one extension form: the person comes with the form."""
    batch = get_batch_or_404(batch_id)
    form = BoardExtendForm()
    if form.validate_on_submit():
        _extend(get_member_or_404(batch, form.member_id.data), form.minutes.data)
    else:
        _flash_errors(form.errors)
    return redirect(url_for("manage.batch_board", batch_id=batch.id, **_board_args()))


# --- results (administrators) ------------------------------------------------------


@bp.route("/exams/<int:exam_id>/results")
@admin_required
def exam_results(exam_id: int):
    exam = db.get_or_404(Exam, exam_id)
    outcome = results.results(exam, clock.now(), _grace(), _scope(), page=page_arg())
    results.record_view(current_actor(), outcome)
    return render_template(
        "manage/results.html", exam=exam, outcome=outcome, button_form=EmptyForm()
    )


@bp.route("/exams/<int:exam_id>/results/export/<fmt>", methods=["POST"])
@admin_required
def export_results(exam_id: int, fmt: str):
    exam = db.get_or_404(Exam, exam_id)
    _check_post()
    try:
        data = results.export_results(current_actor(), exam, fmt, clock.now(), _grace(), _scope())
    except SetupError as error:
        show_error(error)
        return redirect(url_for("manage.exam_results", exam_id=exam.id))
    return send_file(
        io.BytesIO(data),
        mimetype=EXPORT_MIME[fmt],
        as_attachment=True,
        download_name=f"{exam.title}成绩.{fmt}",
    )


# --- database outages (administrators) ---------------------------------------------


@bp.route("/outages")
@admin_required
def outage_list():
    recorded, affected = exam_outages.affected_attempts(_grace(), _scope())
    return render_template(
        "manage/outages.html", outages=recorded, affected=affected, reopen_form=ReopenForm()
    )


@bp.route("/outages/<int:outage_id>/attempts/<int:attempt_id>/reopen", methods=["POST"])
@admin_required
def reopen_attempt(outage_id: int, attempt_id: int):
    outage = db.get_or_404(Outage, outage_id)
    attempt = db.get_or_404(Attempt, attempt_id)
    if not accounts.can_manage_unit(current_user, attempt.user.unit_id):
        abort(404)  # as for an attempt that does not exist: nothing to learn from it
    form = ReopenForm()
    if form.validate_on_submit():
        name, minutes = attempt.user.name, form.minutes.data
        try:
            exam_outages.reopen(current_actor(), attempt, outage, minutes, clock.now(), _grace())
        except ExamError as error:
            show_error(error)
        else:
            flash(f"已重新开放「{name}」的答卷 {minutes} 分钟，已保存的答案保留。", "success")
    else:
        _flash_errors(form.errors)
    return redirect(url_for("manage.outage_list"))
