"""Reports: item analysis for trainers; pass rates, participation and one person's
record for administrators, within their units."""

import io

from flask import Blueprint, abort, flash, render_template, request, send_file
from flask_login import current_user

from core.errors import error_response
from core.extensions import db
from core.forms import choices
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor
from question_bank import item_statistics, queries
from training import accounts, units
from training.exams.models import EXAM_KIND_LABELS, Exam
from training.models import User
from training.reports import charts, item_analysis, pass_rates
from training.reports.forms import ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")
trainer_required = role_required(Role.TRAINER)
admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)


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
        "EXAM_KIND_LABELS": EXAM_KIND_LABELS,
    }


# --- trainers: item analysis ---------------------------------------------------------


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


# --- administrators: pass rates ------------------------------------------------------


def _filters() -> tuple[ReportFilterForm, pass_rates.ReportFilter]:
    """The filter form with its choices, and the filters it asks for (the defaults when it
    asks for something that does not exist; the form then says what)."""
    scope = accounts.manageable_unit_ids(current_user)
    options = pass_rates.filter_choices(scope)
    form = ReportFilterForm(request.args)
    form.year.choices = choices([(0, "全部年度"), *[(y, f"{y}年") for y in options["years"]]])
    form.kind.choices = choices([("", "全部类型"), *options["kinds"]])
    form.exam_id.choices = choices([(0, "全部考试"), *options["exams"]])
    form.unit_id.choices = choices([(0, "全部单位"), *units.unit_choices(current_user)])
    filters = pass_rates.ReportFilter()
    if request.args and form.validate():
        filters = pass_rates.ReportFilter(
            year=form.year.data or None,
            kind=form.kind.data or None,
            exam_id=form.exam_id.data or None,
            unit_id=form.unit_id.data or None,
            leaders=bool(form.leaders.data),
        )
    elif request.args:
        for field in form:
            for message in field.errors:
                flash(f"{field.label.text}：{message}已按全部显示。", "warning")
    return form, filters


def _outside_scope():
    """A unit outside the admin's units: refused, whatever else was asked."""
    unit_id = request.args.get("unit_id", type=int)
    if unit_id and not accounts.can_manage_unit(current_user, unit_id):
        return error_response(403, "forbidden", pass_rates.OUTSIDE_SCOPE)
    return None


def _caption(filters: pass_rates.ReportFilter) -> str:
    parts = [f"{filters.year}年" if filters.year else "全部年度"]
    if filters.kind:
        parts.append(EXAM_KIND_LABELS.get(filters.kind, filters.kind))
    if filters.exam_id:
        exam = db.session.get(Exam, filters.exam_id)
        parts.append(exam.title if exam else "")
    if filters.unit_id:
        parts.append(units.unit_paths().get(filters.unit_id, ""))
    if filters.leaders:
        parts.append("领导干部")
    return "，".join(part for part in parts if part)


@bp.route("/")
@admin_required
def overview():
    if (refused := _outside_scope()) is not None:
        return refused
    form, filters = _filters()
    report = pass_rates.admin_report(accounts.manageable_unit_ids(current_user), filters)
    caption = _caption(filters)
    pass_rates.record_view(current_actor(), report, caption)
    return render_template(
        "reports/overview.html",
        form=form,
        report=report,
        caption=caption,
        charts=_charts(report),
        SMALL_GROUP=pass_rates.SMALL_GROUP,
    )


def _charts(report: pass_rates.AdminReport) -> dict:
    top = [row for row in report.units if row.depth <= 1][:30]
    return {
        "exams": charts.rate_bars("各考试合格率", [(i.label, i.figures) for i in report.exams]),
        "batches": charts.rate_bars("各场次合格率", [(i.label, i.figures) for i in report.batches]),
        "units": charts.rate_bars(
            "各单位合格率（含下级）", [(r.unit.name, r.subtree) for r in top]
        ),
        "funnel": charts.funnel("参与情况", report.funnel),
        "distribution": charts.count_bars("成绩分布（得分率）", report.distribution),
        "years": charts.rate_line("历年合格率", [(i.label, i.figures) for i in report.years]),
        "leaders": charts.rate_bars(
            "领导干部与全体人员", [(i.label, i.figures) for i in report.leaders]
        ),
    }


@bp.route("/export.xlsx")
@admin_required
def export():
    if (refused := _outside_scope()) is not None:
        return refused
    _form, filters = _filters()
    report = pass_rates.admin_report(accounts.manageable_unit_ids(current_user), filters)
    data = pass_rates.export_report(current_actor(), report, _caption(filters))
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="统计报表.xlsx",
    )


@bp.route("/people/<int:user_id>")
@admin_required
def person(user_id: int):
    user = db.session.get(User, user_id)
    # Someone outside the admin's units answers as if there were nobody (as admin pages do).
    if user is None or not accounts.can_manage_unit(current_user, user.unit_id):
        abort(404)
    found = pass_rates.person_attempts(current_actor(), user)
    return render_template("reports/person.html", person=user, attempts=found)
