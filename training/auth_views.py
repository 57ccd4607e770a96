"""Login, logout and password change."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from core.audit import record
from core.errors import show_error
from core.extensions import limiter
from core.forms import EmptyForm
from core.web import current_actor
from training import accounts
from training.forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__)


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        outcome = accounts.authenticate(
            form.login.data,
            form.password.data,
            request.remote_addr or "",
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"],
        )
        if outcome.user is not None:
            session.clear()
            login_user(outcome.user)
            if outcome.user.must_change_password:
                flash("首次登录或密码已被重置，请先设置新密码。", "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
        error = outcome.error
    return render_template("auth/login.html", form=form, error=error), 200 if not error else 401


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        record(current_actor(), "logout", object_type="user", object_id=current_user.id)
        logout_user()
        session.clear()
        flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_actor(), user, form.current.data, form.new.data)
        except accounts.AccountError as error:
            show_error(error)
        else:
            login_user(user)  # the session id includes the bumped session_version
            flash("密码已修改。", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)
