"""The one service error, the one request transaction and the one JSON error shape."""

import pytest
from flask import abort, get_flashed_messages, request
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from wtforms import StringField

from core.audit import AuditEntry
from core.errors import HTTP_ERRORS, ServiceError, show_error
from core.extensions import db
from core.forms import Form
from core.roles import Role
from core.transaction import own_transaction
from question_bank.bank import BankError
from tests.factories import make_exam, take
from training.accounts import AccountError
from training.exams.assembly import BlueprintError
from training.exams.attempts import ExamError
from training.exams.setup import SetupError
from training.models import Unit

JSON = {"Accept": "application/json"}


def _unit_names() -> list[str]:
    db.session.rollback()  # read what is committed, not what this test's session holds
    return list(db.session.scalars(select(Unit.name).order_by(Unit.name)))


@pytest.fixture
def writing_routes(app):
    """Routes that add a unit and then end in each way a view can end."""

    def add(name: str) -> None:
        db.session.add(Unit(name=name))
        db.session.flush()

    @app.post("/t/returns")
    def returns():
        add("returned")
        return "ok"

    @app.post("/t/returns-401")
    def returns_401():
        add("refused but kept")  # a login failure counter is written like this
        return "no", 401

    @app.post("/t/service-error")
    def service_error():
        add("service error")
        raise ServiceError("不能这样做。", code="not_allowed", status=409)

    @app.post("/t/crash")
    def crash():
        add("crash")
        raise RuntimeError("boom")

    @app.post("/t/abort")
    def aborts():
        add("aborted")
        abort(403)

    @app.post("/t/recovers")
    def recovers():
        add("recovered")
        try:
            raise ServiceError("名称重复。")
        except ServiceError as error:
            show_error(error)
        return "shown"

    @app.post("/t/own")
    @own_transaction
    def own():
        add("own, not committed")
        return "ok"

    return app


@pytest.fixture
def commits():
    """How many transactions that wrote were committed."""
    seen = []

    def count(session):
        seen.append(session)

    event.listen(Session, "after_commit", count)
    yield seen
    event.remove(Session, "after_commit", count)


def test_a_view_that_returns_is_committed_once(writing_routes, client, commits):
    assert client.post("/t/returns").status_code == 200
    assert len(commits) == 1
    assert _unit_names() == ["returned"]


def test_any_return_status_is_committed(writing_routes, client):
    assert client.post("/t/returns-401").status_code == 401
    assert _unit_names() == ["refused but kept"]


@pytest.mark.parametrize(
    ("url", "status"), [("/t/service-error", 302), ("/t/abort", 403), ("/t/recovers", 200)]
)
def test_a_view_that_raises_or_shows_an_error_changes_nothing(
    writing_routes, client, commits, url, status
):
    assert client.post(url).status_code == status
    # show_error left nothing; a 403 commits its own audit entry alone
    assert len(commits) == (0 if url == "/t/service-error" else 1)
    assert _unit_names() == []
    refusals = db.session.scalars(select(AuditEntry.action)).all()
    assert refusals == (["request.refused"] if status == 403 else [])


def test_a_service_error_answers_json_with_its_code_and_status(writing_routes, client):
    response = client.post("/t/service-error", headers=JSON)
    assert response.status_code == 409
    assert response.json == {"error": "not_allowed", "message": "不能这样做。"}
    assert _unit_names() == []


def test_an_unexpected_exception_rolls_back(writing_routes, client):
    writing_routes.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/t/crash", headers=JSON)
    assert response.status_code == 500
    assert response.json == {"error": "server_error", "message": HTTP_ERRORS[500][2]}
    assert _unit_names() == []


def test_a_view_can_keep_the_transaction_to_itself(writing_routes, client):
    assert client.post("/t/own").status_code == 200
    assert _unit_names() == []


def test_service_error_as_json_carries_code_message_and_fields(app, client):
    @app.post("/t/fields")
    def fields():
        raise BankError({"name": "法律名称不能为空", "label": "版本不能为空"})

    response = client.post("/t/fields", json={})
    assert response.status_code == 400
    assert response.json == {
        "error": "bank_rule",
        "message": "法律名称不能为空；版本不能为空",
        "fields": {"name": "法律名称不能为空", "label": "版本不能为空"},
    }


def test_service_error_on_a_page_is_flashed_on_the_page_it_came_from(app, client):
    @app.route("/t/page", methods=["GET", "POST"])
    def page():
        raise ServiceError("本场次已结束。")

    referred = client.post("/t/page", headers={"Referer": "http://localhost/login?next=%2F"})
    assert referred.status_code == 302 and referred.location == "/login?next=%2F"
    assert "本场次已结束。" in client.get("/login").text
    elsewhere = client.post("/t/page", headers={"Referer": "https://evil.example/"})
    assert elsewhere.status_code == 302 and elsewhere.location == "/"
    # A page that fails on GET does not send the browser back to itself, round and round.
    itself = client.get("/t/page", headers={"Referer": "http://localhost/t/page"})
    assert itself.status_code == 302 and itself.location == "/"


def test_show_error_puts_field_messages_by_their_fields(app):
    class NameForm(Form):
        name = StringField("名称")

    with app.test_request_context("/", method="POST"):
        form = NameForm(meta={"csrf": False})
        show_error(ServiceError("有误", fields={"name": "名称重复", "other": "另一处有误"}), form)
        assert form.name.errors == ["名称重复"]
        assert get_flashed_messages() == ["另一处有误"]


@pytest.mark.parametrize(
    ("error_class", "code"),
    [
        (AccountError, "account_rule"),
        (ExamError, "exam_unavailable"),
        (SetupError, "exam_setup"),
        (BlueprintError, "bank_too_small"),
    ],
)
def test_domain_errors_are_service_errors_with_their_codes(error_class, code):
    error = error_class("不行")
    assert isinstance(error, ServiceError)
    assert (error.code, error.message, error.status, error.fields) == (code, "不行", 400, {})
    assert error_class("不行", code="other").code == "other"


@pytest.fixture
def status_routes(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["MAX_CONTENT_LENGTH"] = 100

    @app.route("/t/status/<int:status>", methods=["GET"])
    def status(status: int):
        abort(status)

    @app.post("/t/upload")
    def upload():
        return str(len(request.get_data()))

    @app.get("/t/crash")
    def crash():
        raise RuntimeError("boom")

    return app


def _status_response(client, status: int):
    if status == 404:
        return client.get("/t/no-such-page", headers=JSON)
    if status == 405:
        return client.delete("/t/upload", headers=JSON)
    if status == 413:
        return client.post("/t/upload", data=b"x" * 101, headers=JSON)
    if status == 500:
        return client.get("/t/crash", headers=JSON)
    return client.get(f"/t/status/{status}", headers=JSON)


@pytest.mark.parametrize("status", sorted(HTTP_ERRORS))
def test_every_app_wide_error_answers_json_with_a_machine_code(status_routes, client, status):
    response = _status_response(client, status)
    code, title, message = HTTP_ERRORS[status]
    assert response.status_code == status
    assert response.json == {"error": code, "message": message}
    assert code.isascii() and not message.isascii()
    page = client.get(f"/t/status/{status}") if status not in (404, 405, 413, 500) else None
    if page is not None:
        assert page.status_code == status and title in page.text


def test_csrf_failure_has_its_own_code(app, client, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/attempts/1/answers", json={}, headers=JSON)
    assert response.status_code == 400
    assert response.json["error"] == "csrf_failed" and "刷新页面" in response.json["message"]


def test_login_required_as_json(client):
    response = client.post("/attempts/1/answers", json={})
    assert response.status_code == 401
    assert response.json == {"error": "login_required", "message": "请先登录"}


def test_password_change_required_as_json(app, client, login_as):
    login_as(must_change_password=True)
    refused = client.get("/exams/", headers=JSON)
    assert refused.status_code == 403
    assert refused.json == {"error": "password_change_required", "message": "请先修改初始密码"}


@pytest.mark.parametrize(
    "path", ["/exams/99999999999999999999", "/attempts/99999999999999999999/paper"]
)
def test_an_id_past_32_bits_is_no_page(client, login_as, path):
    """Ids are 32-bit in the database; PostgreSQL refused a longer one with an error (a 500)."""
    login_as()
    assert client.get(path, headers=JSON).status_code == 404


@pytest.mark.parametrize("page", ["99999999999999999999", "-5", "abc"])
def test_a_page_number_out_of_range_shows_a_page_there_is(client, login_as, page):
    """OFFSET past 64 bits overflowed (a 500): the page number is kept within 1…MAX_PAGE."""
    login_as(Role.TRAINER)
    assert client.get(f"/bank/?page={page}").status_code == 200


def test_the_results_and_the_board_take_any_page_number(client, login_as, questions, learner):
    exam = make_exam(roster=[learner])
    take(learner, exam)
    login_as(Role.SYSTEM_ADMIN)
    for path in (
        f"/manage/exams/{exam.id}/results?page=99999999999999999999",
        f"/manage/batches/{exam.batches[0].id}/board?page=99999999999999999999",
        f"/manage/exams/{exam.id}/results?page=-5",
    ):
        assert client.get(path).status_code == 200, path
