"""Request plumbing shared by every blueprint: security headers, forced password change,
actor, audited refusals."""

from urllib.parse import urlsplit

from flask import current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from core.audit import Actor, anonymous, record
from core.errors import error_response, json_error
from core.extensions import db
from core.roles import wants_json

REFUSALS = {403: "request.refused", 429: "request.rate_limited"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def current_actor() -> Actor:
    ip = request.remote_addr or ""
    if current_user.is_authenticated:
        return Actor(id=current_user.id, login=current_user.login, ip=ip)
    return anonymous(ip)


#: no list is read past this page; a larger ?page= (one past 64 bits made the OFFSET
#: overflow) shows the last one there is
MAX_PAGE = 10_000


def page_arg(name: str = "page") -> int:
    """The page a list was asked for: 1 to MAX_PAGE, 1 when missing or not a number."""
    return min(max(request.args.get(name, 1, type=int), 1), MAX_PAGE)


def local_path(target: str | None, default: str) -> str:
    """`target` when it is a path on this site (never another host, even spelt `//host` or
    `/\\host`), else `default`: for a redirect to where the user came from."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


def set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Every page may show personal data. Not decided by current_user: after a rollback
    # (a database outage mid-request) reading it would query the database again here.
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def require_password_change():
    """Until a forced password change is done, only that page and logout are reachable."""
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if request.endpoint in ("static", "auth.change_password", "auth.logout", "healthz"):
        return None
    if wants_json():
        return json_error(403, "password_change_required", "请先修改初始密码")
    return redirect(url_for("auth.change_password"))


def refuse(error):
    """A 403 or 429 answers as every error does, and goes to the audit log: who was refused
    which route. The request's own changes are undone first; the entry commits alone."""
    db.session.rollback()
    try:
        record(
            current_actor(),
            REFUSALS[error.code],
            detail={"method": request.method, "path": request.path},
        )
        db.session.commit()
    except SQLAlchemyError:  # the database is down: still refuse, say so in the log
        db.session.rollback()
        current_app.logger.warning("refusal not audited: %s %s", request.method, request.path)
    return error_response(error.code)
