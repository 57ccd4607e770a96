"""Unit compliance under /records/compliance: who meets each requirement and who is behind
on what, for a unit subtree and a year, and its export."""

import io

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user

from core import clock
from core.audit import record
from core.forms import choices
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor, page_arg
from training import units
from training.records import compliance as checks
from training.records.forms import ComplianceFilterForm

bp = Blueprint("compliance", __name__, url_prefix="/records/compliance")

admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)
#: people behind shown a page (the export has everyone)
PER_PAGE = 100


def _filters() -> ComplianceFilterForm:
    form = ComplianceFilterForm(request.args)
    form.unit.choices = choices([(0, "我管理的全部单位"), *units.unit_choices(current_user)])
    if not form.validate():
        form.unit.data, form.year.data = 0, None
    return form


@bp.get("/")
@admin_required
def page():
    form = _filters()
    year = form.year.data or clock.china_today().year
    form.year.data = year
    report = checks.compliance(current_user, form.unit.data or None, year)
    # A look at other people's progress, as a record view is (review finding F5).
    record(
        current_actor(),
        "records.compliance.view",
        object_type="unit",
        object_id=form.unit.data or "",
        summary=f"{report.year} 年，{len(report.rows)} 人",
        detail={"people": len(report.rows)},
    )
    behind = report.behind_rows
    pages = max(1, -(-len(behind) // PER_PAGE))
    page = min(page_arg(), pages)
    return render_template(
        "records/compliance.html",
        form=form,
        report=report,
        behind=behind[(page - 1) * PER_PAGE : page * PER_PAGE],
        page=page,
        pages=pages,
    )


@bp.get("/export")
@admin_required
def export():
    form = _filters()
    report = checks.compliance(current_user, form.unit.data or None, form.year.data)
    record(
        current_actor(),
        "records.compliance.export",
        object_type="unit",
        object_id=form.unit.data or "",
        summary=f"{report.year} 年，{len(report.rows)} 人",
    )
    return send_file(
        io.BytesIO(checks.export_compliance(report)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"学法要求完成情况_{report.year}.xlsx",
    )
