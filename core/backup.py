"""`flask backup PATH` and `flask restore PATH`: a consistent copy of the database taken
while the site is in use, and putting one back.

SQLite: the online backup API copies the database in one step under a read lock (saves
wait for it, then go on); the copy is checked before it replaces PATH. PostgreSQL:
`pg_dump --format=custom` reads one snapshot and blocks nobody; `pg_restore --clean
--single-transaction` puts it back all or nothing. Both need the client tools of the
server's major version (Debian: postgresql-client) and a role that owns the tables.
"""

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.extensions import db


class BackupError(click.ClickException):
    """Shown to the operator as is (in Chinese); the command exits non-zero."""


def _url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _libpq_url(url) -> str:
    """The URL without SQLAlchemy's driver name, as pg_dump and pg_restore read it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"未找到 {name}：请安装与数据库服务器同一主版本的 postgresql-client。")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} 失败：{done.stderr.strip()[:2000]}")


def check_sqlite_copy(path: Path) -> str:
    """The schema revision of a sound SQLite copy of this app's database."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} 不是本系统的完整备份：{error}") from error
    if verdict != "ok" or revision is None:
        raise BackupError(f"{path} 未通过完整性检查：{verdict}")
    return revision[0]


def _sqlite_copy(source: str, target: str) -> None:
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)  # all pages in one step: a consistent copy
    origin.close()
    copy.close()


def backup_database(path: Path) -> str:
    """Write a backup of the app's database to `path`; returns what was written."""
    url = _url()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(url.database, str(partial))
        revision = check_sqlite_copy(partial)
        os.replace(partial, path)
        return f"SQLite 数据库，版本 {revision}"
    if url.get_backend_name() == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", _libpq_url(url)])
        _run([_tool("pg_restore"), "--list", str(partial)])  # readable, whole
        os.replace(partial, path)
        return "PostgreSQL 数据库（pg_dump 自定义格式）"
    raise BackupError(f"不支持备份 {url.get_backend_name()} 数据库。")


def restore_database(path: Path) -> None:
    """Replace the app's database by the backup at `path`, all or nothing."""
    if not path.is_file():
        raise BackupError(f"备份文件 {path} 不存在。")
    url = _url()
    if url.get_backend_name() == "sqlite":
        check_sqlite_copy(path)
        _sqlite_copy(str(path), url.database)
        return
    if url.get_backend_name() == "postgresql":
        refuse_while_in_use()
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(url)}",
                str(path),
            ]
        )
        return
    raise BackupError(f"不支持恢复 {url.get_backend_name()} 数据库。")


def refuse_while_in_use() -> None:
    """A running site must not see its database replaced: its workers keep per-process
    copies (question texts, pools) under ids that the restore hands out again."""
    db.engine.dispose()  # this process's own idle connections are not the site's
    others = []
    with db.engine.connect() as connection:
        # Client sessions only (not autovacuum or other server processes); a backend whose
        # client has just closed takes a moment to leave the list.
        for _ in range(10):
            others = connection.execute(
                text(
                    "SELECT usename, application_name, client_addr FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                )
            ).all()
            if not others:
                break
            time.sleep(0.2)
    db.engine.dispose()
    if others:
        who = "；".join(
            f"{user or '?'} {application or ''} {address or '本机套接字'}".strip()
            for user, application, address in others
        )
        raise BackupError(
            f"数据库仍有 {len(others)} 个其他连接（{who}），未恢复："
            "请先停止所有网站实例与 PgBouncer，再执行恢复；恢复后重新启动网站。"
        )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Back up the database to PATH while the site is in use."""
    what = backup_database(path)
    click.echo(f"已备份到 {path}（{what}，{path.stat().st_size} 字节）。")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问，直接覆盖当前数据库。")
def restore(path: Path, yes: bool) -> None:
    """Replace the database by the backup at PATH (stop the site first)."""
    if not yes:
        click.confirm(
            "恢复会用备份覆盖当前数据库中的全部数据，请先停止网站服务。确定恢复吗？", abort=True
        )
    restore_database(path)
    click.echo(f"已从 {path} 恢复数据库。")
