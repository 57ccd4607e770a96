"""The one service error and the one way it, and every app-wide error, reaches the user.

Services raise ServiceError (or a domain subclass); the request transaction has rolled back
by the time a handler here runs. JSON clients get `{"error": code, "message": 中文}`; pages
get the message flashed, or shown by the form's fields when a view re-renders the form.
"""

from urllib.parse import urlsplit

from flask import Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from core.extensions import db
from core.forms import EmptyForm
from core.roles import wants_json


class ServiceError(Exception):
    """A rule was broken; `message` (and each of `fields`) is Chinese, shown as is.

    `fields` maps form field names to their own messages; `code` is the machine code JSON
    clients branch on; `status` the HTTP status it answers with. Subclasses set defaults.
    """

    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


def json_error(status: int, code: str, message: str, **extra):
    """The one JSON error shape."""
    return jsonify(error=code, message=message, **extra), status


def show_error(error: ServiceError, form=None) -> None:
    """For a view that carries on after a ServiceError (re-renders its form, redirects to
    its own page): undo the request's changes and show the messages, each field's message
    by that field of `form` when it has one, every other one flashed."""
    db.session.rollback()
    if not error.fields:
        flash(error.message, "danger")
    unplaced = form.attach_errors(error.fields) if form is not None else error.fields.values()
    for message in unplaced:
        flash(message, "danger")


def button_action(action, done: str, back: str, page=None):
    """The request of a POST button (an EmptyForm; 400 without its CSRF token): run
    `action()`, then flash `done`, or show the ServiceError it raised; either way go `back`.
    With `page`, a success is answered by `page(result of the action)` instead."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        result = action()
    except ServiceError as error:
        show_error(error)
        return redirect(back)
    if page is not None:
        return page(result)
    flash(done, "success")
    return redirect(back)


def _back() -> str:
    """The page the request came from when it is one of ours, else the home page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if target != request.full_path.rstrip("?") or request.method != "GET":
            return target
    return url_for("main.home")


def handle_service_error(error: ServiceError):
    if wants_json():
        extra = {"fields": error.fields} if error.fields else {}
        return json_error(error.status, error.code, error.message, **extra)
    show_error(error)
    return redirect(_back())


#: status: (machine code, page title, message)
HTTP_ERRORS = {
    400: ("bad_request", "请求无效", "请求的内容不完整或格式不正确。"),
    403: ("forbidden", "无权访问", "您没有访问此页面的权限。如需开通，请联系单位管理员。"),
    404: ("not_found", "页面不存在", "您访问的页面不存在或已被删除。"),
    405: ("method_not_allowed", "请求方式不正确", "该页面不支持此操作。"),
    413: ("too_large", "文件过大", "上传的文件超过 20 MB。"),
    429: ("rate_limited", "操作过于频繁", "请求过于频繁，请稍后再试。"),
    500: ("server_error", "服务器错误", "服务器出现错误，请稍后重试。问题已记录。"),
}


def error_response(status: int, code: str | None = None, message: str | None = None):
    """An app-wide error as JSON for JSON clients, else as the error page."""
    default_code, title, default_message = HTTP_ERRORS[status]
    code, message = code or default_code, message or default_message
    if wants_json():
        return json_error(status, code, message)
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ServiceError, handle_service_error)
    for status in HTTP_ERRORS:
        app.register_error_handler(status, lambda error, status=status: error_response(status))
    app.register_error_handler(
        CSRFError,
        lambda error: error_response(
            400, "csrf_failed", "页面已过期或表单校验失败，请刷新页面后重试。"
        ),
    )
