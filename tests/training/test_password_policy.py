"""The password policy: strength (zxcvbn plus common Chinese patterns), nothing personal,
not one of the last five, and expiry for privileged accounts."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from core.passwords import PersonalData, policy_error
from core.roles import Role
from tests.conftest import PASSWORD
from training.models import PasswordHistory


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short1!", "至少 8 位"),
        ("alllowercase", "至少三类"),
        ("lowercase123", "至少三类"),
        ("Passw0rd!", "容易被猜中"),
        ("Lowercase123", "容易被猜中"),
        ("Qwerty123!", "容易被猜中"),
        ("Ab5201314xyz!", "520、1314、woaini"),
        ("Woaini@Beijing9", "520、1314、woaini"),
        ("Xq!13912345678", "手机号"),
        ("Xuefa#2026pt", None),
        ("Tr0ub4dor&3x", None),
        ("中文密码很长Abc1!x", None),
    ],
)
def test_password_strength(password, problem):
    error = policy_error(password)
    assert error is None if problem is None else problem in error


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Zhangsan01!qx", "包含账号"),
        ("Kq!199003Vt#", "身份证号、生日或手机号"),  # the birthday in the ID number
        ("Kq!071234Vt#", "身份证号、生日或手机号"),  # its tail
        ("Kq!345678Vt#", "身份证号、生日或手机号"),  # the tail of the phone number
        ("Kq!734589Vt#", None),
    ],
)
def test_nothing_personal_in_a_password(password, problem):
    person = PersonalData("zhangsan01", "张三", "13812345678", "110101199003071234")
    error = policy_error(password, person)
    assert error is None if problem is None else problem in error


def change(client, current, new):
    return client.post("/account/password", data={"current": current, "new": new, "confirm": new})


def test_none_of_the_last_five_passwords(client, make_user, auth):
    user = make_user()
    auth.login(user)
    chosen = [f"Xuefa#{n}Pt{n}q" for n in range(7)]
    current = PASSWORD
    for password in chosen[:5]:
        assert change(client, current, password).status_code == 302, password
        current = password
    again = change(client, current, chosen[0])
    assert "最近 5 次使用过的密码" in again.text
    assert change(client, current, chosen[5]).status_code == 302
    assert change(client, chosen[5], chosen[0]).status_code == 302  # six changes ago: allowed
    kept = db.session.scalar(
        select(func.count(PasswordHistory.id)).where(PasswordHistory.user_id == user.id)
    )
    assert kept == 5


def test_the_change_page_refuses_a_password_with_the_login(client, make_user, auth):
    user = make_user(login="wangwu")
    auth.login(user)
    assert "包含账号" in change(client, PASSWORD, "Wangwu#2026pt").text


def test_a_privileged_password_expires_after_90_days(client, make_user, auth):
    old = clock.now() - timedelta(days=91)
    admin = make_user(Role.SYSTEM_ADMIN, password_changed_at=old)
    response = auth.login(admin)
    assert response.location == "/account/password"
    assert "密码已到期" in client.get("/account/password").text
    assert client.get("/admin/users").location == "/account/password"
    assert change(client, PASSWORD, "Xuefa#2026pt").status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_expiry_is_configurable_and_off_for_learners_by_default(app, client, make_user, auth):
    old = clock.now() - timedelta(days=400)
    learner = make_user(password_changed_at=old)
    assert auth.login(learner).location == "/"
    auth.logout()
    app.config["PASSWORD_MAX_AGE_DAYS"] = 180
    assert auth.login(learner).location == "/account/password"
    fresh = make_user(Role.AUDITOR, password_changed_at=clock.now() - timedelta(days=30))
    app.test_client().post("/login", data={"login": fresh.login, "password": PASSWORD})
    db.session.refresh(fresh)
    assert not fresh.must_change_password
