"""Append-only audit log: who did what, when, from where, to which object."""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.extensions import db


@dataclass(frozen=True)
class Actor:
    """The person (or system) acting, and the address the request came from."""

    id: int | None
    login: str
    ip: str = ""


SYSTEM = Actor(id=None, login="system")

ACTION_LABELS = {
    "login.success": "登录成功",
    "login.failure": "登录失败",
    "login.locked": "连续失败被锁定",
    "login.blocked": "锁定期内尝试登录",
    "logout": "退出登录",
    "session.timeout": "超时自动退出",
    "password.change": "修改密码",
    "user.create": "新建用户",
    "user.update": "修改用户",
    "user.roles": "变更角色",
    "user.deactivate": "停用用户",
    "user.activate": "启用用户",
    "user.password_reset": "重置密码",
    "user.unlock": "解除锁定",
    "user.import": "批量导入用户",
    "unit.create": "新建单位",
    "unit.rename": "修改单位",
    "unit.delete": "删除单位",
    "admin.create_cli": "命令行创建管理员",
    "blueprint.save": "保存组卷规则",
    "exam.save": "保存考试设置",
    "exam.publish": "发布考试",
    "exam.close": "结束考试",
    "exam.regrade": "更正答案后重新评分",
    "batch.create": "新建考试场次",
    "batch.roster": "调整考试名单",
    "batch.extend": "延长个人考试时间",
    "exam.export": "导出考试成绩",
    "question.create": "新建试题",
    "question.edit": "修改试题",
    "question.retire": "停用试题",
    "question.restore": "恢复试题",
    "question.confirm": "复核确认",
    "question.import": "导入试题",
    "question.tag": "批量添加知识点",
    "law.create": "登记法律",
    "law.revise": "登记法律修订",
}

OBJECT_LABELS = {
    "user": "用户",
    "unit": "单位",
    "question": "试题",
    "law": "法律",
    "blueprint": "组卷规则",
    "exam": "考试",
    "batch": "考试场次",
    "attempt": "答卷",
}


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    #: no foreign key: the log must outlive and never block changes to accounts
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_login: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def object_label(self) -> str:
        if not self.object_type:
            return ""
        label = OBJECT_LABELS.get(self.object_type, self.object_type)
        return f"{label} #{self.object_id}" if self.object_id else label

    @property
    def detail_dict(self) -> dict:
        return json.loads(self.detail or "{}")


def record(
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    summary: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Add an entry to the current transaction; it commits or rolls back with the action."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_login=actor.login,
        ip=actor.ip,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:500],
        detail=json.dumps(detail or {}, ensure_ascii=False, default=str),
    )
    db.session.add(entry)
    return entry


def query_entries(
    *,
    actor_login: str = "",
    action: str = "",
    object_type: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
):
    """The filtered audit log, newest first, as a select statement to paginate."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor_login:
        stmt = stmt.where(AuditEntry.actor_login == actor_login)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if since:
        stmt = stmt.where(AuditEntry.created_at >= since)
    if until:
        stmt = stmt.where(AuditEntry.created_at < until)
    return stmt
