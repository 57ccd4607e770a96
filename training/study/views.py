"""Study pages: the trainers' module and program screens under /study/manage/, and the
learners' catalogue, reader and quiz under /study/."""

import random

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import clock
from core.errors import ServiceError, button_action, show_error
from core.extensions import db
from core.forms import EmptyForm
from core.roles import Role, role_required
from core.web import current_actor
from question_bank.drafts import parse_law_refs
from question_bank.law_links import cite_url, link_mentions
from training.study import learning, modules, reviews
from training.study.forms import LessonForm, ModuleForm, ProgramForm
from training.study.markdown import render
from training.study.models import Program, StudyModule

bp = Blueprint("study", __name__, url_prefix="/study")

trainer_required = role_required(Role.TRAINER)
learner_required = role_required(Role.LEARNER)


@bp.app_template_global("lesson_refs")
def lesson_refs(text: str) -> list[tuple[str, str]]:
    """Each reference of a lesson's 依据 with the address of its article page."""
    refs, _ = parse_law_refs(text or "")
    return [(f"{ref.law}{ref.place}", cite_url(ref)) for ref in refs]


@bp.app_template_global("lesson_html")
def lesson_html(lesson):
    """The lesson's body as safe HTML, each mention of an article (《民法典》第143条) a link
    to its page in the version the lesson's 依据 names for that law."""
    refs, _ = parse_law_refs(lesson.law_refs or "")
    return render(lesson.body, lambda text: link_mentions(text, refs))


def _module_or_404(module_id: int) -> StudyModule:
    return db.get_or_404(StudyModule, module_id)


# --- trainers ----------------------------------------------------------------------------


@bp.get("/manage/")
@trainer_required
def manage():
    return render_template(
        "study/manage.html",
        modules=modules.all_modules(),
        programs=modules.all_programs(),
        under_review=reviews.modules_under_review(),
        form=EmptyForm(),
    )


@bp.route("/manage/modules/new", methods=["GET", "POST"])
@trainer_required
def new_module():
    form = ModuleForm()
    if form.validate_on_submit():
        try:
            module = modules.create_module(current_actor(), form.module_data())
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已新建模块，请添加课程。", "success")
            return redirect(url_for("study.module_detail", module_id=module.id))
    return render_template("study/module_form.html", form=form, module=None)


@bp.get("/manage/modules/<int:module_id>")
@trainer_required
def module_detail(module_id: int):
    module = _module_or_404(module_id)
    return render_template(
        "study/module_detail.html",
        module=module,
        reviews=reviews.open_reviews(module),
        form=EmptyForm(),
    )


@bp.route("/manage/modules/<int:module_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_module(module_id: int):
    module = _module_or_404(module_id)
    form = ModuleForm()
    if not form.is_submitted():
        form.fill(modules.module_data_of(module.current))
    if form.validate_on_submit():
        try:
            version = modules.save_module(current_actor(), module, form.module_data())
        except ServiceError as error:
            show_error(error, form)
        else:
            _flash_version(version)
            return redirect(url_for("study.module_detail", module_id=module.id))
    return render_template("study/module_form.html", form=form, module=module)


def _flash_version(version) -> None:
    if version is None:
        flash("内容没有变化，未生成新版本。", "info")
    else:
        flash(f"已保存为第{version.number}版（发布后学员可见）。", "success")


@bp.route("/manage/modules/<int:module_id>/lessons/new", methods=["GET", "POST"])
@trainer_required
def new_lesson(module_id: int):
    return _lesson_form(_module_or_404(module_id), None)


@bp.route("/manage/modules/<int:module_id>/lessons/<int:key>/edit", methods=["GET", "POST"])
@trainer_required
def edit_lesson(module_id: int, key: int):
    module = _module_or_404(module_id)
    lesson = module.current.lesson(key) or abort(404)
    return _lesson_form(module, lesson)


def _lesson_form(module: StudyModule, lesson):
    form = LessonForm()
    if not form.is_submitted() and lesson is not None:
        form.fill(modules.lesson_data_of(lesson))
    if form.validate_on_submit():
        key = lesson.key if lesson is not None else None
        try:
            _, version = modules.save_lesson(current_actor(), module, form.lesson_data(), key)
        except ServiceError as error:
            show_error(error, form)
        else:
            _flash_version(version)
            return redirect(url_for("study.module_detail", module_id=module.id))
    return render_template("study/lesson_form.html", form=form, module=module, lesson=lesson)


@bp.post("/manage/modules/<int:module_id>/lessons/<int:key>/move")
@trainer_required
def move_lesson(module_id: int, key: int):
    module = _module_or_404(module_id)
    step = -1 if request.args.get("direction") == "up" else 1
    back = url_for("study.module_detail", module_id=module.id)
    return button_action(
        lambda: modules.move_lesson(current_actor(), module, key, step), "已调整课程顺序。", back
    )


@bp.post("/manage/modules/<int:module_id>/lessons/<int:key>/remove")
@trainer_required
def remove_lesson(module_id: int, key: int):
    module = _module_or_404(module_id)
    back = url_for("study.module_detail", module_id=module.id)
    return button_action(
        lambda: modules.remove_lesson(current_actor(), module, key),
        "已从新版本中移除该课程（已发布的旧版本不受影响）。",
        back,
    )


@bp.get("/manage/modules/<int:module_id>/preview/<int:number>/<int:key>")
@trainer_required
def preview_lesson(module_id: int, number: int, key: int):
    module = _module_or_404(module_id)
    version = module.version(number) or abort(404)
    lesson = version.lesson(key) or abort(404)
    return render_template(
        "study/lesson.html", module=module, version=version, lesson=lesson, preview=True
    )


@bp.post("/manage/modules/<int:module_id>/reviews/<int:review_id>/confirm")
@trainer_required
def confirm_review(module_id: int, review_id: int):
    module = _module_or_404(module_id)
    return button_action(
        lambda: modules.confirm_lesson_review(current_actor(), module, review_id),
        "已确认：课程依据已改引新版本，生成新版本；发布后学员看到新的依据。",
        url_for("study.module_detail", module_id=module.id),
    )


@bp.post("/manage/modules/<int:module_id>/publish")
@trainer_required
def publish_module(module_id: int):
    module = _module_or_404(module_id)
    return button_action(
        lambda: modules.publish_module(current_actor(), module, clock.now()),
        "已发布：学员现在学习的是这一版。",
        url_for("study.module_detail", module_id=module.id),
    )


@bp.post("/manage/modules/<int:module_id>/retire")
@trainer_required
def retire_module(module_id: int):
    module = _module_or_404(module_id)
    return button_action(
        lambda: modules.retire_module(current_actor(), module),
        "已停用该模块；学员的学习记录保留。",
        url_for("study.module_detail", module_id=module.id),
    )


def _program_page(form: ProgramForm, program: Program | None, chosen: dict[int, int]):
    return render_template(
        "study/program_form.html",
        form=form,
        program=program,
        modules=[m for m in modules.all_modules() if m.status != "retired"],
        chosen=chosen,
    )


def _chosen_modules() -> tuple[list[int], dict[int, int], str | None]:
    """Module ids in the order typed in the `order-<id>` fields (blank: not in it)."""
    chosen = {}
    for name, value in request.form.items():
        if name.startswith("order-") and value.strip():
            module_id, position = name.removeprefix("order-"), value.strip()
            if not (module_id.isdigit() and position.isdigit() and len(position) < 4):
                return [], {}, "模块顺序应填写数字。"
            chosen[int(module_id)] = int(position)
    return sorted(chosen, key=lambda m: (chosen[m], m)), chosen, None


def _save_program(program: Program | None):
    form = ProgramForm()
    chosen = {entry.module_id: entry.position for entry in program.entries} if program else {}
    if form.is_submitted():
        ordered, chosen, problem = _chosen_modules()
        if problem:
            flash(problem, "danger")
        elif form.validate():
            data = modules.ProgramData(form.title.data, form.summary.data or "", ordered)
            try:
                program = modules.save_program(current_actor(), data, program)
            except ServiceError as error:
                show_error(error, form)
            else:
                flash("已保存课程。", "success")
                return redirect(url_for("study.manage"))
    elif program is not None:
        form.title.data, form.summary.data = program.title, program.summary
    return _program_page(form, program, chosen)


@bp.route("/manage/programs/new", methods=["GET", "POST"])
@trainer_required
def new_program():
    return _save_program(None)


@bp.route("/manage/programs/<int:program_id>/edit", methods=["GET", "POST"])
@trainer_required
def edit_program(program_id: int):
    return _save_program(db.get_or_404(Program, program_id))


@bp.post("/manage/programs/<int:program_id>/publish")
@trainer_required
def publish_program(program_id: int):
    program = db.get_or_404(Program, program_id)
    return button_action(
        lambda: modules.publish_program(current_actor(), program),
        "已发布课程。",
        url_for("study.manage"),
    )


@bp.post("/manage/programs/<int:program_id>/retire")
@trainer_required
def retire_program(program_id: int):
    program = db.get_or_404(Program, program_id)
    return button_action(
        lambda: modules.retire_program(current_actor(), program),
        "已停用课程；学员的完成记录保留。",
        url_for("study.manage"),
    )


# --- learners ------------------------------------------------------------------------------


@bp.get("/")
@learner_required
def home():
    # A quiz passed since the last visit completes its module here.
    learning.sync_all(current_user, clock.now())
    programs = learning.published_programs()
    in_programs = {entry.module_id for program in programs for entry in program.entries}
    return render_template(
        "study/home.html",
        programs=programs,
        loose_modules=[m for m in learning.published_modules() if m.id not in in_programs],
        record=learning.study_record(current_user.id),
        completed=learning.completed_module_ids(current_user.id),
    )


@bp.get("/programs/<int:program_id>")
@learner_required
def program(program_id: int):
    program = db.get_or_404(Program, program_id)
    if program.status != "published":
        abort(404)
    return render_template(
        "study/program.html",
        program=program,
        # A module retired since is shown only to those who started it.
        shown=[m for m in program.modules if learning.visible(current_user, m)],
        done=learning.program_completion(current_user.id, program.id),
        completed=learning.completed_module_ids(current_user.id),
    )


def _visible_module_or_404(module_id: int) -> StudyModule:
    module = _module_or_404(module_id)
    if not learning.visible(current_user, module):
        abort(404)
    return module


@bp.get("/modules/<int:module_id>")
@learner_required
def module(module_id: int):
    module = _visible_module_or_404(module_id)
    # A quiz passed since the last visit completes the module here.
    learning.sync_completion(current_user, module, clock.now())
    return render_template(
        "study/module.html",
        state=learning.progress(current_user, module),
        form=EmptyForm(),
    )


@bp.get("/modules/<int:module_id>/lessons/<int:key>")
@learner_required
def lesson(module_id: int, key: int):
    module = _visible_module_or_404(module_id)
    try:
        lesson = learning.open_lesson(current_user, module, key, clock.now())
    except ServiceError as error:
        show_error(error)
        return redirect(url_for("study.module", module_id=module.id))
    version = learning.studied_version(current_user, module)
    keys = [item.key for item in version.lessons]
    index = keys.index(lesson.key)
    return render_template(
        "study/lesson.html",
        module=module,
        version=version,
        lesson=lesson,
        preview=False,
        previous_key=keys[index - 1] if index > 0 else None,
        next_key=keys[index + 1] if index + 1 < len(keys) else None,
    )


@bp.post("/modules/<int:module_id>/quiz")
@learner_required
def start_quiz(module_id: int):
    module = _visible_module_or_404(module_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        attempt = learning.start_quiz(current_user, module, clock.now(), random.Random())
    except ServiceError as error:
        show_error(error)
        return redirect(url_for("study.module", module_id=module.id))
    return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))
