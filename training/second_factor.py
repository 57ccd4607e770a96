"""The optional second factor: TOTP codes (RFC 6238, any authenticator app) with one-time
recovery codes, and the security admin's setting that requires it for privileged roles."""

import hashlib
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select

from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.passwords import verify_password
from training.logins import is_privileged
from training.models import RecoveryCode, Setting, User

ISSUER = "学法用法平台"
RECOVERY_CODE_COUNT = 10
REQUIRED_KEY = "totp_required_for_privileged"


class SecondFactorError(ServiceError):
    code = "second_factor"


def new_secret() -> str:
    return pyotp.random_base32()


def qr_data_uri(user: User, secret: str) -> str:
    """The enrolment QR code as an SVG data: URI (drawn here; CSP allows img data:)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.login, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_data_uri(scale=5)


def _accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (one step of clock drift either way), if not used."""
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code) and step > (last_step or 0):
            return step
    return None


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


def enable(actor: Actor, user: User, secret: str, code: str, now: datetime) -> list[str]:
    """Turn the second factor on once the app shows the right code; the recovery codes."""
    step = _accepted_step(secret, code, now, None)
    if step is None:
        raise SecondFactorError("动态验证码不正确，请核对手机时间后重新输入验证器中的 6 位数字。")
    user.totp_secret, user.totp_last_step = secret, step
    record(actor, "totp.enable", object_type="user", object_id=user.id)
    return _new_recovery_codes(user)


def check(actor: Actor, user: User, code: str, now: datetime) -> bool:
    """A TOTP code or an unused recovery code (which is then used up)."""
    step = _accepted_step(user.totp_secret or "", code, now, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = now
    record(actor, "totp.recovery_code", object_type="user", object_id=user.id)
    return True


def _confirm(actor: Actor, user: User, code: str, now: datetime) -> None:
    if not check(actor, user, code, now):
        raise SecondFactorError("动态验证码或恢复码不正确。")


def regenerate_recovery_codes(actor: Actor, user: User, code: str, now: datetime) -> list[str]:
    _confirm(actor, user, code, now)
    record(actor, "totp.recovery_codes", object_type="user", object_id=user.id)
    return _new_recovery_codes(user)


def disable(actor: Actor, user: User, password: str, code: str, now: datetime) -> None:
    if required_for(user):
        raise SecondFactorError("安全管理员要求您的角色使用动态口令，不能关闭。")
    if not verify_password(user.password_hash, password):
        raise SecondFactorError("密码不正确。")
    _confirm(actor, user, code, now)
    user.totp_secret = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(actor, "totp.disable", object_type="user", object_id=user.id)


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def required() -> bool:
    return db.session.get(Setting, REQUIRED_KEY) is not None


def required_for(user: User) -> bool:
    return is_privileged(user) and required()


def set_required(actor: Actor, on: bool) -> None:
    """The security admin's switch: privileged roles must use the second factor."""
    setting = db.session.get(Setting, REQUIRED_KEY)
    if on == (setting is not None):
        return
    if on:
        db.session.add(Setting(key=REQUIRED_KEY, value="1"))
    else:
        db.session.delete(setting)
    record(
        actor,
        "settings.totp_required",
        summary="特权账号须使用动态口令" if on else "特权账号不再强制使用动态口令",
        detail={"required": on},
    )
