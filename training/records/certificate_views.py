"""Enforcement certificates under /records/certificates/: the register, issuing on a passed
exam, renewal, yearly review, suspension and revocation, the due list and the import."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from core import clock
from core.errors import ServiceError, show_error
from core.extensions import db
from core.roles import Role, role_required
from core.spreadsheets import XLSX_MIMETYPE, Sheet, write_xlsx
from core.web import current_actor
from training.accounts import UNKNOWN_PERSON, managed_person
from training.records import certificates
from training.records.certificates import CertificateData, Policy
from training.records.forms import (
    CertificateForm,
    CertificatePolicyForm,
    CertificateReviewForm,
    ImportForm,
    ReasonForm,
    RenewForm,
)
from training.records.models import Certificate
from training.records.record import can_view

bp = Blueprint("certificates", __name__, url_prefix="/records/certificates")

admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)


@bp.get("/")
@admin_required
def register():
    keyword = request.args.get("q", "")[:40]
    return render_template(
        "records/certificates.html",
        rows=certificates.register(current_user, keyword),
        status_of=certificates.current_status,
        keyword=keyword,
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def issue():
    form = CertificateForm()
    if not form.is_submitted():
        form.issued_on.data = clock.china_today()
    if form.validate_on_submit():
        holder = managed_person(current_user, form.login.data)
        try:
            if holder is None:
                raise certificates.CertificateError(
                    UNKNOWN_PERSON, fields={"login": UNKNOWN_PERSON}
                )
            data = CertificateData(
                form.number.data, form.field.data, form.authority.data, form.issued_on.data
            )
            found = certificates.issue(current_actor(), current_user, holder, data)
        except ServiceError as error:
            show_error(error, form)
        else:
            flash(f"已发证，有效期至 {found.valid_until}。", "success")
            return redirect(url_for("certificates.detail", certificate_id=found.id))
    return render_template("records/certificate_form.html", form=form)


def _certificate_or_404(certificate_id: int) -> Certificate:
    found = db.get_or_404(Certificate, certificate_id)
    if not can_view(current_user, found.holder):
        abort(404)
    return found


@bp.get("/<int:certificate_id>")
@login_required
def detail(certificate_id: int):
    found = _certificate_or_404(certificate_id)
    certificates.view(current_actor(), current_user, found)
    return render_template(
        "records/certificate.html",
        certificate=found,
        status=certificates.current_status(found),
        manage=certificates.is_admin(current_user) and found.user_id != current_user.id,
        review_form=CertificateReviewForm(year=clock.china_today().year - 1),
        reason_form=ReasonForm(),
        renew_form=RenewForm(),
        window_opens=certificates.window_opens(
            found.valid_until, certificates.policy().renewal_months
        ),
    )


def _act(certificate_id: int, form, action, done: str):
    found = _certificate_or_404(certificate_id)
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "danger")
    else:
        try:
            result = action(found)
        except ServiceError as error:
            show_error(error)
        else:
            flash(done, "success")
            if isinstance(result, Certificate):
                return redirect(url_for("certificates.detail", certificate_id=result.id))
    return redirect(url_for("certificates.detail", certificate_id=found.id))


@bp.post("/<int:certificate_id>/review")
@admin_required
def review(certificate_id: int):
    form = CertificateReviewForm()
    return _act(
        certificate_id,
        form,
        lambda found: certificates.review(
            current_actor(), current_user, found, form.year.data, form.remark.data or ""
        ),
        "审验通过。",
    )


@bp.post("/<int:certificate_id>/suspend")
@admin_required
def suspend(certificate_id: int):
    form = ReasonForm()
    return _act(
        certificate_id,
        form,
        lambda found: certificates.suspend(
            current_actor(), current_user, found, form.reason.data or ""
        ),
        "已暂扣。",
    )


@bp.post("/<int:certificate_id>/restore")
@admin_required
def restore(certificate_id: int):
    return _act(
        certificate_id,
        ReasonForm(),
        lambda found: certificates.lift_suspension(current_actor(), current_user, found),
        "已恢复有效。",
    )


@bp.post("/<int:certificate_id>/revoke")
@admin_required
def revoke(certificate_id: int):
    form = ReasonForm()
    return _act(
        certificate_id,
        form,
        lambda found: certificates.revoke(
            current_actor(), current_user, found, form.reason.data or ""
        ),
        "已注销。",
    )


@bp.post("/<int:certificate_id>/renew")
@admin_required
def renew(certificate_id: int):
    form = RenewForm()
    return _act(
        certificate_id,
        form,
        lambda found: certificates.renew(current_actor(), current_user, found, form.number.data),
        "已换发新证。",
    )


@bp.get("/due")
@admin_required
def due():
    return render_template(
        "records/certificates_due.html", rows=certificates.due_list(current_user)
    )


@bp.get("/due.xlsx")
@admin_required
def export_due():
    data = certificates.export_due(current_actor(), current_user)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"执法证到期清单_{clock.china_today()}.xlsx",
    )


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_holders():
    form = ImportForm()
    errors = []
    if form.validate_on_submit():
        result = certificates.import_holders(current_actor(), current_user, form.file.data.read())
        if result.errors:
            db.session.rollback()
            errors = result.errors
        else:
            flash(f"已导入 {result.imported} 张执法证。", "success")
            return redirect(url_for("certificates.register"))
    return render_template(
        "records/certificate_import.html",
        form=form,
        errors=errors,
        columns=certificates.IMPORT_COLUMNS,
    )


@bp.get("/import/template.xlsx")
@admin_required
def import_template():
    data = write_xlsx(
        [
            Sheet(
                "执法证",
                list(certificates.IMPORT_COLUMNS),
                [
                    [
                        "示例-0001",
                        "zhangsan",
                        "张三",
                        "市场监管",
                        "示范市人民政府",
                        "2024-05-01",
                        "2029-04-30",
                    ]
                ],
                widths=[18, 14, 10, 14, 20, 12, 12],
            )
        ]
    )
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="执法证导入模板.xlsx",
    )


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.SYSTEM_ADMIN)
def settings():
    form = CertificatePolicyForm()
    if not form.is_submitted():
        current = certificates.policy()
        form.validity_years.data = current.validity_years
        form.renewal_months.data = current.renewal_months
        form.review_needs_exam.data = current.review_needs_exam
    if form.validate_on_submit():
        try:
            certificates.save_policy(
                current_actor(),
                Policy(
                    form.validity_years.data, form.renewal_months.data, form.review_needs_exam.data
                ),
            )
        except ServiceError as error:
            show_error(error, form)
        else:
            flash("已保存，对此后发放和换发的证件适用。", "success")
            return redirect(url_for("certificates.settings"))
    return render_template("records/certificate_settings.html", form=form)
