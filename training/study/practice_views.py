"""A learner's practice pages under /practice/: choosing a mode, a question and its
feedback, stars, the mistakes notebook, their settings and their own progress."""

import random

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from core import clock
from core.errors import ServiceError, button_action, show_error
from core.extensions import db
from core.forms import EmptyForm
from core.roles import Role, role_required
from core.web import current_actor, local_path
from question_bank import queries, types
from question_bank.drafts import group_law_refs
from question_bank.law_links import cite_url
from training.study import mock, notebook, practice, progress
from training.study.forms import MockFormatForm, PracticeSettingsForm

bp = Blueprint("practice", __name__, url_prefix="/practice")
learner_required = role_required(Role.LEARNER)


@bp.app_template_global("question_type")
def question_type(type_id: str):
    return types.of(type_id)


@bp.app_template_global("letter")
def letter(index: int) -> str:
    return types.letter(index)


@bp.get("/")
@learner_required
def index():
    now = clock.now()
    return render_template(
        "practice/index.html",
        modes=practice.MODES,
        laws=queries.laws(),
        law_counts=queries.active_counts_by_law(),
        topics=queries.topics(),
        difficulties=practice.DIFFICULTIES,
        due=practice.due_count(current_user.id, practice.end_of_today(now)),
        mistakes=notebook.count(current_user.id, now),
        starred=len(practice.starred_ids(current_user.id)),
        mock_exam=mock.current_mock(now),
        open_mock=mock.open_mock_attempt(current_user.id),
        form=EmptyForm(),
    )


@bp.get("/laws/<int:law_id>")
@learner_required
def law(law_id: int):
    law = queries.law(law_id) or abort(404)
    return render_template("practice/law.html", law=law, chapters=practice.chapters(law.id))


@bp.get("/question")
@learner_required
def question():
    try:
        choice = practice.parse_choice(request.args)
        served = practice.next_question(current_user.id, choice, clock.now(), random.Random())
    except ServiceError as error:
        show_error(error)
        return redirect(url_for("practice.index"))
    return render_template("practice/question.html", served=served, given=[], form=EmptyForm())


def _given() -> list:
    """The answer as the form sent it: choice numbers, or the texts of the blanks."""
    if "blank" in request.form:
        return request.form.getlist("blank")
    return [int(v) if v.isdecimal() and len(v) < 4 else v for v in request.form.getlist("choice")]


@bp.post("/answer")
@learner_required
def answer():
    """Check an answer: the feedback as JSON, which the question page's script shows
    (static/js/practice.js); a refusal in the one JSON error shape, nothing changed (a
    malformed answer leaves the question open to answer again). Its CSRF token is checked
    by CSRFProtect, as every POST's."""
    question_id = request.form.get("question_id", "")
    if not question_id.isdecimal() or len(question_id) > 9:
        raise practice.PracticeError("缺少试题编号，请从练习首页开始。")
    choice = practice.parse_choice(request.form)
    feedback = practice.answer(
        current_user.id, int(question_id), _given(), choice.mode, clock.now()
    )
    # As the exam save: nothing loaded here goes stale, and keeping the user loaded saves
    # the query the response hooks would make after the commit.
    db.session().expire_on_commit = False
    return jsonify(_feedback_json(feedback))


def _feedback_json(feedback: practice.Feedback) -> dict:
    version = feedback.version
    lettered = version.type != "fill_blank"
    return {
        "correct": feedback.correct,
        "notebook": feedback.notebook_note,
        "given": feedback.given_text,
        "key": feedback.key_text,
        "key_choices": list(version.answer) if lettered else [],
        "given_choices": list(feedback.given) if lettered else [],
        "explanation": version.explanation or "（无）",
        "refs": [
            {"name": name, "places": [{"place": ref.place, "url": cite_url(ref)} for ref in group]}
            for name, group in group_law_refs(feedback.refs)
        ],
        "due": f"{clock.to_china_time(feedback.due)}（{feedback.rating_label}）",
    }


@bp.post("/questions/<int:question_id>/star")
@learner_required
def star(question_id: int):
    on = request.args.get("on") != "0"
    back = local_path(request.form.get("back"), url_for("practice.index"))
    return button_action(
        lambda: practice.set_star(current_user.id, question_id, on, clock.now()),
        "已收藏。" if on else "已取消收藏。",
        back,
    )


@bp.get("/mistakes")
@learner_required
def mistakes():
    return render_template(
        "practice/mistakes.html",
        entries=notebook.entries(current_user.id, clock.now()),
        streak=practice.settings(current_user.id).mistake_streak,
        form=EmptyForm(),
    )


@bp.post("/mistakes/<int:question_id>/remove")
@learner_required
def remove_mistake(question_id: int):
    def remove():
        if not notebook.remove(current_user.id, question_id):
            raise practice.PracticeError("这道题不在错题本中。")

    return button_action(remove, "已从错题本中移除。", url_for("practice.mistakes"))


@bp.route("/settings", methods=["GET", "POST"])
@learner_required
def settings():
    mine = practice.settings(current_user.id)
    form = PracticeSettingsForm()
    if not form.is_submitted():
        form.retention.data, form.streak.data = mine.desired_retention, mine.mistake_streak
    if form.validate_on_submit():
        try:
            practice.save_settings(current_user.id, float(form.retention.data), form.streak.data)
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已保存练习设置。", "success")
            return redirect(url_for("practice.index"))
    return render_template("practice/settings.html", form=form)


@bp.post("/mock")
@learner_required
def start_mock():
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        attempt = mock.start_mock(current_user, clock.now(), random.Random())
    except ServiceError as error:
        show_error(error)
        return redirect(url_for("practice.index"))
    return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))


@bp.get("/progress")
@learner_required
def my_progress():
    return render_template(
        "practice/progress.html",
        state=progress.progress(
            current_user.id, clock.now(), mock.configured_format(current_app.config)
        ),
        days=progress.READINESS_DAYS,
        limit=progress.READINESS_QUESTIONS,
        minimum=progress.READINESS_MINIMUM,
    )


@bp.route("/mock-format", methods=["GET", "POST"])
@role_required(Role.SYSTEM_ADMIN)
def mock_format():
    """The mock enforcement exam's format for this deployment (per province): saving
    publishes it as the current mock."""
    form = MockFormatForm()
    if not form.is_submitted():
        form.fill(mock.raw_format(mock.configured_format(current_app.config)))
    if form.validate_on_submit():
        try:
            exam = mock.save_format(current_actor(), form.raw(), clock.now(), random.Random())
        except ServiceError as error:
            show_error(error, form)
        else:
            flash(f"已保存并发布模拟考试「{exam.title}」，此后开始的模拟考试按新格式。", "success")
            return redirect(url_for("practice.mock_format"))
    return render_template(
        "practice/mock_format.html", form=form, current=mock.current_mock(clock.now())
    )
