"""Login with CAPTCHA, logout, session limits and password change."""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from core import admission, captcha, clock
from core.audit import Actor, record
from core.errors import json_error, show_error
from core.extensions import db, limiter
from core.forms import EmptyForm
from core.roles import Role, role_required, wants_json
from core.web import current_actor, local_path
from training import accounts, demo, logins, second_factor
from training.forms import (
    ChangePasswordForm,
    DisableSecondFactorForm,
    LoginForm,
    SecondFactorForm,
    SecuritySettingsForm,
)
from training.models import User

bp = Blueprint("auth", __name__)

CAPTCHA_KEY = "login_captcha"
#: a login whose password was right and whose TOTP code is still to come
PENDING_KEY = "login_pending_second_factor"
#: the security admin requires this user to enrol a second factor before anything else
ENROL_KEY = "second_factor_enrol"
SECOND_FACTOR_MINUTES = 5


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _not_told_to_come_back(response) -> bool:
    """A login that admission control answered 503 (come back in N seconds) does not spend
    the address's allowance: a hall behind one NAT address would run out doing as told."""
    return response.status_code != 503


def _login_policy() -> logins.LoginPolicy:
    config = current_app.config
    return logins.LoginPolicy(
        captcha_after=config["LOGIN_CAPTCHA_AFTER"],
        max_failures=config["LOGIN_MAX_FAILURES"],
        lockout_minutes=config["LOGIN_LOCKOUT_MINUTES"],
        password_days_privileged=config["PASSWORD_MAX_AGE_DAYS_PRIVILEGED"],
        password_days=config["PASSWORD_MAX_AGE_DAYS"],
    )


def _session_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


def sign_in(user) -> None:
    """Start a login session for `user` on the server and in the cookie."""
    logins.start_session(user, request.remote_addr or "", clock.now(), _session_lifetime())
    session.clear()
    login_user(user)
    if second_factor.required_for(user) and not user.totp_secret:
        session[ENROL_KEY] = True


def _sign_out(action: str) -> None:
    """End the current login session on the server, so that its cookie is dead too."""
    logins.end_session(current_user.session_token, clock.now())
    record(current_actor(), action, object_type="user", object_id=current_user.id)
    logout_user()
    session.clear()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_not_told_to_come_back)
@admission.costly
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    captcha_required = False
    if form.validate_on_submit():
        outcome = logins.authenticate(
            form.login.data,
            form.password.data,
            request.remote_addr or "",
            _login_policy(),
            challenge=logins.Challenge.from_dict(session.pop(CAPTCHA_KEY, None)),
            typed_captcha=form.captcha.data or "",
        )
        if outcome.user is not None and outcome.user.totp_secret:
            session.clear()
            session[PENDING_KEY] = {
                "user_id": outcome.user.id,
                "version": outcome.user.session_version,
                "failures": logins.recent_failures(
                    outcome.user.login, clock.now(), _login_policy()
                ),
                "started": _clock_seconds(),
                "expired": outcome.password_expired,
                "next": request.args.get("next"),
            }
            return redirect(url_for("auth.second_factor_login"))
        if outcome.user is not None:
            return _finish_login(outcome.user, outcome.password_expired, request.args.get("next"))
        error = outcome.error
        captcha_required = outcome.captcha_required
        if captcha_required:
            challenge = logins.new_challenge(form.login.data, clock.now(), _login_policy())
            session[CAPTCHA_KEY] = challenge.as_dict()
        form.captcha.data = ""
    elif request.method == "GET" and (
        pending := logins.Challenge.from_dict(session.get(CAPTCHA_KEY))
    ):
        captcha_required = True  # "换一张": the same login, a new image
        form.login.data = pending.login
    return render_template(
        "auth/login.html",
        form=form,
        error=error,
        captcha_required=captcha_required,
        demo_site=demo.demo_present(),
    ), 401 if error else 200


def _finish_login(user, password_expired: bool, next_url: str | None):
    sign_in(user)
    if password_expired:
        flash("密码已到期，请设置新密码后继续。", "warning")
        return redirect(url_for("auth.change_password"))
    if user.must_change_password:
        flash("首次登录或密码已被重置，请先设置新密码。", "warning")
        return redirect(url_for("auth.change_password"))
    if session.get(ENROL_KEY):
        flash("安全管理员要求您的角色使用动态口令，请先完成绑定。", "warning")
        return redirect(url_for("auth.totp"))
    return redirect(local_path(next_url, url_for("main.home")))


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_not_told_to_come_back)
@admission.costly
def second_factor_login():
    """The second step of a login with TOTP. One code per password: a wrong code counts as
    a failed login and sends the person back to the password, so codes cannot be guessed
    faster than passwords (and a replayed cookie finds the failure count moved on)."""
    pending = session.get(PENDING_KEY) or {}
    user = db.session.get(User, pending["user_id"]) if "user_id" in pending else None
    policy = _login_policy()
    now = clock.now()
    if (
        user is None
        or not user.is_active
        or not user.totp_secret
        or user.session_version != pending.get("version")
        or _clock_seconds() - pending.get("started", 0) > SECOND_FACTOR_MINUTES * 60
        or logins.recent_failures(user.login, now, policy) != pending.get("failures")
    ):
        session.pop(PENDING_KEY, None)
        flash("登录已失效，请重新输入账号和密码。", "warning")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        actor = Actor(user.id, user.login, request.remote_addr or "")
        session.pop(PENDING_KEY)
        if second_factor.check(actor, user, form.code.data, now):
            logins.forget_failures(user.login)
            return _finish_login(user, pending.get("expired", False), pending.get("next"))
        logins.count_failure(actor, user, now, policy, "动态验证码错误")
        flash("动态验证码不正确，请重新登录。", "danger")
        return redirect(url_for("auth.login"))
    return render_template("auth/second_factor.html", form=form)


@bp.get("/login/captcha.png")
@limiter.limit(_login_rate_limit)
def captcha_image():
    """The image of the CAPTCHA the login page asked for; each request draws a new one."""
    challenge = logins.Challenge.from_dict(session.get(CAPTCHA_KEY))
    if challenge is None:
        abort(404)
    answer = captcha.new_answer()
    session[CAPTCHA_KEY] = {**challenge.as_dict(), "answer": answer}
    response = current_app.response_class(captcha.draw(answer), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        _sign_out("logout")
        flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


def _clock_seconds() -> float:
    """The server clock in seconds since 1970, as the session cookie keeps its times."""
    return clock.epoch_ms(clock.now()) / 1000


def enforce_session_limits():
    """End a session idle for IDLE_TIMEOUT_MINUTES or older than SESSION_LIFETIME_HOURS."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    config = current_app.config
    now = _clock_seconds()
    last_seen = session.get("last_seen", now)
    if now - last_seen > config["IDLE_TIMEOUT_MINUTES"] * 60:
        action = "session.timeout"
        message = f"您已超过 {config['IDLE_TIMEOUT_MINUTES']} 分钟未操作，请重新登录。"
    elif clock.now() - current_user.session_started_at > _session_lifetime():
        action = "session.expired"
        message = f"登录已超过 {config['SESSION_LIFETIME_HOURS']} 小时，请重新登录。"
    else:
        # Rewritten at most once a minute, so most requests (answer saves above all) do
        # not re-sign and resend the session cookie.
        if now - last_seen > 60 or "last_seen" not in session:
            session["last_seen"] = now
        return None
    _sign_out(action)
    db.session.commit()  # a hook before the view: outside the request transaction
    if wants_json():
        return json_error(401, "session_expired", message)
    flash(message, "warning")
    return redirect(url_for("auth.login", next=request.full_path))


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
            sign_in(user)  # the change ended every session, this one too
            flash("密码已修改。", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)


def require_second_factor_enrolment():
    """Until a required second factor is enrolled, only its page (and logout) are reachable.
    Decided at login and kept in the session, so no request pays a query for it."""
    if not session.get(ENROL_KEY) or not current_user.is_authenticated:
        return None
    if request.endpoint in ("static", "auth.totp", "auth.change_password", "auth.logout"):
        return None
    if wants_json():
        return json_error(403, "second_factor_required", "请先绑定动态口令")
    return redirect(url_for("auth.totp"))


def _show_recovery_codes(codes: list[str]):
    flash("请抄下或打印这些恢复码并妥善保管：每个只能用一次，此页关闭后不再显示。", "warning")
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp():
    """Enrol the second factor (QR code, then a code to confirm) or see its state."""
    user = current_user._get_current_object()
    form = SecondFactorForm()
    if user.totp_secret:
        return render_template(
            "auth/totp.html",
            form=form,
            disable_form=DisableSecondFactorForm(),
            unused=second_factor.unused_recovery_codes(user),
            required=second_factor.required_for(user),
        )
    secret = session.get("totp_pending_secret") or second_factor.new_secret()
    session["totp_pending_secret"] = secret
    if form.validate_on_submit():
        try:
            codes = second_factor.enable(current_actor(), user, secret, form.code.data, clock.now())
        except second_factor.SecondFactorError as error:
            show_error(error)
        else:
            session.pop("totp_pending_secret")
            session.pop(ENROL_KEY, None)
            return _show_recovery_codes(codes)
    return render_template(
        "auth/totp_enrol.html",
        form=form,
        qr=second_factor.qr_data_uri(user, secret),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


@bp.post("/account/totp/recovery-codes")
@login_required
def totp_recovery_codes():
    user = current_user._get_current_object()
    form = SecondFactorForm()
    if form.validate_on_submit() and user.totp_secret:
        codes = second_factor.regenerate_recovery_codes(
            current_actor(), user, form.code.data, clock.now()
        )
        return _show_recovery_codes(codes)
    return redirect(url_for("auth.totp"))


@bp.post("/account/totp/disable")
@login_required
def totp_disable():
    user = current_user._get_current_object()
    form = DisableSecondFactorForm()
    if form.validate_on_submit() and user.totp_secret:
        second_factor.disable(
            current_actor(), user, form.password.data, form.code.data, clock.now()
        )
        flash("动态口令已关闭。", "info")
    return redirect(url_for("auth.totp"))


@bp.route("/security/settings", methods=["GET", "POST"])
@role_required(Role.SECURITY_ADMIN)
def security_settings():
    form = SecuritySettingsForm()
    if form.validate_on_submit():
        second_factor.set_required(current_actor(), form.totp_required.data)
        flash("安全设置已保存。", "success")
        return redirect(url_for("auth.security_settings"))
    form.totp_required.data = second_factor.required()
    return render_template("auth/security_settings.html", form=form)
