"""The engine's exception hierarchy, documented in one place.

Errors a person can cause carry a ``code`` and the ``values`` that explain it, so that each
front end words them in its reader's language (the bot through ``bot/i18n.py``, keys
``err_<code>``); ``str(error)`` is the English wording below, for the command line and logs.

``DigestError``
    Base class of every error the engine raises on purpose; callers (CLI, bot) catch this one.
``RejectedInput``
    An article file or record that cannot be ingested (empty, binary, undecodable, no body, too
    large, malformed JSON…). ``source`` names the file (and line), ``reason`` says why.
``QueryError``
    A search query that cannot be run: empty, or made only of stop words / excluded terms.
``NotFound``
    An article id or region name that does not exist.
``FilterError``
    Subscription filters or settings that cannot be used as given (unknown region, too many…);
    the request is refused as a whole, never widened. ``digests.modes.SettingError`` is its
    sibling for delivery settings (times, modes, time zones, quiet hours).
``StoreError``
    The database is unusable (newer schema than this code, corrupt file…).
"""

from __future__ import annotations

# English wording of every code; the bot has its own in each language (bot/i18n.py).
MESSAGES: dict[str, str] = {
    "query_empty": "empty query: type a word to search for",
    "query_only_exclusions": "a query needs at least one word to include, not only -exclusions",
    "query_only_common": "the query has only very common words ({words}); add a more specific word",
    "query_no_words": "nothing to search for: the query has no words, only symbols",
    "unknown_region_code": "unknown region code {code}",
    "unknown_place": "no place called {name!r}",
    "unknown_region": "unknown region: {term}",
    "filter_too_long": "too long (at most {max} characters): {term}",
    "empty_source": "a source filter needs a name (source:NAME): {term}",
    "filter_too_many": "at most {max} keywords and regions per subscription",
    "bad_time": "not a time of day (HH:MM, 00:00–23:59): {value}",
    "bad_mode": "not a delivery mode (instant or daily HH:MM): {value}",
    "bad_timezone": "unknown time zone (e.g. Asia/Urumqi, +8, UTC+05:30): {value}",
    "bad_quiet": "not quiet hours (e.g. 23:00-07:00 or off): {value}",
    "bad_setting": "unknown setting: {word}",
}


class DigestError(Exception):
    """Base class of the engine's errors: a ``code`` and the ``values`` that fill its message.

    A code missing from :data:`MESSAGES` is taken as the message itself (internal errors)."""

    def __init__(self, code: str, /, **values: object) -> None:
        self.code = code
        self.values = values
        template = MESSAGES.get(code)
        message = template.format_map(_Blank(values)) if template else code
        suggestions = values.get("suggestions")
        if isinstance(suggestions, list | tuple) and suggestions:
            message += "; did you mean: " + "、".join(str(s) for s in suggestions)
        super().__init__(message)


class _Blank(dict[str, object]):
    """Format values where a missing one is left out rather than a ``KeyError``."""

    def __missing__(self, key: str) -> str:
        return ""


class RejectedInput(DigestError):
    """An input file or record that is not ingested."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class QueryError(DigestError):
    """A query that cannot be run as given."""


class NotFound(DigestError):
    """A missing article or region."""


class FilterError(DigestError):
    """Subscription filters or settings that cannot be used as given."""


class StoreError(DigestError):
    """The database cannot be used."""
