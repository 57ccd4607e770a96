"""`flask bank import` and `flask bank export`, for scripts and large files."""

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from core.audit import SYSTEM
from core.extensions import db
from question_bank import exporting, formats
from question_bank.bank import BankError
from question_bank.importing import (
    commit_import,
    error_file,
    plan_import,
    registrations_needed,
)
from question_bank.models import Question, QuestionStatus
from question_bank.similar import key_text

bank = AppGroup("bank", help="题库导入导出。")
FORMAT_CHOICE = click.Choice(sorted(formats.FORMATS))


SHOWN_ERRORS = 200


def _print_errors(errors, errors_to: Path | None) -> None:
    for error in errors[:SHOWN_ERRORS]:
        where = f"第 {error.row} 行" if error.row else "文件"
        column = f"「{error.column}」" if error.column else ""
        click.echo(f"{where}{column}：{error.message}", err=True)
    if len(errors) > SHOWN_ERRORS:
        rest = "见错误文件" if errors_to else "用 --errors-to 文件.xlsx 可写出全部"
        click.echo(f"……另有 {len(errors) - SHOWN_ERRORS} 处错误（{rest}）", err=True)


def _write_errors(plan, errors_to: Path | None) -> None:
    if errors_to and plan.errors:
        errors_to.write_bytes(error_file(plan))
        click.echo(
            f"已把 {len(plan.error_rows)} 行的全部错误写入 {errors_to}（改正后可再次导入）。"
        )


@bank.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, help="文件格式（默认按扩展名和内容判断）")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@click.option("--keep-duplicates", is_flag=True, help="保留与题库或文件内重复的试题")
@click.option("--skip-invalid", is_flag=True, help="只导入通过检查的试题，跳过有错误的行")
@click.option(
    "--errors-to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="把有错误的行及错误原因写入此 .xlsx 文件（题库模板格式，改正后可再次导入）",
)
def import_command(
    path: Path,
    fmt: str | None,
    dry_run: bool,
    keep_duplicates: bool,
    skip_invalid: bool,
    errors_to: Path | None,
) -> None:
    """Import PATH into the bank: all rows or none (unless --skip-invalid)."""
    plan = plan_import(path.read_bytes(), path.name, fmt, near_duplicates=dry_run)
    for note in plan.notes:
        click.echo(note)
    if plan.errors:
        _print_errors(plan.errors, errors_to)
        _write_errors(plan, errors_to)
        if not (skip_invalid and plan.can_skip_invalid):
            raise click.ClickException(f"文件有 {len(plan.errors)} 处错误，未导入任何试题。")
        click.echo(f"跳过有错误的 {len(plan.error_rows)} 行，只导入通过检查的试题。")
    count = plan.count(keep_duplicates)
    click.echo(
        f"可导入 {count} 道试题；文件内重复 {len(plan.file_duplicates)} 道，"
        f"与题库重复 {len(plan.bank_duplicates)} 道"
        f"（{'保留' if keep_duplicates else '跳过'}）。"
    )
    for label in registrations_needed(plan):
        click.echo(f"将登记法律：{label}")
    if dry_run:
        conflicting = sum(1 for found in plan.similar if found.keys_differ)
        click.echo(f"题干相近（≥90%）{len(plan.similar)} 处，其中答案不同 {conflicting} 处。")
        for found in plan.similar[:SHOWN_ERRORS]:
            other = (
                f"题库试题 #{found.other.question_id}"
                if found.other.question_id
                else f"第 {found.other.row} 行"
            )
            differ = "，答案不同" if found.keys_differ else ""
            click.echo(
                f"  第 {found.item.row} 行 ≈ {other}（{found.percent}%）："
                f"{key_text(found.item.draft)} ／ {key_text(found.other.draft)}{differ}"
            )
        click.echo("试运行：未写入。")
        return
    try:
        created = commit_import(
            SYSTEM, plan, keep_duplicates=keep_duplicates, skip_invalid=skip_invalid
        )
    except BankError as error:
        db.session.rollback()
        _print_errors(plan.errors, errors_to)
        _write_errors(plan, errors_to)
        raise click.ClickException(str(error)) from error
    db.session.commit()
    if skip_invalid:
        _write_errors(plan, errors_to)  # now with any row the bank refused on writing
    skipped = f"，跳过有错误的 {len(plan.error_rows)} 行" if skip_invalid and plan.errors else ""
    click.echo(f"已导入 {len(created)} 道试题{skipped}。")


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
    entries = exporting.entries_of(db.session.scalars(stmt))
    data, warnings, exported = formats.export_with_warnings(entries, fmt)
    path.write_bytes(data)
    for warning in warnings:
        click.echo(warning, err=True)
    click.echo(f"已导出 {exported} 道试题到 {path}。")
