"""`flask exams finalize`: submit every attempt whose time is up (run it from cron)."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock, outages
from core.extensions import db
from training.exams import attempts
from training.exams import outages as exam_outages

exams = AppGroup("exams", help="考试维护。")


@exams.command("finalize")
def finalize() -> None:
    """Submit, with what was saved, every attempt past its deadline and the grace."""
    grace = timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])
    # Outages this host saw and no request has recorded yet move their deadlines first.
    exam_outages.record_recovery(outages.watch(), clock.now(), grace)
    count = attempts.finalize_expired(clock.now(), grace)
    db.session.commit()
    click.echo(f"已自动交卷 {count} 份超时答卷。")
