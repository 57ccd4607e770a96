"""Login sessions that end on the server, the CAPTCHA after failed logins, the hard lock
for privileged accounts only, and answers that never tell which logins exist."""

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from core import clock
from core.audit import AuditEntry
from core.extensions import db
from core.roles import Role
from tests.conftest import PASSWORD, _config
from training import logins
from training.models import LoginFailure, LoginSession

WRONG = "Wrong-pass1"


def actions(*names: str) -> list[str]:
    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    return [a for a in db.session.scalars(stmt) if not names or a in names]


def alert(response) -> str:
    """The text of the page's error alert."""
    return response.text.split('class="alert alert-danger" role="alert">')[1].split("<")[0]


def solve_captcha(client) -> str:
    """Fetch the CAPTCHA image as a browser would and read its answer from the session."""
    image = client.get("/login/captcha.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    with client.session_transaction() as session:
        return session["login_captcha"]["answer"]


def post_login(client, login, password, captcha=""):
    return client.post("/login", data={"login": login, "password": password, "captcha": captcha})


def fail(client, login, times: int) -> None:
    """`times` wrong passwords for `login`, solving the CAPTCHA whenever it is asked for."""
    captcha = ""
    for _ in range(times):
        response = post_login(client, login, WRONG, captcha)
        assert response.status_code == 401
        captcha = solve_captcha(client) if 'alt="验证码图片"' in response.text else ""


# --- sessions ------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    other_device = app.test_client()
    post_login(other_device, user.login, PASSWORD)
    stolen = client.get_cookie("session").value
    assert auth.logout().status_code == 302
    client.set_cookie("session", stolen)  # replay the cookie from before the logout
    assert client.get("/").status_code == 302
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401
    assert other_device.get("/").status_code == 200  # logout ends this session only
    ended = db.session.scalars(select(LoginSession.ended_at)).all()
    assert len(ended) == 2 and ended.count(None) == 1


def test_session_ends_after_its_absolute_lifetime_even_when_active(
    app, client, make_user, auth, monkeypatch
):
    auth.login(make_user())
    stolen = client.get_cookie("session").value
    started = clock.now()
    monkeypatch.setattr(clock, "now", lambda: started + timedelta(hours=11, minutes=59))
    assert client.get("/").status_code == 200
    monkeypatch.setattr(clock, "now", lambda: started + timedelta(hours=12, minutes=1))
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location
    assert "登录已超过 12 小时" in client.get("/login").text
    client.set_cookie("session", stolen)
    assert client.get("/").status_code == 302
    assert "session.expired" in actions()


def test_session_lifetime_is_configurable_and_answers_json(app, client, make_user, auth):
    app.config["SESSION_LIFETIME_HOURS"] = 1
    auth.login(make_user())
    db.session.execute(
        LoginSession.__table__.update().values(started_at=clock.now() - timedelta(minutes=61))
    )
    db.session.commit()
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json["error"] == "session_expired"
    assert "1 小时" in response.json["message"]


def test_idle_timeout_ends_the_session_on_the_server(app, client, make_user, auth):
    auth.login(make_user())
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    assert client.get("/").status_code == 302
    assert db.session.scalar(select(LoginSession.ended_at)) is not None


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, client, make_user, auth):
    user = make_user()
    auth.login(user)
    other_device = app.test_client()
    post_login(other_device, user.login, PASSWORD)
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "Xuefa#2026pt", "confirm": "Xuefa#2026pt"},
    )
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 302


def test_cookies_of_the_old_user_id_form_are_refused(app, client, make_user):
    user = make_user()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_version}"
        session["_fresh"] = True
    assert client.get("/").status_code == 302


# --- failed logins ---------------------------------------------------------------------


def test_a_learner_is_never_locked_but_asked_for_a_captcha(client, make_user):
    user = make_user()
    for _ in range(2):
        response = post_login(client, user.login, WRONG)
        assert alert(response) == "账号或密码错误。" and 'alt="验证码图片"' not in response.text
    third = post_login(client, user.login, WRONG)
    assert 'alt="验证码图片"' in third.text
    without = post_login(client, user.login, PASSWORD)
    assert without.status_code == 401 and "请输入图中的验证码" in alert(without)
    fail(client, user.login, 20)
    wrong_captcha = post_login(client, user.login, PASSWORD, "XXXX")
    assert wrong_captcha.status_code == 401 and "验证码不正确" in alert(wrong_captcha)
    # The owner, with the right password and the CAPTCHA, gets in after any number of
    # strangers' failures: nobody can lock a learner out.
    response = post_login(client, user.login, PASSWORD, solve_captcha(client).lower())
    assert response.status_code == 302
    assert db.session.get(LoginFailure, logins.failure_key(user.login)) is None
    db.session.refresh(user)
    assert user.locked_until is None
    assert "login.locked" not in actions()


def test_a_captcha_answer_is_good_for_one_attempt_only(client, make_user):
    user = make_user()
    fail(client, user.login, 3)
    answer = solve_captcha(client)
    solved = client.get_cookie("session").value
    assert post_login(client, user.login, WRONG, answer).status_code == 401
    client.set_cookie("session", solved)  # replay the cookie that holds the solved answer
    replay = post_login(client, user.login, PASSWORD, answer)
    assert replay.status_code == 401 and "验证码不正确" in alert(replay)
    assert db.session.get(LoginFailure, logins.failure_key(user.login)).failures == 4


def test_a_captcha_is_bound_to_the_login_it_was_shown_for(client, make_user):
    first, second = make_user(), make_user()
    fail(client, first.login, 3)
    fail(client, second.login, 3)
    answer = solve_captcha(client)  # shown for `second`
    response = post_login(client, first.login, PASSWORD, answer)
    assert "验证码不正确" in alert(response)


def test_the_captcha_image_needs_a_pending_challenge(client):
    assert client.get("/login/captcha.png").status_code == 404


def test_change_of_captcha_keeps_the_login(client, make_user):
    user = make_user()
    fail(client, user.login, 3)
    page = client.get("/login").text
    assert 'alt="验证码图片"' in page and f'value="{user.login}"' in page


def test_failures_are_forgotten_after_a_day(client, make_user, monkeypatch):
    user = make_user()
    fail(client, user.login, 3)
    later = clock.now() + timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert post_login(client, user.login, PASSWORD).status_code == 302


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.AUDITOR])
def test_privileged_accounts_keep_the_hard_lock(client, make_user, monkeypatch, role):
    admin = make_user(role)
    fail(client, admin.login, 5)
    db.session.refresh(admin)
    assert admin.locked_until - clock.now() > timedelta(minutes=14)
    # Even the right password is refused, in the same words as a wrong one.
    response = post_login(client, admin.login, PASSWORD, solve_captcha(client))
    assert response.status_code == 401 and alert(response) == "账号或密码错误。"
    assert actions("login.locked", "login.blocked") == ["login.locked", "login.blocked"]
    later = clock.now() + timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert post_login(client, admin.login, PASSWORD, solve_captcha(client)).status_code == 302


def test_lockout_is_configurable(app, client, make_user):
    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_LOCKOUT_MINUTES=60, LOGIN_CAPTCHA_AFTER=5)
    admin = make_user(Role.SYSTEM_ADMIN)
    fail(client, admin.login, 2)
    db.session.refresh(admin)
    assert admin.locked_until - clock.now() > timedelta(minutes=59)


def test_a_security_admin_unlock_clears_the_failures(app, client, make_user, auth):
    learner = make_user()
    fail(app.test_client(), learner.login, 5)
    assert 'alt="验证码图片"' in post_login(app.test_client(), learner.login, WRONG).text
    auth.login(make_user(Role.SECURITY_ADMIN))
    assert client.post(f"/admin/users/{learner.id}/unlock").status_code == 302
    assert db.session.get(LoginFailure, logins.failure_key(learner.login)) is None
    assert post_login(app.test_client(), learner.login, PASSWORD).status_code == 302
    assert actions("user.unlock") == ["user.unlock"]


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR])
def test_privileged_accounts_are_unlocked_only_from_the_command_line(
    app, client, make_user, auth, runner, role
):
    locked = make_user(role)
    fail(app.test_client(), locked.login, 5)
    auth.login(make_user(Role.SECURITY_ADMIN))
    client.post(f"/admin/users/{locked.id}/unlock")
    db.session.refresh(locked)
    assert (
        locked.locked_now
        and db.session.get(LoginFailure, logins.failure_key(locked.login)) is not None
    )

    result = runner.invoke(args=["admin-password", locked.login], input="N3w-Str0ng!pw\n" * 2)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert (
        not locked.locked_now
        and db.session.get(LoginFailure, logins.failure_key(locked.login)) is None
    )
    assert locked.must_change_password
    assert actions("user.unlock", "admin.password_cli") == ["admin.password_cli"]
    assert post_login(app.test_client(), locked.login, "N3w-Str0ng!pw").status_code == 302


def test_unknown_wrong_and_locked_logins_answer_alike_and_as_slowly(app, make_user, monkeypatch):
    verified = []
    real_verify = logins.verify_password
    monkeypatch.setattr(
        logins,
        "verify_password",
        lambda stored, typed: verified.append(stored) or real_verify(stored, typed),
    )
    learner = make_user()
    admin = make_user(Role.SYSTEM_ADMIN, locked_until=clock.now() + timedelta(minutes=15))
    answers = {}
    for login in (learner.login, admin.login, "nobody-here"):
        client = app.test_client()
        verified.clear()
        pages = []
        captcha = ""
        for _ in range(6):
            response = post_login(client, login, WRONG, captcha)
            pages.append(
                (response.status_code, alert(response), 'alt="验证码图片"' in response.text)
            )
            captcha = solve_captcha(client) if pages[-1][2] else ""
        answers[login] = pages
        assert len(verified) == 6, login  # a hash is checked for every attempt
    assert answers[learner.login] == answers[admin.login] == answers["nobody-here"]
    assert answers[learner.login][0] == (401, "账号或密码错误。", False)


def test_unknown_logins_are_not_written_to_the_audit_log(client):
    post_login(client, "Secret-Passw0rd", WRONG)  # a password typed into the login field
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "login.failure" and "Secret" not in entry.actor_login


def test_start_up_says_when_rate_limits_are_per_process(migrated_database, caplog):
    with caplog.at_level(logging.WARNING):
        create_app(_config(migrated_database))
    assert any("每个 worker 进程内单独计数" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app({**_config(migrated_database), "RATELIMIT_STORAGE_URI": "redis://x:1/0"})
    assert not caplog.records


def test_a_login_is_lean_and_locks_the_audit_chain_last(client, auth, learner, count_queries):
    """Exam day's login burst: no name lookup for the audit entry (the user is loaded), and
    nothing but the audit entry, the login session and the commit after the chain's lock."""
    login = learner.login
    with count_queries() as statements:
        assert auth.login(login).status_code == 302
    words = [" ".join(s.split()[:4]) for s in statements]
    assert not any(w.startswith("SELECT users.id, users.name, users.login") for w in words)
    locked = next(i for i, s in enumerate(statements) if "audit_log" in s or "advisory" in s)
    after = [s.split()[0].upper() + " " + s.split()[2] for s in statements[locked + 1 :]]
    assert after[-3:] == ["INSERT audit_log", "DELETE login_sessions", "INSERT login_sessions"]
    # 9 on PostgreSQL (the chain's lock and clock in one statement), 10 on SQLite
    assert len(statements) <= 10
