"""Delivery settings as values: modes, time zones and quiet hours are valid once built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digests.modes import Mode, Quiet, SettingError, parse_timezone, split_mode, zone


def test_modes_parse_and_print() -> None:
    assert str(Mode.parse("instant")) == "instant"
    assert Mode.parse("daily") == Mode(True, 8, 0)
    assert str(Mode.parse("daily 9:05")) == "daily 09:05"
    assert Mode.parse("每日 18:30") == Mode.at("18:30")


@pytest.mark.parametrize("text", ["daily 25:00", "daily 99:99", "daily 12:60", "weekly", "daily x"])
def test_impossible_modes_are_refused(text: str) -> None:
    with pytest.raises(SettingError):
        Mode.parse(text)


def test_a_mode_cannot_be_built_invalid() -> None:
    with pytest.raises(SettingError):
        Mode(True, 24, 0)
    with pytest.raises(SettingError):
        Mode(True, 8, 60)


def test_split_mode_refuses_a_bad_time_instead_of_keeping_it_as_a_word() -> None:
    assert split_mode(["兵团", "daily", "09:00"]) == (Mode.at("09:00"), ["兵团"])
    assert split_mode(["daily"]) == (Mode.at("08:00"), [])
    with pytest.raises(SettingError) as info:
        split_mode(["daily", "25:00"])
    assert info.value.code == "bad_time" and info.value.value == "25:00"


def test_merge_instant_wins_else_the_earlier_time() -> None:
    assert Mode.at("09:00").merge(Mode.instant()) == Mode.instant()
    assert Mode.at("09:00").merge(Mode.at("07:30")) == Mode.at("07:30")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("Asia/Urumqi", "Asia/Urumqi"), ("+8", "UTC+08:00"), ("UTC+05:30", "UTC+05:30"),
     ("GMT-3", "UTC-03:00"), ("utc", "UTC+00:00")],
)  # fmt: skip
def test_time_zones(text: str, canonical: str) -> None:
    assert parse_timezone(text) == canonical


@pytest.mark.parametrize("text", ["Mars/Olympus", "+15", "UTC+05:99", "../etc/passwd", ""])
def test_bad_time_zones(text: str) -> None:
    with pytest.raises(SettingError):
        parse_timezone(text)


def test_daily_due_time_follows_the_zone() -> None:
    now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert Mode.at("10:30").due_at(now, zone("Asia/Urumqi")) == datetime(
        2026, 11, 25, 4, 30, tzinfo=UTC
    )
    assert Mode.at("10:30").due_at(now, zone("+8")) == datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    assert zone("UTC+05:30").utcoffset(now) == timedelta(hours=5, minutes=30)


def test_quiet_hours_wrap_midnight_and_defer_to_their_end() -> None:
    quiet = Quiet.parse("23:00-07:00")
    assert str(quiet) == "23:00-07:00"
    tz = zone("UTC+08:00")
    late = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)  # 00:30 local
    assert quiet.defer(late, tz) == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 07:00 local
    assert quiet.defer(datetime(2026, 11, 25, 4, 0, tzinfo=UTC), tz) is None  # 12:00 local
    for text in ("23:00", "25:00-07:00", "07:00-07:00"):
        with pytest.raises(SettingError):
            Quiet.parse(text)
