"""Administration: the unit tree, users and the bulk user import."""

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from core import uploads
from core.errors import button_action, show_error
from core.extensions import db
from core.forms import EmptyForm, choices
from core.roles import ROLE_LABELS, Role, role_required
from core.spreadsheets import XLSX_MIMETYPE
from core.web import current_actor, page_arg
from training import accounts, units, user_import
from training.forms import (
    RenameUnitForm,
    RolesForm,
    UnitForm,
    UserFilterForm,
    UserForm,
    UserImportForm,
)
from training.models import Unit, User, subtree_ids, users_matching

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)
# The security admin finds people to grant roles to and to unlock; accounts are the others'.
list_required = role_required(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN, Role.SECURITY_ADMIN)
grant_required = role_required(Role.SECURITY_ADMIN, Role.UNIT_ADMIN)
IMPORT_PREVIEW_ROWS = 500


def get_user_or_404(user_id: int) -> User:
    """Someone outside the admin's units answers as if there were nobody: the same 404 as a
    user id that does not exist, so ids and names do not leak."""
    user = db.session.get(User, user_id)
    if user is None or not accounts.can_manage_unit(current_user, user.unit_id):
        abort(404)
    return user


def get_unit_or_404(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or not accounts.can_manage_unit(current_user, unit.id):
        abort(404)
    return unit


# --- units -------------------------------------------------------------------------


@bp.route("/units")
@admin_required
def unit_tree():
    form = UnitForm()
    form.parent_id.choices = choices(_parent_choices())
    return render_template(
        "admin/units.html",
        rows=units.tree_rows(current_user),
        form=form,
        rename_form=RenameUnitForm(),
        button_form=EmptyForm(),
    )


def _parent_choices() -> list[tuple[int, str]]:
    top = [(0, "（顶级单位）")] if accounts.manageable_unit_ids(current_user) is None else []
    return top + units.unit_choices(current_user)


@bp.route("/units", methods=["POST"])
@admin_required
def create_unit():
    form = UnitForm()
    form.parent_id.choices = choices(_parent_choices())
    if form.validate_on_submit():
        try:
            unit = units.create_unit(
                current_actor(), current_user, form.name.data, form.parent_id.data or None
            )
        except accounts.AccountError as error:
            show_error(error)
        else:
            flash(f"已新建单位「{unit.path}」。", "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("admin.unit_tree"))


@bp.route("/units/<int:unit_id>/rename", methods=["POST"])
@admin_required
def rename_unit(unit_id: int):
    unit = get_unit_or_404(unit_id)
    form = RenameUnitForm()
    if form.validate_on_submit():
        try:
            units.rename_unit(current_actor(), current_user, unit, form.name.data)
        except accounts.AccountError as error:
            show_error(error)
        else:
            flash("单位名称已修改。", "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("admin.unit_tree"))


@bp.route("/units/<int:unit_id>/delete", methods=["POST"])
@admin_required
def delete_unit(unit_id: int):
    unit = get_unit_or_404(unit_id)
    if EmptyForm().validate_on_submit():
        try:
            units.delete_unit(current_actor(), current_user, unit)
        except accounts.AccountError as error:
            show_error(error)
        else:
            flash("单位已删除。", "success")
    return redirect(url_for("admin.unit_tree"))


# --- users -------------------------------------------------------------------------


@bp.route("/users")
@list_required
def user_list():
    form = UserFilterForm(request.args)
    form.unit_id.choices = choices([(0, "全部单位"), *units.unit_choices(current_user)])
    stmt = select(User).order_by(User.unit_id, User.id)
    scope = accounts.manageable_unit_ids(current_user)
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    query = {}
    if form.validate():
        query = {"q": (form.q.data or "").strip(), "unit_id": form.unit_id.data}
        if form.q.data:
            stmt = stmt.where(users_matching(form.q.data))
        if form.unit_id.data:
            stmt = stmt.where(User.unit_id.in_(subtree_ids(form.unit_id.data)))
    page = db.paginate(stmt, per_page=50, page=page_arg(), error_out=False)
    accounts.record_user_list(current_actor(), query, page.items)
    return render_template(
        "admin/users.html",
        page=page,
        form=form,
        button_form=EmptyForm(),
        acts=accounts.allowed_acts(current_user, page.items),
        Act=accounts.Act,
        can_create=current_user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN),
    )


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user) if request.method == "GET" and user else UserForm()
    form.unit_id.choices = choices(units.unit_choices(current_user))
    if user is None:
        form.roles.choices = choices(
            (role.value, role.label) for role in accounts.grantable_roles(current_user)
        )
        if request.method == "GET":
            form.roles.data = [Role.LEARNER.value]
    else:
        # Roles change on their own page (set_roles), by those who grant them.
        del form["roles"]
        if request.method == "GET":
            form.phone.data = form.id_number.data = ""
    return form


def _user_data(form: UserForm, user: User | None) -> accounts.UserData:
    return accounts.UserData(
        login=form.login.data.strip(),
        name=form.name.data.strip(),
        unit_id=form.unit_id.data,
        position=form.position.data or "",
        is_leader=form.is_leader.data,
        is_enforcement_officer=form.is_enforcement_officer.data,
        phone=(form.phone.data or "").strip() or (user.phone if user else ""),
        id_number=(form.id_number.data or "").strip() or (user.id_number if user else ""),
        roles=frozenset(user.roles) if user else frozenset(Role(v) for v in form.roles.data or []),
    )


FORM_FIELDS = ("login", "name", "unit_id", "phone", "id_number", "roles")


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def create_user():
    form = _user_form()
    if form.validate_on_submit():
        data = _user_data(form, None)
        errors = accounts.check_user_data(current_user, data)
        if not errors:
            user, password = accounts.create_user(current_actor(), current_user, data)
            return render_template("admin/credentials.html", credentials=[(user, password)])
        form.attach_errors(errors)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = get_user_or_404(user_id)
    accounts.require(current_user, user, accounts.Act.EDIT)
    form = _user_form(user)
    if form.validate_on_submit():
        data = _user_data(form, user)
        errors = accounts.check_user_data(current_user, data, existing=user)
        if not errors:
            accounts.update_user(current_actor(), current_user, user, data)
            flash(f"已保存「{user.name}」的信息。", "success")
            return redirect(url_for("admin.user_list"))
        form.attach_errors(errors)
    elif request.method == "GET":
        accounts.record_user_view(current_actor(), user)
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/roles", methods=["GET", "POST"])
@grant_required
def user_roles(user_id: int):
    user = get_user_or_404(user_id)
    accounts.require(current_user, user, accounts.Act.GRANT)
    form = RolesForm()
    if not form.is_submitted():
        form.roles.data = [role.value for role in user.roles]
    form.roles.choices = choices(
        (role.value, role.label) for role in accounts.grantable_roles(current_user)
    )
    if form.validate_on_submit():
        try:
            accounts.set_roles(
                current_actor(),
                current_user,
                user,
                frozenset(Role(value) for value in form.roles.data or []),
            )
        except accounts.AccountError as error:
            show_error(error, form)
        else:
            flash(f"已保存「{user.name}」的角色。", "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/roles.html", form=form, user=user)


def _user_action(user_id: int, action, done: str):
    user = get_user_or_404(user_id)
    return button_action(
        lambda: action(current_actor(), current_user, user),
        done.format(name=user.name),
        url_for("admin.user_list"),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admin_required
def deactivate_user(user_id: int):
    return _user_action(
        user_id, lambda a, admin, u: accounts.set_active(a, admin, u, False), "已停用「{name}」。"
    )


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@admin_required
def activate_user(user_id: int):
    return _user_action(
        user_id, lambda a, admin, u: accounts.set_active(a, admin, u, True), "已启用「{name}」。"
    )


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    user = get_user_or_404(user_id)
    return button_action(
        lambda: accounts.reset_password(current_actor(), current_user, user),
        "",
        url_for("admin.user_list"),
        page=lambda password: render_template(
            "admin/credentials.html", credentials=[(user, password)]
        ),
    )


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@grant_required
def unlock_user(user_id: int):
    return _user_action(user_id, accounts.unlock, "已解除「{name}」的锁定。")


# --- import ------------------------------------------------------------------------


def _import_page(form, check=None, token: str | None = None, failed: bool = False):
    page = render_template(
        "admin/import.html",
        form=form,
        check=check,
        token=token,
        failed=failed,
        preview_rows=check.rows[:IMPORT_PREVIEW_ROWS] if check else [],
        confirm_form=EmptyForm(formdata=None),
        columns=user_import.COLUMNS + user_import.OPTIONAL_COLUMNS,
        role_labels=ROLE_LABELS,
    )
    return page, 400 if check and check.errors else 200


@bp.route("/users/import", methods=["GET", "POST"])
@admin_required
def import_users():
    form = UserImportForm()
    if not form.validate_on_submit():
        return _import_page(form)
    upload = form.file.data
    filename = uploads.base_name(upload.filename, "用户导入.xlsx")
    check, token = user_import.preview(current_user, filename, upload.read())
    return _import_page(form, check, token)


@bp.route("/users/import/<token>", methods=["POST"])
@admin_required
def confirm_import(token: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    check, created = user_import.confirm(current_actor(), current_user, token)
    if created is None:
        return _import_page(UserImportForm(formdata=None), check, failed=True)
    return render_template("admin/credentials.html", credentials=created)


@bp.route("/users/import/template.xlsx")
@admin_required
def import_template():
    return send_file(
        io.BytesIO(user_import.template_workbook()),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="用户导入模板.xlsx",
    )


def _flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
