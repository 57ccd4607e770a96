import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from core.passwords import policy_error, verify_password
from core.roles import Role
from tests.conftest import PASSWORD


def actions(*names: str) -> list[str]:
    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    return [a for a in db.session.scalars(stmt) if not names or a in names]


def test_login_and_logout(client, make_user, auth):
    user = make_user()
    response = auth.login(user)
    assert response.status_code == 302 and response.location == "/"
    assert "您好" in client.get("/").text
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302
    assert actions() == ["login.success", "logout"]


def test_deactivated_user_cannot_log_in(client, make_user, auth):
    user = make_user(is_active=False)
    response = auth.login(user)
    assert response.status_code == 401 and "账号已停用" in response.text


def test_forced_change_at_first_login(client, make_user, auth):
    user = make_user(must_change_password=True)
    response = auth.login(user)
    assert response.location == "/account/password"
    assert client.get("/").location == "/account/password"
    assert client.get("/admin/users").location == "/account/password"
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 403
    weak = client.post(
        "/account/password", data={"current": PASSWORD, "new": "weakpass", "confirm": "weakpass"}
    )
    assert "至少三类" in weak.text
    same = client.post(
        "/account/password", data={"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD}
    )
    assert "不能与当前密码相同" in same.text
    wrong = client.post(
        "/account/password",
        data={"current": "nope", "new": "Xuefa#2026pt", "confirm": "Xuefa#2026pt"},
    )
    assert "当前密码不正确" in wrong.text
    mismatch = client.post(
        "/account/password", data={"current": PASSWORD, "new": "Xuefa#2026pt", "confirm": "Other1"}
    )
    assert "两次输入的新密码不一致" in mismatch.text
    done = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "Xuefa#2026pt", "confirm": "Xuefa#2026pt"},
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    db.session.refresh(user)
    assert not user.must_change_password and verify_password(user.password_hash, "Xuefa#2026pt")
    assert "password.change" in actions()


def test_admin_reset_forces_a_change_and_ends_old_sessions(app, client, make_user, auth):
    admin = make_user(Role.SYSTEM_ADMIN)
    user = make_user()
    user_client = app.test_client()
    user_client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert user_client.get("/").status_code == 200

    auth.login(admin)
    response = client.post(f"/admin/users/{user.id}/reset-password")
    temporary = response.text.split("<code>")[1].split("</code>")[0]
    assert policy_error(temporary) is None

    assert user_client.get("/").status_code == 302  # the old session is gone
    fresh = app.test_client()
    assert fresh.post("/login", data={"login": user.login, "password": temporary}).location == (
        "/account/password"
    )


def test_idle_session_times_out(app, client, make_user, auth, frozen_clock):
    user = make_user()
    auth.login(user)
    assert client.get("/").status_code == 200
    frozen_clock.now += timedelta(minutes=31)  # the server's clock, not the machine's
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location
    assert "30 分钟未操作" in client.get("/login").text
    assert client.get("/").status_code == 302
    assert "session.timeout" in actions()


def test_idle_timeout_is_configurable_and_activity_keeps_session(
    app, client, make_user, auth, frozen_clock
):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    auth.login(make_user())
    assert client.get("/").status_code == 200
    frozen_clock.now += timedelta(minutes=4)
    assert client.get("/").status_code == 200
    frozen_clock.now += timedelta(minutes=6)
    json_response = client.get("/", headers={"Accept": "application/json"})
    assert json_response.status_code == 401
    assert json_response.json["error"] == "session_expired"


def test_deactivation_ends_existing_sessions(app, client, make_user, auth):
    admin = make_user(Role.SYSTEM_ADMIN)
    user = make_user()
    user_client = app.test_client()
    user_client.post("/login", data={"login": user.login, "password": PASSWORD})
    auth.login(admin)
    client.post(f"/admin/users/{user.id}/deactivate")
    assert user_client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/users", "/admin/users"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
    ],
)
def test_next_redirect_stays_on_site(client, make_user, target, expected):
    user = make_user(Role.SYSTEM_ADMIN)
    response = client.post(
        f"/login?next={target}", data={"login": user.login, "password": PASSWORD}
    )
    assert response.location == expected


def test_login_rate_limit_per_ip(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert client.post("/login", data={"login": "x", "password": "y"}).status_code == 401
    limited = client.post("/login", data={"login": "x", "password": "y"})
    assert limited.status_code == 429 and "请求过于频繁" in limited.text
    other_ip = client.post(
        "/login", data={"login": "x", "password": "y"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other_ip.status_code == 401
    assert client.get("/login").status_code == 200  # only attempts are limited


def test_login_rate_limit_uses_redis_when_configured(app, monkeypatch):
    """A second app on this test's own database (so its audit rows and login failures go
    with the test's) and its own keys in the shared Redis, removed afterwards."""
    from redis import Redis

    from app import create_app
    from core.extensions import limiter

    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    prefix = f"test-{uuid.uuid4().hex}"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    redis_app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "LOGIN_RATE_LIMIT": "2 per minute",
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    assert redis_app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"
    try:
        with redis_app.app_context():
            assert type(limiter.storage).__name__ == "RedisStorage"
            for worker in (redis_app.test_client(), redis_app.test_client()):  # one count
                worker.post("/login", data={"login": "x", "password": "y"})
            refused = redis_app.test_client().post("/login", data={"login": "x"})
            assert refused.status_code == 429
            assert list(redis.scan_iter(f"*{prefix}*"))
            db.session.remove()
            db.engine.dispose()
    finally:
        for key in redis.scan_iter(f"*{prefix}*"):
            redis.delete(key)


def test_activity_refreshes_the_session_cookie_at_most_once_a_minute(client, make_user, auth):
    auth.login(make_user())
    client.get("/")  # the first request records when the user was last seen
    assert "Set-Cookie" not in client.get("/").headers
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 90
    assert "Set-Cookie" in client.get("/").headers
