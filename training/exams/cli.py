"""`flask exams finalize`: submit every attempt whose time is up (run it from cron)."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, update

from core import clock, outages
from core.extensions import db
from question_bank import queries
from question_bank.types import CHOICE_TYPES
from training.exams import attempts
from training.exams import outages as exam_outages
from training.exams.models import PaperItem, Response

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


#: paper items filled per transaction: each batch locks only its own rows
FILL_BATCH = 20_000


def fill_picked(batch: int = FILL_BATCH) -> int:
    """Copy the answer onto every scored choice item that lacks it, a batch of ids per
    commit; returns how many items were filled. Papers scored by a worker still running the
    code before migration 0055 (a rolling upgrade) have none, and the item analysis reads
    the choices from the items alone."""
    items = PaperItem.__table__
    answer = (
        select(Response.answer)
        .where(Response.attempt_id == items.c.attempt_id, Response.item_id == items.c.id)
        .scalar_subquery()
    )
    last = db.session.scalar(select(func.max(items.c.id))) or 0
    filled = 0
    for low in range(0, last + 1, batch):
        filled += db.session.execute(
            update(items)
            .where(
                items.c.id.between(low, low + batch - 1),
                items.c.picked.is_(None),
                items.c.earned.is_not(None),
                items.c.question_version_id.in_(queries.version_ids_of_types(CHOICE_TYPES)),
                answer.is_not(None),
            )
            .values(picked=answer)
        ).rowcount
        db.session.commit()
    return filled


@exams.command("fill-picked")
def fill_picked_command() -> None:
    """After a rolling upgrade past migration 0055: the choices of papers that workers
    still running the older code scored."""
    click.echo(f"已补记 {fill_picked()} 道选择题的作答选项。")
