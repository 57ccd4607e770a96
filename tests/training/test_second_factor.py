"""The optional second factor: enrolment with a locally drawn QR code, login with a TOTP
code or a one-time recovery code, and the security admin's requirement for privileged
roles. Every change is audited."""

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from tests.conftest import PASSWORD
from training import logins, second_factor
from training.models import LoginFailure


def actions(*names: str) -> list[str]:
    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    return [a for a in db.session.scalars(stmt) if not names or a in names]


def enrol(client) -> tuple[str, list[str]]:
    """Enrol the logged-in user; the secret and the recovery codes shown."""
    page = client.get("/account/totp")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    with client.session_transaction() as session:
        secret = session["totp_pending_secret"]
    shown = page.text.split("密钥：<code>")[1].split("</code>")[0]
    assert shown.replace(" ", "") == secret
    wrong = client.post("/account/totp", data={"code": "000000"})
    assert "动态验证码不正确" in wrong.text
    done = client.post("/account/totp", data={"code": pyotp.TOTP(secret).at(clock.now())})
    codes = [part.split("</code>")[0] for part in done.text.split("<li><code>")[1:]]
    assert len(codes) == 10 and "只能用一次" in done.text
    return secret, codes


@pytest.fixture
def enrolled(app, make_user, frozen_clock):
    """A user with the second factor on, the clock moved past the enrolment's code."""
    user = make_user()
    client = app.test_client()
    client.post("/login", data={"login": user.login, "password": PASSWORD})
    secret, codes = enrol(client)
    frozen_clock.now += timedelta(seconds=90)
    return user, secret, codes


def password_step(client, user):
    response = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert response.location == "/login/second-factor"
    return response


def sign_in(app, user, code):
    """On a new device: the password, then `code` as the second factor. The client, and
    where the second step led ("/" signed in, "/login" refused)."""
    client = app.test_client()
    password_step(client, user)
    return client, client.post("/login/second-factor", data={"code": code}).location


def test_enrolment_stores_the_secret_and_is_audited(enrolled):
    user, secret, _ = enrolled
    db.session.refresh(user)
    assert user.totp_secret == secret
    assert actions("totp.enable") == ["totp.enable"]


def test_login_needs_the_code_after_the_password(app, enrolled):
    user, secret, _ = enrolled
    client = app.test_client()
    password_step(client, user)
    assert client.get("/").status_code == 302  # not logged in yet
    code = pyotp.TOTP(secret).at(clock.now())
    assert client.post("/login/second-factor", data={"code": code}).location == "/"
    assert client.get("/").status_code == 200
    # The same code does not work twice.
    again, where = sign_in(app, user, code)
    assert where == "/login" and again.get("/").status_code == 302


def test_a_wrong_code_counts_as_a_failed_login_and_needs_the_password_again(app, enrolled):
    user, secret, _ = enrolled
    client = app.test_client()
    password_step(client, user)
    pending = client.get_cookie("session").value
    wrong = client.post("/login/second-factor", data={"code": "123456"})
    assert wrong.location == "/login"
    assert db.session.get(LoginFailure, logins.failure_key(user.login)).failures == 1
    client.set_cookie("session", pending)  # replay the pending login to guess again
    replay = client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).at(clock.now())})
    assert replay.location == "/login" and client.get("/").status_code == 302


def test_a_recovery_code_works_once(app, enrolled):
    user, _, codes = enrolled
    assert sign_in(app, user, codes[0].upper())[1] == "/"
    assert sign_in(app, user, codes[0])[1] == "/login"
    assert "totp.recovery_code" in actions()


def test_new_recovery_codes_void_the_old_ones(app, enrolled):
    user, secret, codes = enrolled
    client, _ = sign_in(app, user, codes[0])
    fresh = client.post(
        "/account/totp/recovery-codes", data={"code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert fresh.text.count("<li><code>") == 10
    assert sign_in(app, user, codes[1])[1] == "/login"
    assert "totp.recovery_codes" in actions()


def test_disabling_needs_the_password_and_a_code(app, enrolled):
    user, _, codes = enrolled
    client, _ = sign_in(app, user, codes[0])
    refused = client.post(
        "/account/totp/disable", data={"password": "wrong", "code": codes[1]}, follow_redirects=True
    )
    assert "密码不正确" in refused.text
    client.post("/account/totp/disable", data={"password": PASSWORD, "code": codes[1]})
    db.session.refresh(user)
    assert user.totp_secret is None and "totp.disable" in actions()
    assert (
        app.test_client().post("/login", data={"login": user.login, "password": PASSWORD}).location
        == "/"
    )


def test_the_security_admin_can_require_it_for_privileged_roles(app, client, make_user, auth):
    security_admin = make_user(Role.SECURITY_ADMIN)
    auth.login(security_admin)
    assert client.post("/security/settings", data={"totp_required": "y"}).status_code == 302
    assert "checked" in client.get("/security/settings").text
    assert actions("settings.totp_required") == ["settings.totp_required"]

    admin = make_user(Role.SYSTEM_ADMIN)
    admin_client = app.test_client()
    response = admin_client.post("/login", data={"login": admin.login, "password": PASSWORD})
    assert response.location == "/account/totp"
    assert admin_client.get("/admin/users").location == "/account/totp"
    json = admin_client.get("/admin/users", headers={"Accept": "application/json"})
    assert json.status_code == 403 and json.json["error"] == "second_factor_required"
    enrol(admin_client)
    assert admin_client.get("/admin/users").status_code == 200
    db.session.refresh(admin)
    assert admin.totp_secret
    page = admin_client.get("/account/totp").text
    assert "不能关闭" in page and "/account/totp/disable" not in page

    learner = make_user()
    assert (
        app.test_client()
        .post("/login", data={"login": learner.login, "password": PASSWORD})
        .location
        == "/"
    )


def test_only_the_security_admin_changes_the_setting(client, make_user, auth):
    auth.login(make_user(Role.SYSTEM_ADMIN))
    assert client.post("/security/settings", data={"totp_required": "y"}).status_code == 403


def test_a_forced_password_change_does_not_skip_a_required_enrolment(app, make_user):
    second_factor.set_required(SYSTEM, True)
    db.session.commit()
    auditor = make_user(Role.AUDITOR, must_change_password=True)
    client = app.test_client()
    login = client.post("/login", data={"login": auditor.login, "password": PASSWORD})
    assert login.location == "/account/password"
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "Xuefa#2026pt", "confirm": "Xuefa#2026pt"},
    )
    assert changed.status_code == 302
    assert client.get("/").location == "/account/totp"


def test_the_second_step_lapses_by_the_server_clock(app, enrolled, frozen_clock):
    user, secret, _ = enrolled
    client = app.test_client()
    password_step(client, user)
    frozen_clock.now += timedelta(minutes=6)
    code = pyotp.TOTP(secret).at(clock.now())
    assert client.post("/login/second-factor", data={"code": code}).location == "/login"
    assert client.get("/").status_code == 302
