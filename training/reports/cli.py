"""`flask reports ...`: maintenance of the report summaries."""

import click
from flask.cli import with_appcontext

from core.extensions import db
from training.reports import summaries


@click.group("reports")
def reports() -> None:
    """Report summaries."""


@reports.command("rebuild-summaries")
@with_appcontext
def rebuild_summaries() -> None:
    """Compute exam_summaries again from rosters and attempts (after moving people between
    units; an upgrade does it once by itself, in migration 0051)."""
    rows = summaries.rebuild()
    db.session.commit()
    click.echo(f"已重建考试汇总：{rows} 行。")
