"""Publication dates as sources write them, read into ISO 8601 so they can be shown and sorted.

Feeds and files give ``published`` as ISO 8601, RFC 2822 (RSS), ``2026年11月20日`` or
``2026/11/20``; :func:`iso_published` turns those into ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS±HH:MM``
(the source's own offset kept) and leaves anything else as given, so nothing is lost.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CN_OR_SLASH = re.compile(
    r"\s*(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?\s*"
)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2200


def iso_published(text: str | None) -> str | None:
    """``text`` as an ISO 8601 date or date-time, or unchanged when it is not a date we read."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        if not _valid(parsed.year, parsed.month, parsed.day):
            return value
        if len(value) == 10:
            return parsed.date().isoformat()
        return parsed.isoformat(timespec="seconds")
    match = _CN_OR_SLASH.fullmatch(value)
    if match:
        y, m, d = (int(g) for g in match.group(1, 2, 3))
        if not _valid(y, m, d):
            return value
        if match.group(4) is None:
            return f"{y:04d}-{m:02d}-{d:02d}"
        hh, mm, ss = int(match.group(4)), int(match.group(5)), int(match.group(6) or 0)
        if hh > 23 or mm > 59 or ss > 59:
            return f"{y:04d}-{m:02d}-{d:02d}"
        return datetime(y, m, d, hh, mm, ss).isoformat(timespec="seconds")
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value
    if parsed is None or not _valid(parsed.year, parsed.month, parsed.day):
        return value
    return parsed.isoformat(timespec="seconds")


def published_date(published: str | None) -> str | None:
    """The ``YYYY-MM-DD`` day of a stored ``published`` value, or ``None`` when it has none."""
    match = _ISO_DAY.match(iso_published(published) or "")
    if match is None:
        return None
    y, m, d = (int(g) for g in match.group(1, 2, 3))
    return match.group(0) if _valid(y, m, d) else None
