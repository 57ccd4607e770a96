"""`flask audit verify`, `flask audit purge` and `flask audit grant-app-role`."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text

from core import audit
from core.extensions import db

audit_cli = AppGroup("audit", help="审计日志维护。")


@audit_cli.command("verify")
def verify_command() -> None:
    """Walk the hash chain; exit 1 at the first broken or missing link."""
    result = audit.verify()
    if not result.ok:
        checked = result.checked
        raise click.ClickException(f"审计日志校验失败（已核对 {checked} 条）：{result.problem}")
    click.echo(f"审计日志完整：共 {result.checked} 条，哈希链连续。")


@audit_cli.command("purge")
def purge_command() -> None:
    """Delete entries older than AUDIT_RETENTION_DAYS (the purge itself is recorded)."""
    keep_days = current_app.config["AUDIT_RETENTION_DAYS"]
    try:
        count = audit.purge(audit.SYSTEM, keep_days)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"已清理 {count} 条超过 {keep_days} 天的审计记录。")


@audit_cli.command("grant-app-role")
@click.argument("role")
def grant_app_role(role: str) -> None:
    """PostgreSQL, run as the owner after each upgrade: give ROLE what the app needs.

    ROLE reads and writes every table, but may only read and append the audit log (and
    purge it through audit_log_purge), and owns nothing, so it cannot disable its guards.
    """
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("只有 PostgreSQL 需要为应用单独授权。")
    quoted = db.session.scalar(text("SELECT quote_ident(:role)"), {"role": role})
    for statement in (
        f"GRANT USAGE ON SCHEMA {_schema()} TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {_schema()} TO {quoted}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_schema()} TO {quoted}",
        f"GRANT EXECUTE ON FUNCTION audit_log_purge(bigint) TO {quoted}",
    ):
        db.session.execute(text(statement))
    db.session.commit()
    click.echo(f"已为「{role}」授权：审计日志只可查询和追加。")


def _schema() -> str:
    return db.session.scalar(text("SELECT quote_ident(current_schema())"))
