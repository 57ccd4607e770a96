"""Request plumbing shared by every blueprint: security headers, idle timeout, actor."""

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from core.audit import Actor, record
from core.errors import json_error
from core.extensions import db
from core.roles import wants_json

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def current_actor() -> Actor:
    ip = request.remote_addr or ""
    if current_user.is_authenticated:
        return Actor(id=current_user.id, login=current_user.login, ip=ip)
    return Actor(id=None, login="anonymous", ip=ip)


def set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def enforce_idle_timeout():
    """Log out a user idle for longer than IDLE_TIMEOUT_MINUTES, server-side."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    now = time.time()
    last_seen = session.get("last_seen", now)
    if now - last_seen <= current_app.config["IDLE_TIMEOUT_MINUTES"] * 60:
        # Rewritten at most once a minute, so most requests (answer saves above all) do
        # not re-sign and resend the session cookie.
        if now - last_seen > 60 or "last_seen" not in session:
            session["last_seen"] = now
        return None
    record(current_actor(), "session.timeout", object_type="user", object_id=current_user.id)
    db.session.commit()  # a hook before the view: outside the request transaction
    logout_user()
    session.clear()
    message = f"您已超过 {current_app.config['IDLE_TIMEOUT_MINUTES']} 分钟未操作，请重新登录。"
    if wants_json():
        return json_error(401, "session_expired", message)
    flash(message, "warning")
    return redirect(url_for("auth.login", next=request.full_path))


def require_password_change():
    """Until a forced password change is done, only that page and logout are reachable."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if request.endpoint in ("static", "auth.change_password", "auth.logout", "healthz"):
        return None
    if wants_json():
        return json_error(403, "password_change_required", "请先修改初始密码")
    return redirect(url_for("auth.change_password"))
