"""China time in one place, and column defaults that follow the clock tests set."""

from datetime import date, datetime

from core import clock

# 00:30 on 2 March in Beijing is still 1 March in UTC.
JUST_AFTER_MIDNIGHT_IN_BEIJING = datetime(2026, 3, 1, 16, 30)


def test_china_time_conversions():
    assert clock.china_time(JUST_AFTER_MIDNIGHT_IN_BEIJING) == datetime(2026, 3, 2, 0, 30)
    assert clock.from_china_time(datetime(2026, 3, 2, 0, 30)) == JUST_AFTER_MIDNIGHT_IN_BEIJING
    assert clock.china_time(None) is None and clock.from_china_time(None) is None
    assert clock.to_china_time(JUST_AFTER_MIDNIGHT_IN_BEIJING) == "2026-03-02 00:30"
    assert clock.to_china_time(None) == ""
    assert clock.epoch_ms(datetime(1970, 1, 1, 0, 0, 1)) == 1000


def test_today_and_its_bounds_are_beijing_days(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: JUST_AFTER_MIDNIGHT_IN_BEIJING)
    assert clock.china_today() == date(2026, 3, 2)
    start, end = clock.china_day_bounds(clock.china_today())
    assert (start, end) == (datetime(2026, 3, 1, 16), datetime(2026, 3, 2, 16))
    assert start <= clock.now() < end


def test_column_defaults_follow_a_patched_clock(app, make_user, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: JUST_AFTER_MIDNIGHT_IN_BEIJING)
    assert make_user().created_at == JUST_AFTER_MIDNIGHT_IN_BEIJING
