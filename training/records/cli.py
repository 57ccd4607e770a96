"""`flask records ...`: maintenance of the study records' kept totals."""

import click
from flask.cli import with_appcontext

from core.extensions import db
from training.records import totals


@click.group("records")
def records() -> None:
    """Study records."""


@records.command("rebuild-totals")
@with_appcontext
def rebuild_totals() -> None:
    """Compute record_year_totals again from the approved attendances (after attendance
    was written by SQL, past the app)."""
    rows = totals.rebuild()
    db.session.commit()
    click.echo(f"已重建学法年度汇总：{rows} 行。")
