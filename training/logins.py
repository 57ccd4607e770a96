"""Logins: the password check, failed attempts (CAPTCHA for everyone, the hard lock for
privileged roles only) and login sessions that end on the server."""

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, case, delete, exists, or_, select, update
from sqlalchemy.orm import joinedload

from core import captcha, clock, upserts
from core.audit import Actor, anonymous, record
from core.extensions import db
from core.passwords import hash_password, needs_rehash, verify_password
from core.roles import PRIVILEGED_ROLES
from training.exams.models import Attempt, AttemptStatus
from training.models import LoginFailure, LoginSession, User

# One answer for an unknown login, a wrong password and a locked account, so that the
# page never tells which logins exist or which are locked.
WRONG_CREDENTIALS = "账号或密码错误。"
CAPTCHA_WRONG = "验证码不正确或已失效，请重新输入图中的字符。"
CAPTCHA_NEEDED = "该账号近期登录失败次数较多，请输入图中的验证码。"


@dataclass(frozen=True)
class LoginPolicy:
    #: failures of one login name after which every attempt needs a CAPTCHA
    captcha_after: int
    #: failures after which a privileged account is locked
    max_failures: int
    lockout_minutes: int
    #: failures older than this are forgotten
    failure_window: timedelta = timedelta(hours=24)
    #: days a password lasts (0: for ever), for privileged roles and for everyone else
    password_days_privileged: int = 0
    password_days: int = 0


@dataclass(frozen=True)
class Challenge:
    """A CAPTCHA shown for `login` when it had `failures` failed attempts: it is good for
    one attempt only, because that attempt raises the count (or, on success, clears it)."""

    login: str
    failures: int
    answer: str

    def as_dict(self) -> dict:
        return {"login": self.login, "failures": self.failures, "answer": self.answer}

    @classmethod
    def from_dict(cls, data) -> "Challenge | None":
        try:
            return cls(str(data["login"]), int(data["failures"]), str(data["answer"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class LoginOutcome:
    user: User | None
    error: str | None = None
    #: the next attempt for this login must carry a CAPTCHA
    captcha_required: bool = False
    #: the password is older than the policy allows: it must be changed now
    password_expired: bool = False


def find_by_login(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login.strip()))


def is_privileged(user: User) -> bool:
    return bool(user.roles & PRIVILEGED_ROLES)


def failure_key(login: str) -> str:
    """What failures are counted under: a keyed hash of the typed login, never the text,
    which may be a password typed into the wrong field."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, login.strip().encode(), hashlib.sha256).hexdigest()


def recent_failures(login: str, now: datetime, policy: LoginPolicy) -> int:
    row = db.session.execute(
        select(LoginFailure.failures, LoginFailure.last_failure_at).where(
            LoginFailure.login == failure_key(login)
        )
    ).first()
    if row is None or row.last_failure_at < now - policy.failure_window:
        return 0
    return row.failures


def new_challenge(login: str, now: datetime, policy: LoginPolicy) -> Challenge:
    return Challenge(login.strip(), recent_failures(login, now, policy), captcha.new_answer())


def authenticate(
    login: str,
    password: str,
    ip: str,
    policy: LoginPolicy,
    *,
    challenge: Challenge | None = None,
    typed_captcha: str = "",
) -> LoginOutcome:
    """Check a login attempt. Unknown, wrong and locked answer alike and take as long."""
    login = login.strip()
    now = clock.now()
    failures = recent_failures(login, now, policy)
    counted = False
    if failures >= policy.captcha_after:
        if not typed_captcha:
            return LoginOutcome(None, CAPTCHA_NEEDED, captcha_required=True)
        if (
            challenge is None
            or (challenge.login, challenge.failures) != (login, failures)
            or not captcha.matches(challenge.answer, typed_captcha)
        ):
            return LoginOutcome(None, CAPTCHA_WRONG, captcha_required=True)
        # Count the attempt before checking the password: a CAPTCHA answer replayed by
        # parallel requests finds the count moved on and is refused.
        if _add_failure(login, now, policy) != failures + 1:
            return LoginOutcome(None, CAPTCHA_WRONG, captcha_required=True)
        counted = True
    user = find_by_login(login)
    actor = Actor(user.id, user.login, ip) if user else anonymous(ip)
    if user is None or user.is_locked(now):
        verify_password(None, password)  # as slow as a real check
        count = failures + 1 if counted else _add_failure(login, now, policy)
        if user is None:
            record(actor, "login.failure", summary="账号不存在")
        else:
            record(actor, "login.blocked", object_type="user", object_id=user.id)
        return _refused(count, policy)
    if not verify_password(user.password_hash, password):
        count = failures + 1 if counted else None
        return _refused(count_failure(actor, user, now, policy, count=count), policy)
    if not user.is_active:
        record(actor, "login.failure", object_type="user", object_id=user.id, summary="账号已停用")
        return LoginOutcome(None, "账号已停用，请联系单位管理员。")
    if (failures or counted) and not user.totp_secret:
        forget_failures(login)  # with a second factor, only once its code is right too
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    expired = _password_expired(user, now, policy)
    # Last: the audit chain stays locked from here until the login's transaction commits.
    record(actor, "login.success", object_type="user", object_id=user.id)
    if expired:
        user.must_change_password = True
        record(actor, "password.expired", object_type="user", object_id=user.id)
    return LoginOutcome(user, password_expired=expired)


def _password_expired(user: User, now: datetime, policy: LoginPolicy) -> bool:
    days = policy.password_days_privileged if is_privileged(user) else policy.password_days
    if not days or user.must_change_password:
        return False
    return (user.password_changed_at or user.created_at) < now - timedelta(days=days)


def count_failure(
    actor: Actor,
    user: User,
    now: datetime,
    policy: LoginPolicy,
    summary: str = "",
    *,
    count: int | None = None,
) -> int:
    """A wrong password or second-factor code for `user` (counted already when `count` is
    given); locks a privileged account after too many. The new count."""
    if count is None:
        count = _add_failure(user.login, now, policy)
    record(actor, "login.failure", object_type="user", object_id=user.id, summary=summary)
    if count >= policy.max_failures and is_privileged(user):
        user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
        record(
            actor,
            "login.locked",
            object_type="user",
            object_id=user.id,
            summary=f"连续失败 {count} 次，锁定 {policy.lockout_minutes} 分钟",
        )
    return count


def _refused(count: int, policy: LoginPolicy) -> LoginOutcome:
    return LoginOutcome(None, WRONG_CREDENTIALS, captcha_required=count >= policy.captcha_after)


def _add_failure(login: str, now: datetime, policy: LoginPolicy) -> int:
    """Count one failed attempt for `login` in one atomic statement; the new count."""
    table = LoginFailure.__table__
    stale = table.c.last_failure_at < now - policy.failure_window
    statement = (
        upserts.insert(table)
        .values(login=failure_key(login), failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.login],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(table.c.failures)
    )
    return db.session.execute(statement).scalar_one()


def forget_failures(login: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.login == failure_key(login)))


def unlock(user: User) -> None:
    """Clear the lock and the failed attempts (an administrator's unlock, a reset)."""
    user.locked_until = None
    forget_failures(user.login)


# --- login sessions ------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, ip: str, now: datetime, lifetime: timedelta) -> None:
    """A new login session for `user`; its token goes into the cookie via user.get_id()."""
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            or_(LoginSession.ended_at.is_not(None), LoginSession.started_at < now - lifetime),
        )
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            id=_digest(token),
            user_id=user.id,
            user_version=user.session_version,
            started_at=now,
            ip=ip[:64],
        )
    )
    user.session_token, user.session_started_at = token, now


def end_session(token: str | None, now: datetime) -> None:
    if token:
        db.session.execute(
            update(LoginSession).where(LoginSession.id == _digest(token)).values(ended_at=now)
        )


@functools.cache
def _session_user_query():
    # Built once: this runs before every request, answer saves included, and building the
    # statement cost more than running it. The roles come in the same query: every
    # protected page asks for them next; and so does whether the user is writing an exam
    # (the bank, the law library, practice and the lessons are closed then).
    writing = exists().where(
        Attempt.user_id == User.id, Attempt.status == AttemptStatus.IN_PROGRESS.value
    )
    return (
        select(User, LoginSession.started_at, writing)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.id == bindparam("digest"),
            LoginSession.ended_at.is_(None),
            LoginSession.user_version == User.session_version,
            User.is_active,
        )
        .options(joinedload(User.role_rows))
    )


def load_session_user(token: str) -> User | None:
    """Flask-Login's loader: one query for the session, its user, their roles and whether
    they are writing an exam."""
    row = db.session.execute(_session_user_query(), {"digest": _digest(token)}).unique().first()
    if row is None:
        return None
    user, started_at, writing = row
    user.session_token, user.session_started_at = token, started_at
    user.writing_exam = bool(writing)
    return user
