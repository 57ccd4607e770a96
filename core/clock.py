"""The server's clock. Times are stored as naive UTC; tests move the clock by patching `now`."""

from datetime import UTC, datetime, timedelta

CHINA_TZ_OFFSET = timedelta(hours=8)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_china_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return (moment + CHINA_TZ_OFFSET).strftime("%Y-%m-%d %H:%M")
