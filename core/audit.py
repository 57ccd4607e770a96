"""Append-only, hash-chained audit log: who did what, when, from where, to which object.

Each entry carries the SHA-256 of its own canonical serialisation, which includes the hash
of the entry before it, so a changed, removed or inserted entry breaks the chain that
`flask audit verify` walks. Appends are serialised (an advisory lock on PostgreSQL, the
database write lock on SQLite) so concurrent writers never fork the chain, and the time of
each entry is the database's, not the application's.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Index, String, Text, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.errors import ServiceError
from core.extensions import db
from core.spreadsheets import Sheet, write_xlsx

GENESIS_HASH = "0" * 64
#: The database refuses to delete entries younger than this, whatever the configuration.
MIN_RETENTION_DAYS = 180
#: pg_advisory_xact_lock key serialising chain appends (any constant shared by all writers).
CHAIN_LOCK_KEY = 7_305_180_001


@dataclass(frozen=True)
class Actor:
    """The person (or system) acting, and the address the request came from."""

    id: int | None
    login: str
    ip: str = ""


SYSTEM = Actor(id=None, login="system")


def anonymous(ip: str) -> Actor:
    """Someone not logged in: what they typed as a login is never their name here."""
    return Actor(id=None, login="anonymous", ip=ip)


#: how the log names an actor without an account
NO_ACCOUNT = {"system": "系统（自动）", "anonymous": "未登录的访客"}


# --- labels: each domain registers its own ----------------------------------------


@dataclass(frozen=True)
class Detail:
    """How to show one key of an entry's detail."""

    label: str
    #: the object kind the value's ids name; their names are kept with the entry
    refers_to: str = ""
    #: turns the stored value into text, for values that need the domain's words
    format: Callable[[object], str] | None = None
    #: the value is a [before, after] pair
    pair: bool = False


@dataclass(frozen=True)
class Action:
    label: str
    #: detail keys that mean something particular for this action
    details: Mapping[str, Detail] = field(default_factory=dict)
    #: every detail value is a [before, after] pair
    changes: bool = False


@dataclass(frozen=True)
class ObjectKind:
    label: str
    #: ids → names as they are now; called when an entry is recorded
    names: Callable[[list[int]], Mapping[int, str]] | None = None


@dataclass
class Labels:
    actions: Mapping[str, Action | str] = field(default_factory=dict)
    objects: Mapping[str, ObjectKind | str] = field(default_factory=dict)
    details: Mapping[str, Detail | str] = field(default_factory=dict)


_actions: dict[str, Action] = {}
_objects: dict[str, ObjectKind] = {}
_details: dict[str, Detail] = {}


def register(labels: Labels) -> None:
    """Add a domain's action, object and detail labels (called by the app factory)."""
    for key, value in labels.actions.items():
        _actions[key] = value if isinstance(value, Action) else Action(value)
    for key, value in labels.objects.items():
        _objects[key] = value if isinstance(value, ObjectKind) else ObjectKind(value)
    for key, value in labels.details.items():
        _details[key] = value if isinstance(value, Detail) else Detail(value)


def action_labels() -> dict[str, str]:
    return {key: action.label for key, action in sorted(_actions.items())}


def object_labels() -> dict[str, str]:
    return {key: kind.label for key, kind in _objects.items()}


def detail_label(action: str, key: str) -> str:
    """How a detail key of `action` is labelled (the key itself when nobody labelled it)."""
    return _detail(_action(action), key).label


def _action(name: str) -> Action:
    # An action nobody registered still shows, under its own name.
    return _actions.get(name) or Action(name)


def _detail(action: Action, key: str) -> Detail:
    return action.details.get(key) or _details.get(key) or Detail(key)


# --- the entry ---------------------------------------------------------------------

HASHED_FIELDS = (
    "prev_hash",
    "created_at",
    "actor_id",
    "actor_login",
    "ip",
    "action",
    "object_type",
    "object_id",
    "summary",
    "detail",
    "names",
)


def canonical_hash(fields: Mapping) -> str:
    """SHA-256 over the canonical serialisation; never change it (old entries use it)."""
    values = [fields[name] for name in HASHED_FIELDS]
    values[1] = values[1].isoformat(sep=" ", timespec="microseconds")
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the database's clock at the append, naive UTC
    created_at: Mapped[datetime] = mapped_column(index=True)
    #: no foreign key: the log must outlive and never block changes to accounts
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_login: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    #: names of the people and things concerned as they were then: {kind: {id: name}}
    names: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    def compute_hash(self) -> str:
        return canonical_hash({name: getattr(self, name) for name in HASHED_FIELDS})

    @property
    def china_time(self) -> str:
        return clock.china_time(self.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def action_label(self) -> str:
        return _action(self.action).label

    @property
    def names_dict(self) -> dict[str, dict[str, str]]:
        return json.loads(self.names or "{}")

    def name_of(self, kind: str, object_id: object) -> str:
        return self.names_dict.get(kind, {}).get(str(object_id), "")

    @property
    def actor_label(self) -> str:
        if self.actor_id is None:
            return NO_ACCOUNT.get(self.actor_login, self.actor_login)
        return self.name_of("user", self.actor_id) or self.actor_login

    @property
    def object_label(self) -> str:
        if not self.object_type:
            return ""
        kind = _objects.get(self.object_type) or ObjectKind(self.object_type)
        if not self.object_id:
            return kind.label
        name = self.name_of(self.object_type, self.object_id)
        return f"{kind.label} {name}" if name else f"{kind.label} #{self.object_id}"

    @property
    def detail_dict(self) -> dict:
        return json.loads(self.detail or "{}")

    def detail_lines(self) -> list[tuple[str, str]]:
        """The detail as (Chinese label, text) pairs, with names as they were then."""
        action = _action(self.action)
        names = self.names_dict
        lines = []
        for key, value in self.detail_dict.items():
            detail = _detail(action, key)
            if action.changes:
                detail = replace(detail, pair=True)
            lines.append((detail.label, _text(value, detail, action, names)))
        return lines


def china_time_text(value: object) -> str:
    """A stored time (a datetime kept as text in a detail) as people read it, marked."""
    if value in (None, ""):
        return "（无）"
    return f"{clock.to_china_time(datetime.fromisoformat(str(value)))}（北京时间）"


def _text(value: object, detail: Detail, action: Action, names: dict) -> str:
    if detail.pair and isinstance(value, list) and len(value) == 2:
        single = replace(detail, pair=False)
        before, after = (_text(part, single, action, names) for part in value)
        return f"{before} → {after}"
    if detail.format is not None:
        return detail.format(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or value in ("", [], {}):
        return "（空）"
    if isinstance(value, list):
        return "、".join(_text(item, detail, action, names) for item in value)
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            inner = _detail(action, key)
            parts.append(f"{inner.label} {_text(item, inner, action, names)}")
        return "，".join(parts)
    if detail.refers_to:
        return names.get(detail.refers_to, {}).get(str(value)) or f"#{value}"
    return str(value)


# --- appending -----------------------------------------------------------------------


def _lock_chain_and_read_clock() -> datetime:
    """Take the chain's lock for the rest of the transaction; return the database's time."""
    if db.session.get_bind().dialect.name == "postgresql":
        # One round trip: a subquery with a volatile function is not pulled up, so the lock
        # is taken before the clock is read.
        return db.session.scalar(
            text(
                "SELECT timezone('UTC', clock_timestamp())"
                " FROM (SELECT pg_advisory_xact_lock(:key)) AS chain_lock"
            ).bindparams(key=CHAIN_LOCK_KEY)
        )
    # SQLite lets one connection write at a time: a write that changes nothing takes that
    # lock before the head is read, so no other writer can append in between.
    db.session.execute(text("UPDATE audit_log SET id = id WHERE 0"))
    moment = db.session.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
    return datetime.fromisoformat(moment)


def _chain_head() -> AuditEntry | None:
    return db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))


def _ids_in(value: object) -> Iterable[int]:
    if isinstance(value, list):
        for item in value:
            yield from _ids_in(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value
    elif isinstance(value, str) and value.isdigit():
        yield int(value)


def _wanted_ids(action: Action, detail: dict, wanted: dict[str, set[int]]) -> None:
    """The ids, by object kind, that detail keys (nested ones too) refer to."""
    for key, value in detail.items():
        if kind := _detail(action, key).refers_to:
            wanted.setdefault(kind, set()).update(_ids_in(value))
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                _wanted_ids(action, item, wanted)


NAME_LOOKUP_CHUNK = 500


def _name_snapshot(actor: Actor, action: str, object_type: str, object_id: str, detail: dict):
    wanted: dict[str, set[int]] = {}
    if actor.id is not None:
        wanted.setdefault("user", set()).add(actor.id)
    if object_type and object_id.isdigit():
        wanted.setdefault(object_type, set()).add(int(object_id))
    _wanted_ids(_action(action), detail, wanted)
    snapshot = {}
    for kind, ids in wanted.items():
        resolver = _objects.get(kind, ObjectKind(kind)).names
        if resolver is None:
            continue
        ordered, found = sorted(ids), {}
        for start in range(0, len(ordered), NAME_LOOKUP_CHUNK):
            found.update(resolver(ordered[start : start + NAME_LOOKUP_CHUNK]))
        if found:
            snapshot[kind] = {str(key): name for key, name in sorted(found.items())}
    return snapshot


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def record(
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    summary: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append an entry in the current transaction; it commits or rolls back with the action.

    The chain stays locked until the transaction ends, so record near the end of the work.
    """
    object_id = str(object_id or "")
    detail = json.loads(_dumps(detail or {}))  # what is stored is what the hash covers
    names = _name_snapshot(actor, action, object_type, object_id, detail)
    created_at = _lock_chain_and_read_clock()
    head = _chain_head()
    entry = AuditEntry(
        created_at=created_at,
        actor_id=actor.id,
        actor_login=actor.login[:64],
        ip=actor.ip[:64],
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:500],
        detail=_dumps(detail),
        names=_dumps(names),
        prev_hash=head.entry_hash if head is not None else GENESIS_HASH,
    )
    entry.entry_hash = entry.compute_hash()
    db.session.add(entry)
    db.session.flush()  # the next append in this transaction chains to this one
    return entry


# --- verifying and purging -------------------------------------------------------------


@dataclass
class Verification:
    checked: int
    problem: str = ""
    entry_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


def _purge_anchors() -> set[str]:
    """Hashes of last purged entries: a chain may start by linking to one of them."""
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "audit.purge")
    )
    return {json.loads(detail).get("anchor_hash") for detail in details} - {""}


def _in_chain_order(batch: int = 1000) -> Iterable[AuditEntry]:
    last_id = 0
    while rows := db.session.scalars(
        select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
    ).all():
        yield from rows
        last_id = rows[-1].id


def verify() -> Verification:
    """Walk the chain from its first kept entry; report the first broken or missing link."""
    checked = 0
    previous: AuditEntry | None = None
    for entry in _in_chain_order():
        if entry.compute_hash() != entry.entry_hash:
            return Verification(
                checked, f"第 {entry.id} 号记录的内容与其哈希不符（被改动）", entry.id
            )
        if previous is None:
            if entry.prev_hash != GENESIS_HASH and entry.prev_hash not in _purge_anchors():
                return Verification(
                    checked, f"第 {entry.id} 号记录之前缺少记录（且没有相应的清理记录）", entry.id
                )
        elif entry.prev_hash != previous.entry_hash:
            return Verification(
                checked,
                f"第 {previous.id} 号与第 {entry.id} 号记录之间的链接断开（记录缺失或被改动）",
                entry.id,
            )
        elif entry.created_at < previous.created_at:
            return Verification(
                checked, f"第 {entry.id} 号记录的时间早于前一条（时间被改动）", entry.id
            )
        previous = entry
        checked += 1
    return Verification(checked)


def purge(actor: Actor, keep_days: int) -> int:
    """Delete the entries older than `keep_days` (at least MIN_RETENTION_DAYS); audited.

    The purge is recorded first with the hash of the last entry it deletes, which the
    first kept entry links to, so `verify` accepts the chain starting there.
    """
    if keep_days < MIN_RETENTION_DAYS:
        raise ValueError(f"审计日志至少保留 {MIN_RETENTION_DAYS} 天")
    cutoff = _lock_chain_and_read_clock() - timedelta(days=keep_days)
    # Delete a prefix of the chain: everything before the first entry young enough to keep.
    first_kept = select(func.min(AuditEntry.id)).where(AuditEntry.created_at >= cutoff)
    old = select(AuditEntry).where(AuditEntry.created_at < cutoff)
    if (first_kept_id := db.session.scalar(first_kept)) is not None:
        old = old.where(AuditEntry.id < first_kept_id)
    last_old = db.session.scalar(old.order_by(AuditEntry.id.desc()).limit(1))
    count = 0
    if last_old is not None:
        count = db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.id <= last_old.id)
        )
    record(
        actor,
        "audit.purge",
        summary=f"清理 {count} 条超过保留期（{keep_days} 天）的记录",
        detail={
            "keep_days": keep_days,
            "cutoff": cutoff.isoformat(timespec="seconds"),
            "deleted": count,
            "anchor_hash": last_old.entry_hash if last_old is not None else "",
        },
    )
    if last_old is None:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        # The app's role may not delete; a function owned by the log's owner may, and the
        # log's trigger still refuses any entry younger than MIN_RETENTION_DAYS.
        db.session.execute(text("SELECT audit_log_purge(:id)"), {"id": last_old.id})
    else:
        db.session.execute(text("DELETE FROM audit_log WHERE id <= :id"), {"id": last_old.id})
    db.session.expire_all()
    return count


# --- reading: the auditor's searches and exports ---------------------------------------


class AuditError(ServiceError):
    code = "audit_refused"


#: an export larger than this is refused: narrow the dates and export in parts
EXPORT_MAX_ROWS = 50_000
EXPORT_COLUMNS = (
    "编号",
    "时间（北京时间）",
    "操作人",
    "操作人账号",
    "来源地址",
    "操作",
    "对象",
    "摘要",
    "说明",
    "本条哈希",
)


@dataclass(frozen=True)
class Filters:
    """What the auditor searched the log for; dates are China calendar days."""

    actor_login: str = ""
    action: str = ""
    object_type: str = ""
    since: date | None = None
    until: date | None = None

    def as_detail(self) -> dict[str, str]:
        """The filters used, for the entry that records the search itself."""
        return {name: str(value) for name, value in asdict(self).items() if value}


def query_entries(filters: Filters = Filters()):
    """The filtered audit log, newest first, as a select statement to paginate."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if filters.actor_login:
        stmt = stmt.where(AuditEntry.actor_login == filters.actor_login)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.since:
        stmt = stmt.where(AuditEntry.created_at >= clock.china_day_bounds(filters.since)[0])
    if filters.until:
        stmt = stmt.where(AuditEntry.created_at < clock.china_day_bounds(filters.until)[1])
    return stmt


def record_search(actor: Actor, filters: Filters, page: int, found: int) -> None:
    """The auditor's own reading of the log is audited too: what was looked for."""
    detail = {"filters": filters.as_detail(), "page": page, "found": found}
    if not detail["filters"]:
        del detail["filters"]
    record(actor, "audit.search", summary=f"第 {page} 页，共 {found} 条", detail=detail)


def export_entries(actor: Actor, filters: Filters) -> bytes:
    """The filtered log as an xlsx workbook (every cell through the formula guard); audited."""
    stmt = query_entries(filters)
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if count > EXPORT_MAX_ROWS:
        raise AuditError(
            f"符合条件的记录有 {count} 条，超过一次导出的上限 {EXPORT_MAX_ROWS} 条，"
            "请缩小日期范围后分批导出。"
        )
    caption = "审计日志（" + ("；".join(_filter_lines(filters)) or "全部记录") + "）"
    data = write_xlsx(
        [
            Sheet(
                "审计日志",
                EXPORT_COLUMNS,
                (_export_row(entry) for entry in _newest_first(stmt)),
                widths=(8, 20, 18, 14, 16, 18, 30, 40, 60, 20),
                caption=caption,
            )
        ]
    )
    detail = {"filters": filters.as_detail(), "rows": count}
    if not detail["filters"]:
        del detail["filters"]
    record(actor, "audit.export", summary=f"导出 {count} 条审计记录", detail=detail)
    return data


def _filter_lines(filters: Filters) -> list[str]:
    action = _action("audit.search")
    return [
        f"{_detail(action, key).label}：{_text(value, _detail(action, key), action, {})}"
        for key, value in filters.as_detail().items()
    ]


def _newest_first(stmt, batch: int = 1000) -> Iterable[AuditEntry]:
    last_id = None
    while True:
        page = stmt if last_id is None else stmt.where(AuditEntry.id < last_id)
        rows = db.session.scalars(page.limit(batch)).all()
        yield from rows
        for row in rows:
            db.session.expunge(row)  # keep memory flat over a long export
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def _export_row(entry: AuditEntry) -> list:
    return [
        entry.id,
        entry.china_time,
        entry.actor_label,
        entry.actor_login,
        entry.ip,
        entry.action_label,
        entry.object_label,
        entry.summary,
        "\n".join(f"{label}：{value}" for label, value in entry.detail_lines()),
        entry.entry_hash,
    ]


def _action_label_of(value: object) -> str:
    return _action(str(value)).label


def _object_label_of(value: object) -> str:
    return (_objects.get(str(value)) or ObjectKind(str(value))).label


_METHODS = {"GET": "打开", "POST": "提交"}

_REQUEST = {
    "method": Detail("请求方式", format=lambda value: f"{_METHODS.get(str(value), '')}（{value}）"),
    "path": Detail("页面地址"),
}

_READING = {
    "filters": Detail("筛选条件"),
    "actor_login": Detail("操作人账号"),
    "action": Detail("操作", format=_action_label_of),
    "object_type": Detail("对象", format=_object_label_of),
    "since": Detail("起始日期"),
    "until": Detail("截止日期"),
}


LABELS = Labels(
    actions={
        "audit.purge": "清理过期审计记录",
        "audit.search": Action(
            "查询审计日志",
            details=_READING | {"page": Detail("页码"), "found": Detail("符合条件的记录数")},
        ),
        "audit.export": Action("导出审计日志", details=_READING | {"rows": Detail("导出条数")}),
        "request.refused": Action("拒绝访问（无权限）", details=_REQUEST),
        "request.rate_limited": Action("拒绝访问（请求过于频繁）", details=_REQUEST),
    },
    details={
        "keep_days": "保留天数",
        "cutoff": Detail("清理此前的记录", format=china_time_text),
        "deleted": "清理条数",
        "anchor_hash": "衔接哈希",
    },
)
