"""The server's clock and China time, in one place.

Times are stored as naive UTC. People read and type China time (UTC+8 all year: China
has no daylight saving time). Tests move the clock by patching `now`; everything here,
column defaults included, reads it through the module so the patch holds everywhere.
"""

from datetime import UTC, date, datetime, time, timedelta

CHINA_TZ_OFFSET = timedelta(hours=8)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def epoch_ms(moment: datetime) -> int:
    """A stored time as the browser's clock counts it (milliseconds since 1970, UTC)."""
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def default_now() -> datetime:
    """For column defaults: looks `now` up at insert time, so a patched clock is used."""
    return now()


def china_time(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as China wall-clock time."""
    return None if moment is None else moment + CHINA_TZ_OFFSET


def from_china_time(wall_time: datetime | None) -> datetime | None:
    """A China wall-clock time (as typed into a form) as a stored naive UTC time."""
    return None if wall_time is None else wall_time - CHINA_TZ_OFFSET


def to_china_time(moment: datetime | None) -> str:
    """A stored time as people read it: 2026-03-02 08:00 (China time)."""
    if moment is None:
        return ""
    return china_time(moment).strftime("%Y-%m-%d %H:%M")


def china_today() -> date:
    """Today's date in Beijing."""
    return china_time(now()).date()


def china_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The stored-time range [start, end) of a China calendar day: for 2026-03-02,
    2026-03-01 16:00 to 2026-03-02 16:00 UTC."""
    start = from_china_time(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)
