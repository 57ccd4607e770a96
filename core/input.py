"""Input that no view should ever see, refused before any view runs.

PostgreSQL refuses text containing NUL, so a NUL byte anywhere a view might pass on (the
path, query arguments, form fields, upload names, JSON strings) is answered with a 400 in
Chinese instead of a database error. JSON bodies are bounded in size and nesting before
they are parsed: Python's parser recurses once per level.
"""

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.errors import error_response

NUL = "\x00"
NUL_MESSAGE = "提交的内容含有不允许的空字符（NUL），请删除后重试。"
FORM_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _pairs_have_nul(pairs) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(NUL in key or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings aside)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _too_large(limit: int):
    return error_response(413, "too_large", f"请求内容不能超过 {limit // 1024} KB。")


def _check_json():
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    request.max_content_length = limit  # a body sent in chunks has no Content-Length
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return _too_large(limit)
    # Brackets bound the depth from above: most bodies need no scan at all.
    max_depth = current_app.config["MAX_JSON_DEPTH"]
    if data.count(b"[") + data.count(b"{") > max_depth and json_depth(data) > max_depth:
        return error_response(400, "too_deep", f"请求内容嵌套过深（最多 {max_depth} 层）。")
    # A NUL can only come from the escape \u0000: raw control characters are invalid JSON.
    if b"\\u0000" in data and _json_has_nul(request.get_json(silent=True)):
        return error_response(400, "nul_character", NUL_MESSAGE)
    return None


def refuse_unsafe_input():
    """A before-request hook: None lets the request through, else the error response."""
    if NUL in request.path or _pairs_have_nul(request.args.items(multi=True)):
        return error_response(400, "nul_character", NUL_MESSAGE)
    if request.is_json:
        return _check_json()
    if request.method in FORM_METHODS:
        names = ((key, upload.filename or "") for key, upload in request.files.items(multi=True))
        if _pairs_have_nul(request.form.items(multi=True)) or _pairs_have_nul(names):
            return error_response(400, "nul_character", NUL_MESSAGE)
    return None
