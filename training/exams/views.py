"""The candidate's side: assigned exams, the exam page and its JSON API, results.

Pages for exams need the learner role. Everything under /attempts/ belongs to the
attempt's owner alone (anyone else gets 404), so those routes only need a login: the save
path then loads nothing but Flask-Login's user before its two statements.
"""

import random
from datetime import timedelta
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import joinedload

from core import admission, clock, outages
from core.errors import ServiceError, error_response, json_error
from core.extensions import db
from core.forms import EmptyForm
from core.roles import Role, role_required, wants_json
from training.exams import attempts, candidate
from training.exams import outages as exam_outages
from training.exams.models import COUNTING_LABELS, Attempt, AttemptStatus, Exam
from training.exams.models import Blueprint as PaperBlueprint
from training.scoring import AttemptRule

bp = Blueprint("exams", __name__)


def refuse_bank_while_writing():
    """Before every page of the bank, the law library, practice, marking and the lessons
    (app.py wires it: they do not know about exams): they show keys, statute texts or
    questions citing an article, so they are closed to anyone with an attempt open (the
    session's query tells: training.logins)."""
    if current_user.is_authenticated and current_user.writing_exam:
        return error_response(
            403,
            "attempt_in_progress",
            "您有正在进行的考试，交卷之前不能打开题库、法律库、练习和学习内容。",
        )
    return None


#: bigger than any sequence number a client makes (epoch milliseconds, then +1 per save)
MAX_SEQ = 2**53
#: a save's body: room for 20 blanks of 200 Chinese characters, far more than any choice
MAX_ANSWER_BYTES = 16 * 1024


def _grace() -> timedelta:
    return timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])


@bp.app_template_filter("points")
def format_points(value: Decimal | None) -> str:
    """Points without trailing zeros: 12, 2.5, 1.33."""
    if value is None:
        return "—"
    text = f"{Decimal(value).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.before_app_request
def record_recovered_outages():
    """The first request that reaches the database after an outage records it (and moves
    the deadlines inside it) before anything else is done."""
    if request.endpoint != "static" and outages.watch().needs_recording():
        exam_outages.record_recovery(outages.watch(), clock.now(), _grace())


# --- exams --------------------------------------------------------------------------


@bp.get("/exams/")
@role_required(Role.LEARNER)
def my_exams():
    entries = candidate.assigned_exams(current_user, clock.now(), _grace())
    return render_template("exams/list.html", entries=entries)


def _assigned_or_404(exam_id: int) -> candidate.Assigned:
    entry = candidate.assigned_exam(current_user, exam_id, clock.now(), _grace())
    if entry is None:
        abort(404)
    return entry


def _waiting_room() -> timedelta:
    return timedelta(minutes=current_app.config["EXAM_WAITING_ROOM_MINUTES"])


@bp.get("/exams/<int:exam_id>")
@role_required(Role.LEARNER)
def exam_rules(exam_id: int):
    entry = _assigned_or_404(exam_id)
    return render_template(
        "exams/rules.html",
        entry=entry,
        form=EmptyForm(),
        outline=candidate.paper_outline(entry.exam.blueprint),
        counting_label=COUNTING_LABELS[AttemptRule(entry.exam.counting)],
        waiting=candidate.waiting_for(
            entry,
            clock.now(),
            _waiting_room(),
            current_app.config["EXAM_START_SPREAD_SECONDS"],
        ),
        waiting_room_minutes=current_app.config["EXAM_WAITING_ROOM_MINUTES"],
    )


STARTING = joinedload(Exam.blueprint).joinedload(PaperBlueprint.sections)


@bp.post("/exams/<int:exam_id>/start")
@role_required(Role.LEARNER)
@admission.costly  # after the role check: nobody else can take a slot
def start(exam_id: int):
    """Start (or resume) the attempt. The waiting room asks for JSON: the attempt page's
    address, or why not and, before the batch opens, when to ask again (Retry-After)."""
    # The blueprint and its sections come with the exam: the draw needs them.
    exam = db.session.get(Exam, exam_id, options=[STARTING]) or abort(404)
    now = clock.now()
    try:
        attempt = attempts.start_attempt(current_user, exam, now, random.Random(), grace=_grace())
    except attempts.ExamError as error:
        # Returns normally, so an expired attempt submitted on the way is committed.
        if not wants_json():
            flash(error.message, "warning")
            return redirect(url_for("exams.exam_rules", exam_id=exam_id))
        entry = candidate.assigned_exam(current_user, exam_id, now, _grace())
        waiting = entry and candidate.waiting_for(entry, now, _waiting_room())
        if waiting:
            seconds = waiting.seconds
            response, status = json_error(409, "not_open_yet", "考试尚未开始", retry_after=seconds)
            response.headers["Retry-After"] = str(seconds)
            return response, status
        return json_error(409, "cannot_start", error.message)
    url = url_for("exams.attempt_page", attempt_id=attempt.id)
    return jsonify(url=url) if wants_json() else redirect(url)


# --- attempts -----------------------------------------------------------------------


def _own_attempt_or_404(attempt_id: int) -> Attempt:
    """The current user's attempt, submitted first if its time (and grace) is up."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    attempts.finalize_if_expired(attempt, clock.now(), _grace())
    return attempt


def _submitted(attempt: Attempt) -> bool:
    return attempt.status == AttemptStatus.SUBMITTED.value


@bp.get("/attempts/<int:attempt_id>")
@login_required
def attempt_page(attempt_id: int):
    attempt = _own_attempt_or_404(attempt_id)
    if _submitted(attempt):
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    # writing: the menu asks nothing more (no marking link while one writes an exam).
    return render_template("exams/attempt.html", attempt=attempt, writing=True)


@bp.get("/attempts/<int:attempt_id>/paper")
@login_required
def paper(attempt_id: int):
    attempt = _own_attempt_or_404(attempt_id)
    payload = candidate.paper_payload(attempt, clock.now())
    payload["csrf_token"] = generate_csrf()
    payload["result_url"] = url_for("exams.result", attempt_id=attempt.id)
    return jsonify(payload)


def _invalid_answer(message: str) -> ServiceError:
    return ServiceError(message, code="invalid_answer")


def _is_int(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


@bp.post("/attempts/<int:attempt_id>/answers")
@login_required
def save_answer(attempt_id: int):
    """The hot path of exam day: parse, two statements, the request's one commit."""
    size = request.content_length or 0
    if size > MAX_ANSWER_BYTES or len(request.get_data(cache=True)) > MAX_ANSWER_BYTES:
        raise ServiceError(
            f"答案内容不能超过 {MAX_ANSWER_BYTES // 1024} KB。", code="too_large", status=413
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _invalid_answer("请求内容应为 JSON 对象。")
    item_id, answer, seq = body.get("item_id"), body.get("answer"), body.get("seq")
    if not _is_int(item_id, 1, 2**31) or not _is_int(seq, 1, MAX_SEQ):
        raise _invalid_answer("缺少题目编号或序号，或格式不正确。")
    now = clock.now()
    result = attempts.save_answer(current_user.id, attempt_id, item_id, answer, seq, now, _grace())
    if result.saved:
        # Nothing this request loaded can go stale; keeping the user loaded saves the
        # query that the response hooks (current_user.is_authenticated) would make.
        db.session().expire_on_commit = False
        return jsonify(
            saved=True,
            seq=result.seq,
            remaining_seconds=candidate.remaining_seconds(result.deadline, now),
        )
    if result.reason == "missing":
        abort(404)
    if result.reason == "bad_item":
        raise _invalid_answer(result.message)  # rolls back the claim of the attempt
    if result.reason == "outage":
        return outages.retry_later("outage_recording", result.message)
    _own_attempt_or_404(attempt_id)  # submits it if its time is up
    return jsonify(
        error="closed",
        message=result.message,
        result_url=url_for("exams.result", attempt_id=attempt_id),
    ), 409


@bp.post("/attempts/<int:attempt_id>/flags")
@login_required
def save_flags(attempt_id: int):
    """The candidate's flags, the whole set each time (one statement): {"flags": [item id]}."""
    body = request.get_json(silent=True)
    flags = body.get("flags") if isinstance(body, dict) else None
    if (
        not isinstance(flags, list)
        or len(flags) > attempts.MAX_FLAGS
        or not all(_is_int(flag, 1, 2**31) for flag in flags)
    ):
        raise ServiceError("标记的题目编号格式不正确。", code="invalid_flags")
    if attempts.save_flags(current_user.id, attempt_id, flags):
        return jsonify(saved=True)
    reason, message = attempts.refusal(current_user.id, attempt_id, clock.now(), _grace())
    if reason == "missing":
        abort(404)
    if reason == "outage":
        return outages.retry_later("outage_recording", message)
    return jsonify(
        error="closed",
        message=message,
        result_url=url_for("exams.result", attempt_id=attempt_id),
    ), 409


@bp.get("/attempts/sw.js")
def service_worker():
    """The exam pages' service worker (an offline copy of the page and its paper). Served
    from /attempts/ so that its scope is the exam pages and nothing else."""
    response = send_from_directory(
        current_app.static_folder, "js/exam-sw.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
def submit(attempt_id: int):
    """Idempotent: a second submit finds the attempt submitted and changes nothing."""
    attempt = _own_attempt_or_404(attempt_id)
    if not _submitted(attempt):
        attempts.submit(attempt, clock.now(), by="candidate")
    result_url = url_for("exams.result", attempt_id=attempt.id)
    if request.is_json:
        return jsonify(submitted=True, result_url=result_url)
    flash("已交卷。", "success")
    return redirect(result_url)


@bp.get("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    attempt = _own_attempt_or_404(attempt_id)
    if not _submitted(attempt):
        return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))
    return render_template(
        "exams/result.html",
        review=candidate.review(attempt, clock.now(), _grace()),
        attempt=attempt,
    )
