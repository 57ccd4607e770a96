"""Unit assessment (普法考核验收) under /records/assessment/: scorecards, scoring a unit
beside the platform's figures, the results and their export."""

import io
from decimal import Decimal, InvalidOperation

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from core import clock
from core.errors import ServiceError, show_error
from core.extensions import db
from core.forms import choices
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor
from training import units
from training.models import Unit
from training.records import scorecards
from training.records.forms import ScorecardForm
from training.records.models import Scorecard

bp = Blueprint("assessment", __name__, url_prefix="/records/assessment")

# The district assesses its units: a unit admin would be scoring their own.
assessor_required = role_required(Role.SYSTEM_ADMIN)


@bp.route("/", methods=["GET", "POST"])
@assessor_required
def scorecard_list():
    form = ScorecardForm()
    copied = request.args.get("copy", type=int)
    if not form.is_submitted():
        form.year.data = clock.china_today().year
        form.criteria.data = scorecards.EXAMPLE
        if copied and (source := db.session.get(Scorecard, copied)):
            form.title.data = f"{source.title}（修订）"
            form.criteria.data = scorecards.criteria_text(source)
    if form.validate_on_submit():
        try:
            criteria = scorecards.parse_criteria(form.criteria.data)
            found = scorecards.create_scorecard(
                current_actor(), current_user, form.title.data, form.year.data, criteria
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已建立考核表。", "success")
            return redirect(url_for("assessment.scorecard", scorecard_id=found.id))
    return render_template(
        "records/scorecards.html",
        form=form,
        scorecards=scorecards.scorecards(),
        figures=scorecards.FIGURES,
    )


@bp.get("/<int:scorecard_id>")
@assessor_required
def scorecard(scorecard_id: int):
    found = db.get_or_404(Scorecard, scorecard_id)
    unit_id = request.args.get("unit", type=int)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    return render_template(
        "records/scorecard.html",
        scorecard=found,
        unit=unit,
        unit_choices=choices(units.unit_choices()),
        figures=scorecards.figures(unit.id, found.year) if unit else {},
        labels=scorecards.FIGURES,
        scores=scorecards.scores_of(found),
        scored=scorecards.is_scored(found),
        results=scorecards.results(found),
    )


@bp.route("/<int:scorecard_id>/edit", methods=["GET", "POST"])
@assessor_required
def edit(scorecard_id: int):
    found = db.get_or_404(Scorecard, scorecard_id)
    form = ScorecardForm()
    if not form.is_submitted():
        form.title.data, form.year.data = found.title, found.year
        form.criteria.data = scorecards.criteria_text(found)
    if form.validate_on_submit():
        try:
            criteria = scorecards.parse_criteria(form.criteria.data)
            scorecards.edit_scorecard(
                current_actor(), found, form.title.data, form.year.data, criteria
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已保存考核表。", "success")
            return redirect(url_for("assessment.scorecard", scorecard_id=found.id))
    return render_template(
        "records/scorecard_edit.html",
        form=form,
        scorecard=found,
        scored=scorecards.is_scored(found),
        figures=scorecards.FIGURES,
    )


@bp.post("/<int:scorecard_id>/units/<int:unit_id>")
@assessor_required
def score(scorecard_id: int, unit_id: int):
    found = db.get_or_404(Scorecard, scorecard_id)
    unit = db.get_or_404(Unit, unit_id)
    points: dict[int, Decimal | None] = {}
    try:
        for criterion in found.criteria:
            text = request.form.get(f"c{criterion.id}", "").strip()
            try:
                points[criterion.id] = Decimal(text) if text else None
            except InvalidOperation:
                raise scorecards.AssessmentError(f"「{criterion.name}」的得分不是数字。") from None
        scorecards.score_unit(current_actor(), current_user, found, unit, points)
    except ServiceError as error:
        show_error(error)
    else:
        flash(f"已保存 {unit.name} 的评分。", "success")
    return redirect(url_for("assessment.scorecard", scorecard_id=found.id, unit=unit.id))


@bp.get("/<int:scorecard_id>/export")
@assessor_required
def export(scorecard_id: int):
    found = db.get_or_404(Scorecard, scorecard_id)
    return send_file(
        io.BytesIO(scorecards.export_results(current_actor(), found)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"普法考核验收_{found.year}.xlsx",
    )
