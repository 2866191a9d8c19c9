"""Delivery settings as values: the mode (``instant`` / ``daily HH:MM``), a chat's time zone and
its quiet hours.

Each is validated when it is built (``Mode.parse("daily 25:00")`` raises :class:`SettingError`),
so a value that exists is a valid one; the store keeps their canonical strings (``str(mode)``),
and everything that reads a stored string goes through these parsers again. Errors carry a
``code`` and the offending ``value`` so the bot can say what was wrong in the user's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import DigestError

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_DAILY = "08:00"
_HHMM = re.compile(r"^(\d{1,2})[:：](\d{2})$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?:[:：]?(\d{2}))?$", re.IGNORECASE)
_INSTANT_WORDS = ("instant", "即时", "实时")
_DAILY_WORDS = ("daily", "每日", "每天")


class SettingError(DigestError):
    """A delivery setting that cannot be used: ``code`` is one of ``bad_time``, ``bad_mode``,
    ``bad_timezone``, ``bad_quiet``; ``value`` is what was given."""

    def __init__(self, code: str, value: str) -> None:
        super().__init__(code, value=value)
        self.value = value


def parse_hhmm(text: str) -> tuple[int, int]:
    """``"9:05"`` → (9, 5); hour 0..23, minute 0..59, else ``SettingError("bad_time")``."""
    match = _HHMM.match(text.strip())
    if not match:
        raise SettingError("bad_time", text)
    hour, minute = int(match.group(1)), int(match.group(2))
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise SettingError("bad_time", text)
    return hour, minute


@dataclass(frozen=True, order=True)
class Mode:
    """``instant`` (``daily`` False) or a daily digest at ``hour:minute`` in the chat's zone."""

    daily: bool = False
    hour: int = 0
    minute: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise SettingError("bad_time", f"{self.hour}:{self.minute:02d}")
        if not self.daily and (self.hour or self.minute):
            raise SettingError("bad_mode", "instant with a time")

    @classmethod
    def instant(cls) -> Mode:
        return cls()

    @classmethod
    def at(cls, hhmm: str) -> Mode:
        hour, minute = parse_hhmm(hhmm)
        return cls(True, hour, minute)

    @classmethod
    def parse(cls, text: str) -> Mode:
        """``instant`` | ``daily`` (08:00) | ``daily HH:MM`` (also 即时 / 每日 …)."""
        words = text.split()
        if len(words) == 1 and words[0].lower() in _INSTANT_WORDS:
            return cls.instant()
        if words and words[0].lower() in _DAILY_WORDS and len(words) <= 2:
            return cls.at(words[1] if len(words) == 2 else DEFAULT_DAILY)
        raise SettingError("bad_mode", text)

    @property
    def time(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def __str__(self) -> str:
        return f"daily {self.time}" if self.daily else "instant"

    def due_at(self, now: datetime, zone: tzinfo) -> datetime:
        """When something planned ``now`` in this mode may be sent (UTC)."""
        if not self.daily:
            return now
        local = now.astimezone(zone)
        target = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if target <= local:
            target += timedelta(days=1)
        return target.astimezone(UTC)

    def merge(self, other: Mode | None) -> Mode:
        """Two subscriptions of one chat match an article: instant wins, else the earlier time."""
        if other is None:
            return self
        if not self.daily or not other.daily:
            return Mode.instant()
        return min(self, other)


def split_mode(words: list[str]) -> tuple[Mode | None, list[str]]:
    """Pull ``instant`` / ``daily [HH:MM]`` out of command words: (mode, the other words).

    ``daily`` followed by something time-like that is not a valid time (``25:00``, ``9:99``)
    raises ``SettingError("bad_time")`` rather than leaving it to be read as a keyword."""
    mode: Mode | None = None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in _INSTANT_WORDS:
            mode = Mode.instant()
        elif word in _DAILY_WORDS:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if re.fullmatch(r"\d{1,2}[:：]\d{1,2}", nxt):
                mode = Mode.at(nxt)
                i += 1
            else:
                mode = Mode.at(DEFAULT_DAILY)
        else:
            rest.append(words[i])
        i += 1
    return mode, rest


# -- time zones ---------------------------------------------------------------------------------
def parse_timezone(text: str) -> str:
    """A canonical time-zone string: an IANA name (``Asia/Urumqi``, case as given by the tz
    database) or a fixed offset ``UTC+08:00`` (from ``+8``, ``UTC+05:30``, ``GMT-3``)."""
    value = text.strip()
    match = _OFFSET.match(value)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise SettingError("bad_timezone", text)
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    if value.upper() in ("UTC", "GMT", "Z"):
        return "UTC+00:00"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}", value):
        raise SettingError("bad_timezone", text)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SettingError("bad_timezone", text) from None
    return value


def zone(name: str | None) -> tzinfo:
    """The tzinfo of a stored zone string (:func:`parse_timezone`'s output)."""
    canonical = parse_timezone(name or DEFAULT_TZ)
    if canonical.startswith("UTC") and canonical[3:4] in "+-" and len(canonical) == 9:
        sign = 1 if canonical[3] == "+" else -1
        delta = timedelta(hours=int(canonical[4:6]), minutes=int(canonical[7:9]))
        return timezone(sign * delta) if delta else UTC
    return ZoneInfo(canonical)


# -- quiet hours ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quiet:
    """Quiet hours ``start``–``end`` (local minutes after midnight; may wrap past midnight)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < 1440 and 0 <= self.end < 1440) or self.start == self.end:
            raise SettingError("bad_quiet", str(self))

    @classmethod
    def parse(cls, text: str) -> Quiet:
        """``23:00-07:00`` (also ``–``, ``~``, ``至``)."""
        parts = re.split(r"\s*(?:-|–|~|～|至|到)\s*", text.strip())
        if len(parts) != 2:
            raise SettingError("bad_quiet", text)
        try:
            (h1, m1), (h2, m2) = parse_hhmm(parts[0]), parse_hhmm(parts[1])
        except SettingError:
            raise SettingError("bad_quiet", text) from None
        if (h1, m1) == (h2, m2):
            raise SettingError("bad_quiet", text)
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def defer(self, when: datetime, zone_: tzinfo) -> datetime | None:
        """The end of the quiet period ``when`` falls in (UTC), or ``None`` if it is outside."""
        local = when.astimezone(zone_)
        if not self.contains(local.hour * 60 + local.minute):
            return None
        end = local.replace(hour=self.end // 60, minute=self.end % 60, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)
