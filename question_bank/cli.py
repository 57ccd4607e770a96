"""`flask bank import` and `flask bank export`, for scripts and large files."""

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from core.audit import SYSTEM
from core.extensions import db
from question_bank import formats
from question_bank.bank import BankError, current_draft
from question_bank.importing import commit_import, plan_import, registrations_needed
from question_bank.models import Question, QuestionStatus

bank = AppGroup("bank", help="题库导入导出。")
FORMAT_CHOICE = click.Choice(sorted(formats.FORMATS))


def _print_errors(errors) -> None:
    for error in errors[:200]:
        where = f"第 {error.row} 行" if error.row else "文件"
        column = f"「{error.column}」" if error.column else ""
        click.echo(f"{where}{column}：{error.message}", err=True)
    if len(errors) > 200:
        click.echo(f"……另有 {len(errors) - 200} 处错误", err=True)


@bank.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, help="文件格式（默认按扩展名判断）")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@click.option("--keep-duplicates", is_flag=True, help="保留与题库或文件内重复的试题")
def import_command(path: Path, fmt: str | None, dry_run: bool, keep_duplicates: bool) -> None:
    """Import PATH into the bank: all rows or none."""
    plan = plan_import(path.read_bytes(), path.name, fmt)
    if plan.errors:
        _print_errors(plan.errors)
        raise click.ClickException(f"文件有 {len(plan.errors)} 处错误，未导入任何试题。")
    count = plan.count(keep_duplicates)
    click.echo(
        f"可导入 {count} 道试题；文件内重复 {len(plan.file_duplicates)} 道，"
        f"与题库重复 {len(plan.bank_duplicates)} 道"
        f"（{'保留' if keep_duplicates else '跳过'}）。"
    )
    for label in registrations_needed(plan):
        click.echo(f"将登记法律：{label}")
    if dry_run:
        click.echo("试运行：未写入。")
        return
    try:
        created = commit_import(SYSTEM, plan, keep_duplicates=keep_duplicates)
    except BankError as error:
        db.session.rollback()
        _print_errors(plan.errors)
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"已导入 {len(created)} 道试题。")


@bank.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, required=True, help="导出格式")
@click.option("--include-retired", is_flag=True, help="包括已停用的试题")
def export_command(path: Path, fmt: str, include_retired: bool) -> None:
    """Export the bank (current versions) to PATH."""
    if formats.FORMATS[fmt].export is None:
        raise click.ClickException(f"{formats.FORMATS[fmt].label} 只支持导入")
    stmt = select(Question).order_by(Question.id)
    if not include_retired:
        stmt = stmt.where(Question.status != QuestionStatus.RETIRED.value)
    drafts = [current_draft(q) for q in db.session.scalars(stmt)]
    data, warnings = formats.export_with_warnings(drafts, fmt)
    path.write_bytes(data)
    for warning in warnings:
        click.echo(warning, err=True)
    click.echo(f"已导出 {len(drafts) - len(warnings)} 道试题到 {path}。")
