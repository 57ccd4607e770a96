"""The auditor's read-only view of the audit log."""

from flask import Blueprint, render_template, request

from core.audit import action_labels, object_labels, query_entries
from core.clock import china_day_bounds
from core.extensions import db
from core.forms import choices
from core.roles import Role, role_required
from training.forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@role_required(Role.AUDITOR)
def log():
    form = AuditFilterForm(request.args)
    form.action.choices = choices([("", "全部"), *action_labels().items()])
    form.object_type.choices = choices([("", "全部"), *object_labels().items()])
    filters = {}
    if form.validate():
        filters = {
            "actor_login": (form.actor.data or "").strip(),
            "action": form.action.data or "",
            "object_type": form.object_type.data or "",
            "since": china_day_bounds(form.since.data)[0] if form.since.data else None,
            "until": china_day_bounds(form.until.data)[1] if form.until.data else None,
        }
    page = db.paginate(query_entries(**filters), per_page=50, error_out=False)
    return render_template("audit/log.html", form=form, page=page)
