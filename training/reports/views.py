"""Reports: item analysis for trainers."""

from flask import Blueprint, abort, flash, render_template, request

from core.extensions import db
from core.roles import Role, role_required
from question_bank import item_statistics, queries
from training.exams.models import Exam
from training.reports import item_analysis

bp = Blueprint("reports", __name__, url_prefix="/reports")
trainer_required = role_required(Role.TRAINER)


def _which() -> str:
    which = request.args.get("which", item_analysis.DEFAULT_WHICH)
    if which not in item_analysis.WHICH:
        flash(
            "请选择要统计的作答：每人第一次、每人最高分或全部；已按每人第一次作答统计。", "warning"
        )
        return item_analysis.DEFAULT_WHICH
    return which


@bp.context_processor
def labels() -> dict:
    return {
        "WHICH": item_analysis.WHICH,
        "SMALL_SAMPLE": item_statistics.SMALL_SAMPLE,
        "FLAG_LABELS": item_statistics.FLAG_LABELS,
    }


@bp.route("/exams/<int:exam_id>/items")
@trainer_required
def item_analysis_page(exam_id: int):
    exam = db.session.get(Exam, exam_id) or abort(404)
    analysis = item_analysis.analyse_exam(exam, _which())
    return render_template("reports/item_analysis.html", exam=exam, analysis=analysis)


@bp.route("/questions/<int:question_id>")
@trainer_required
def question_report(question_id: int):
    question = queries.question(question_id) or abort(404)
    which = _which()
    uses = item_analysis.question_across_exams(question.id, which)
    return render_template("reports/question.html", question=question, uses=uses, which=which)
