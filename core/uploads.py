"""Uploads between an import's preview and its confirmation.

Kept in the database, so that any worker can finish the import a preview began; the bank
import and the user import both keep theirs here.
"""

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.errors import ServiceError
from core.extensions import db

LIFETIME = timedelta(days=1)


class PendingUpload(db.Model):
    """An uploaded file that passed its checks and waits for its uploader to confirm."""

    __tablename__ = "pending_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: what the file is: a bank format ("xlsx", "gift" ...) or "users"
    format: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes]
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)


def base_name(filename: str | None, default: str = "上传文件") -> str:
    """The file's name without the client's folders (some browsers send the full path)."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or default


def stash(user_id: int, filename: str, kind: str, data: bytes) -> str:
    """Keep an upload for its confirmation step; returns the token that names it."""
    # Previews nobody confirmed within a day are dropped.
    db.session.execute(
        delete(PendingUpload).where(PendingUpload.created_at < clock.now() - LIFETIME)
    )
    token = secrets.token_urlsafe(24)
    db.session.add(
        PendingUpload(token=token, filename=filename, format=kind, data=data, created_by=user_id)
    )
    db.session.flush()
    return token


def take(user_id: int, token: str, kinds: Collection[str]) -> PendingUpload | None:
    """The upload this user stashed under `token`, if it is one of `kinds` and not expired."""
    return db.session.scalar(
        select(PendingUpload).where(
            PendingUpload.token == token,
            PendingUpload.created_by == user_id,
            PendingUpload.format.in_(list(kinds)),
            PendingUpload.created_at >= clock.now() - LIFETIME,
        )
    )


def discard(pending: PendingUpload) -> None:
    """The upload was imported: a second confirmation (double click, back button) finds
    nothing instead of importing the file again."""
    db.session.delete(pending)


# --- evidence: scans and photos ---------------------------------------------------------

EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
#: file kind → (the name endings it may have, the bytes it starts with)
EVIDENCE_KINDS = {
    "pdf": ((".pdf",), (b"%PDF-",)),
    "png": ((".png",), (b"\x89PNG\r\n\x1a\n",)),
    "jpeg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
}
EVIDENCE_MIMETYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}


class UploadError(ServiceError):
    code = "bad_upload"


def check_evidence(filename: str, data: bytes) -> str:
    """The kind of an uploaded scan or photo (pdf, png, jpeg), from its size, name and first
    bytes; anything else is refused before it is stored or opened."""
    if not data:
        raise UploadError("上传的文件是空的。")
    if len(data) > EVIDENCE_MAX_BYTES:
        raise UploadError(
            f"证明材料不能超过 {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB，"
            f"这个文件有 {len(data) / (1024 * 1024):.1f} MB。"
        )
    name = base_name(filename).lower()
    for kind, (endings, signatures) in EVIDENCE_KINDS.items():
        if name.endswith(endings):
            if not data.startswith(signatures):
                raise UploadError("文件内容与扩展名不符，不是有效的图片或 PDF 文件。")
            return kind
    raise UploadError("证明材料只支持图片（JPG、PNG）或 PDF 文件。")
