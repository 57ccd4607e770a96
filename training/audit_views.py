"""The auditor's read-only view of the audit log, and its export; both are audited."""

import io

from flask import Blueprint, abort, render_template, request, send_file

from core import audit, clock
from core.extensions import db
from core.forms import EmptyForm, choices
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor, page_arg
from training.forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50


def _filter_form() -> tuple[AuditFilterForm, audit.Filters | None]:
    """The filters in the query string; None when one of them is malformed."""
    form = AuditFilterForm(request.args)
    form.action.choices = choices([("", "全部"), *audit.action_labels().items()])
    form.object_type.choices = choices([("", "全部"), *audit.object_labels().items()])
    if not form.validate():
        return form, None
    return form, audit.Filters(
        actor_login=(form.actor.data or "").strip(),
        action=form.action.data or "",
        object_type=form.object_type.data or "",
        since=form.since.data,
        until=form.until.data,
    )


@bp.route("/")
@role_required(Role.AUDITOR)
def log():
    form, filters = _filter_form()
    filters = filters or audit.Filters()  # the form shows what is wrong; the page, all
    page = db.paginate(
        audit.query_entries(filters), per_page=PER_PAGE, page=page_arg(), error_out=False
    )
    audit.record_search(current_actor(), filters, page.page, page.total)
    return render_template(
        "audit/log.html", form=form, page=page, export_form=EmptyForm(formdata=None)
    )


@bp.route("/export", methods=["POST"])
@role_required(Role.AUDITOR)
def export():
    if not EmptyForm().validate_on_submit():
        abort(400)
    _form, filters = _filter_form()
    if filters is None:
        raise audit.AuditError("筛选条件有误，请改正后再导出。")
    data = audit.export_entries(current_actor(), filters)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"审计日志{clock.china_today():%Y%m%d}.xlsx",
    )
