"""Keeping record_year_totals right, in the transaction of each change to what counts
(an attendance approved at once or on review, an activity corrected or withdrawn), and
rebuilding it from the attendances (after a bulk load; the 0042 migration's backfill does
the same in SQL).

Only approved attendance is counted; each change moves the counters of the rows it
touches by an increment in SQL, so concurrent changes to the same row add up."""

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, case, delete, extract, func, insert, select

from core import upserts
from core.extensions import db
from training.records.models import (
    Activity,
    ActivityKind,
    Attendance,
    AttendanceStatus,
    YearTotal,
)

#: the counters: the hours and a count per activity kind (YearTotal's columns)
COUNTERS = ("hours", *(kind.value for kind in ActivityKind))


@functools.cache
def _upsert_statement(dialect_name: str):
    table = YearTotal.__table__
    stmt = upserts.insert(table, dialect_name).values(
        {name: bindparam(name) for name in ("user_id", "year", *COUNTERS)}
    )
    return stmt.on_conflict_do_update(
        index_elements=["user_id", "year"],
        set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS},
    )


def move(rows: Iterable[tuple[int, date, str, Decimal]], sign: int) -> None:
    """Add (sign +1) or take away (-1) attendances, each given as (user id, day held,
    activity kind, credit hours)."""
    changes: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for user_id, held_on, kind, credit in rows:
        counters = changes[(user_id, held_on.year)]
        counters[kind] += sign
        counters["hours"] += sign * credit
    params = [
        dict.fromkeys(COUNTERS, 0) | counters | {"user_id": user_id, "year": year}
        for (user_id, year), counters in changes.items()
    ]
    if params:
        db.session.execute(_upsert_statement(db.engine.dialect.name), params)


def counted(activity: Activity) -> list[tuple[int, date, str, Decimal]]:
    """The activity's approved attendances, as move() takes them."""
    return [
        (a.user_id, activity.held_on, activity.kind, activity.credit_hours)
        for a in activity.attendances
        if a.status == AttendanceStatus.APPROVED.value
    ]


def rebuild() -> int:
    """Compute the table again from the approved attendances, in SQL; returns the number
    of rows written."""
    db.session.execute(delete(YearTotal))
    year = extract("year", Activity.held_on)
    per_kind = [func.sum(case((Activity.kind == kind.value, 1), else_=0)) for kind in ActivityKind]
    db.session.execute(
        insert(YearTotal).from_select(
            ["user_id", "year", *COUNTERS],
            select(Attendance.user_id, year, func.sum(Activity.credit_hours), *per_kind)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.status == AttendanceStatus.APPROVED.value)
            .group_by(Attendance.user_id, year),
        )
    )
    return db.session.scalar(select(func.count()).select_from(YearTotal))
