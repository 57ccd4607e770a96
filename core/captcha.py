"""The login CAPTCHA, drawn by the app itself (no outside service): a few characters in a
distorted PNG. It does not stop a determined OCR; with the per-IP limit it makes guessing
passwords slow and costly without ever locking anyone out."""

import secrets

from captcha.image import ImageCaptcha

# Characters easy to read on a phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
ALPHABET = "3467ACDEFGHJKMNPQRTUVWXY"
LENGTH = 4

_image = ImageCaptcha(width=160, height=60)


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def draw(answer: str) -> bytes:
    return _image.generate(answer, format="png").getvalue()


def matches(answer: str, typed: str) -> bool:
    return secrets.compare_digest(answer.encode(), typed.strip().upper().encode())
