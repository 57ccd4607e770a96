"""Input no view should see: NUL bytes anywhere, JSON too deep or too big. Run against
PostgreSQL too (TEST_DATABASE_URL): there a NUL reaching a query was a 500."""

import io
import json
import pathlib
import re

import pytest
from sqlalchemy import func, select
from wtforms.validators import NumberRange

from core.audit import AuditEntry
from core.extensions import db
from core.forms import FiniteDecimalField, Form
from core.input import NUL_MESSAGE, json_depth
from core.roles import Role
from training.models import Unit

JSON = {"Accept": "application/json"}


def _refused_page(response) -> None:
    assert response.status_code == 400, response.text
    assert NUL_MESSAGE in response.text


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_nul_in_the_login_form_is_a_400_and_records_nothing(client, make_user):
    make_user(login="admin")
    before = _count(AuditEntry)
    _refused_page(client.post("/login", data={"login": "ad\x00min", "password": "x\x00"}))
    assert _count(AuditEntry) == before


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.SYSTEM_ADMIN, "/admin/users?q=%E5%BC%A0%00"),
        (Role.SYSTEM_ADMIN, "/admin/users?unit_id=1&q%00=x"),
        (Role.TRAINER, "/bank/?q=%00"),
        (Role.SYSTEM_ADMIN, "/manage/batches/1?q=a%00b"),
        (Role.AUDITOR, "/audit/?actor=%00"),
    ],
)
def test_a_nul_in_any_search_box_is_a_400(client, login_as, role, url):
    login_as(role)
    _refused_page(client.get(url))


def test_a_nul_in_a_unit_name_is_a_400_and_creates_nothing(client, login_as):
    login_as(Role.SYSTEM_ADMIN)
    before = _count(Unit)
    _refused_page(client.post("/admin/units", data={"name": "法制\x00科", "parent_id": "0"}))
    assert _count(Unit) == before


def test_a_nul_in_the_path_or_an_upload_name_is_a_400(client, login_as):
    login_as(Role.TRAINER)
    _refused_page(client.post("/bank/import/abc%00def", data={"duplicates": "skip"}))
    upload = (io.BytesIO("题干,答案\n".encode()), "题库\x00.csv")
    _refused_page(client.post("/bank/import", data={"file": upload, "format": "csv"}))


def _save(client, body: bytes):
    return client.post(
        "/attempts/1/answers", data=body, content_type="application/json", headers=JSON
    )


def test_a_nul_in_json_is_a_400_in_json(client, login_as):
    login_as()
    response = _save(client, b'{"item_id": 1, "answer": ["a\\u0000"], "seq": 1}')
    assert response.status_code == 400
    assert response.json == {"error": "nul_character", "message": NUL_MESSAGE}
    keyed = _save(client, b'{"item_id": 1, "answer": [], "seq": 1, "\\u0000": 1}')
    assert keyed.status_code == 400 and keyed.json["error"] == "nul_character"


def test_an_escaped_backslash_before_u0000_is_no_nul(client, login_as):
    login_as()
    # The text \u0000 itself (a backslash, then "u0000"): the view sees it and answers 404
    # for an attempt that does not exist.
    response = _save(client, b'{"item_id": 1, "answer": ["\\\\u0000"], "seq": 1}')
    assert response.status_code == 404 and response.json["error"] == "not_found"


@pytest.mark.parametrize("depth", [21, 30_000])
def test_deeply_nested_json_is_a_400(client, login_as, depth):
    login_as()
    response = _save(client, b"[" * depth + b"]" * depth)
    assert response.status_code == 400
    assert response.json == {"error": "too_deep", "message": "请求内容嵌套过深（最多 20 层）。"}


def test_json_nested_within_the_limit_reaches_the_view(client, login_as):
    login_as()
    response = _save(client, b"[" * 20 + b"]" * 20)
    assert response.status_code == 400 and response.json["error"] == "invalid_answer"


def test_oversized_json_is_a_413_in_chinese(client, login_as):
    login_as()
    body = json.dumps({"item_id": 1, "answer": ["字" * 30_000], "seq": 1}).encode()
    assert len(body) > 64 * 1024
    response = _save(client, body)
    assert response.status_code == 413
    assert response.json == {"error": "too_large", "message": "请求内容不能超过 64 KB。"}


def test_oversized_json_without_a_length_is_a_413(client, login_as):
    login_as()
    body = b'{"answer": ["' + b"x" * 70_000 + b'"]}'
    response = client.post(
        "/attempts/1/answers",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers=JSON,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and response.json["error"] == "too_large"


def test_json_depth_skips_brackets_in_strings():
    assert json_depth(b'{"a": "[[[{{{", "b": [1, {"c": "\\"]]"}]}') == 3
    assert json_depth(b"[]") == 1 and json_depth(b"1") == 0


@pytest.mark.parametrize("typed", ["sNaN", "NaN", "-Infinity", "inf"])
def test_a_number_field_takes_no_nan_or_infinity(app, typed):
    """WTForms reads `sNaN` as a Decimal and NumberRange then raised (a 500)."""

    class Hours(Form):
        hours = FiniteDecimalField(validators=[NumberRange(min=0, max=100)])

    with app.test_request_context(method="POST", data={"hours": typed}):
        form = Hours(meta={"csrf": False})
        assert not form.validate()
        assert "请输入数字。" in form.hours.errors


def test_every_decimal_field_is_the_finite_one():
    """One way: a form that takes wtforms' DecimalField directly would take sNaN again."""
    root = pathlib.Path(__file__).resolve().parents[1]
    direct = [
        str(path.relative_to(root))
        for package in ("core", "training", "question_bank")
        for path in (root / package).rglob("*.py")
        if path != root / "core" / "forms.py"
        and re.search(r"(?<!Finite)DecimalField\(", path.read_text(encoding="utf-8"))
    ]
    assert direct == []
