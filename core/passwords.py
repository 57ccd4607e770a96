"""Password hashing (Argon2id) and the password policy."""

import re
import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

# OWASP Password Storage Cheat Sheet, Argon2id minimum "m=7 MiB, t=5, p=1": the same
# strength as m=19 MiB, t=2, and the cheapest of the listed options in CPU here (~15 ms),
# which keeps the login burst at exam start near 100 logins per second on two cores.
_hasher = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)

# Verified against for unknown accounts, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8
# zxcvbn's time grows with the length; past this many characters a password is long enough.
MAX_CHECKED = 64
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _class_count(password: str) -> int:
    counts = [any(ch in chars for ch in password) for chars in _CLASSES]
    counts.append(any(not ch.isalnum() for ch in password))
    return sum(counts)


# zxcvbn's score (0-4) below which a password is too easy to guess: 3 means "safely
# unguessable" against online attacks with throttling (about 10^8 guesses).
MIN_SCORE = 3

# Common in Chinese passwords and not in zxcvbn's (English) lists: 520 / 1314 ("I love you
# for a lifetime"), pinyin phrases.
CHINESE_PATTERNS = ("5201314", "1314520", "520", "1314", "woaini", "aini", "woaiwojia")
MOBILE_NUMBER = re.compile(r"1[3-9]\d{9}")
# Any 6 digits in a row taken from a personal number: the birthday (YYMMDD), the tail.
PERSONAL_DIGITS = 6


@dataclass(frozen=True)
class PersonalData:
    """What a guesser who knows the person tries first."""

    login: str = ""
    name: str = ""
    phone: str = ""
    id_number: str = ""


def _digit_runs(number: str) -> set[str]:
    digits = "".join(ch for ch in number if ch.isdigit())
    return {digits[i : i + PERSONAL_DIGITS] for i in range(len(digits) - PERSONAL_DIGITS + 1)}


def policy_error(password: str, person: PersonalData = PersonalData()) -> str | None:
    """Why `password` breaks the policy, in Chinese, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"密码长度至少 {MIN_LENGTH} 位"
    if _class_count(password) < 3:
        return "密码须包含大写字母、小写字母、数字、符号中的至少三类"
    lowered = password.lower()
    if person.login and person.login.lower() in lowered:
        return "密码不能包含账号"
    if any(pattern in lowered for pattern in CHINESE_PATTERNS):
        return "密码不能包含 520、1314、woaini 等常见组合"
    if MOBILE_NUMBER.search(password):
        return "密码不能包含手机号"
    if any(run in password for run in _digit_runs(person.id_number) | _digit_runs(person.phone)):
        return "密码不能包含身份证号、生日或手机号中的数字"
    inputs = [
        value for value in (person.login, person.name, person.phone, person.id_number) if value
    ]
    if zxcvbn(password[:MAX_CHECKED], user_inputs=inputs)["score"] < MIN_SCORE:
        return "密码太容易被猜中：请加长，并避免常见单词、姓名、键盘序列、年份和日期"
    return None


def generate_temporary_password() -> str:
    """A random password that satisfies the policy, for new accounts and resets."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(10)) + "@"
        if policy_error(candidate) is None:
            return candidate
