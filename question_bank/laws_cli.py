"""`flask laws import`: statute texts an operator downloaded, into the law library."""

from pathlib import Path

import click
from flask.cli import AppGroup

from core.audit import SYSTEM
from core.extensions import db
from question_bank.statutes.library import (
    LawImportPlan,
    broken_citations,
    commit_law_import,
    plan_law_import,
    preview_impact,
)

laws = AppGroup("laws", help="法律库：导入法律文本。")

PROBLEMS_SHOWN = 200


def parse_summary(plan: LawImportPlan) -> str:
    """One paragraph: what the file holds, as the preview shows it."""
    parsed = plan.parsed
    kinds, unnumbered = {}, []
    for part in parsed.parts:
        if part.number is None and part.kind != "修正案":
            unnumbered.append(part.heading)  # 民法典's 附则 after its seven books
        else:
            kinds[part.kind] = kinds.get(part.kind, 0) + 1
    structure = "，".join(
        [f"{count} {kind}" for kind, count in kinds.items()] + [f"另有{h}" for h in unnumbered]
    )
    structure = structure or "不分章节"
    articles = parsed.main_articles
    span = f"（{articles[0].heading}至{articles[-1].heading}）" if articles else ""
    lines = [
        f"《{plan.law_name}》（{plan.label or '版本未定'}）：{structure}；{len(articles)} 条{span}"
    ]
    if parsed.amendment_articles:
        lines.append(f"修正案 {len(parsed.amendment_articles)} 条")
    if parsed.preamble:
        lines.append(f"序言 {len(parsed.preamble)} 段")
    return "；".join(lines)


def _print_problems(plan: LawImportPlan) -> None:
    for message in plan.errors:
        click.echo(message, err=True)
    unit = plan.parsed.unit
    for problem in plan.parsed.problems[:PROBLEMS_SHOWN]:
        where = f"第 {problem.line} {unit}" if problem.line else "文件"
        text = f"「{problem.text}」" if problem.text else ""
        click.echo(f"{where}{text}：{problem.message}", err=True)
    if len(plan.parsed.problems) > PROBLEMS_SHOWN:
        click.echo(f"……另有 {len(plan.parsed.problems) - PROBLEMS_SHOWN} 处问题", err=True)


def _impact_line(result) -> str:
    if result.flagged_without_diff:
        return (
            "原版本没有导入文本，无法逐条比较："
            f"引用该法旧版本的 {result.flagged} 道试题全部待复核。"
        )
    return result.summary_line()


@laws.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--law", "law_name", help="法律简称（默认取自标题或文件名），如：行政处罚法")
@click.option("--version", "label", help="版本（默认取自题注），如：2021年修订")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
def import_command(paths: tuple[Path, ...], law_name: str | None, label: str | None, dry_run: bool):
    """Import statute texts (.docx, .txt, .md), each file all or nothing."""
    if len(paths) > 1 and (law_name or label):
        raise click.ClickException("指定 --law 或 --version 时一次只能导入一个文件")
    refused = 0
    for path in paths:
        plan = plan_law_import(path.read_bytes(), path.name, law_name, label)
        click.echo(f"{path.name}：{parse_summary(plan)}")
        if not plan.ok:
            _print_problems(plan)
            click.echo(f"{path.name}：有错误，未导入。", err=True)
            refused += 1
            continue
        if dry_run:
            impact = preview_impact(SYSTEM, plan)
            if impact is not None:
                click.echo(_impact_line(impact))
            click.echo("试运行：未写入。")
            continue
        result = commit_law_import(SYSTEM, plan)
        db.session.commit()
        if result.version.previous_id or result.flagged_without_diff:
            click.echo(_impact_line(result))
        if result.flagged_elsewhere:
            click.echo(f"待复核学习课程 {result.flagged_elsewhere}")
        broken = broken_citations(result.version)
        if broken:
            click.echo(f"题库中有 {len(broken)} 处引用了本版本中不存在的条款：", err=True)
            for item in broken[:PROBLEMS_SHOWN]:
                click.echo(f"  试题 #{item.question_id}：{item.message}", err=True)
        click.echo(f"已导入《{plan.law_name}》（{result.version.label}）。")
    if refused:
        raise click.ClickException(f"{refused} 个文件有错误，未导入。")
