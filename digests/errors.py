"""The engine's exception hierarchy, documented in one place.

``DigestError``
    Base class of every error the engine raises on purpose; callers (CLI, bot) catch this one and
    show ``str(error)`` to the user.
``RejectedInput``
    An article file or record that cannot be ingested (empty, binary, undecodable, no body, too
    large, malformed JSON…). ``source`` names the file (and line), ``reason`` says why.
``QueryError``
    A search query that cannot be run: empty, or made only of stop words / excluded terms.
``NotFound``
    An article id or region name that does not exist.
``StoreError``
    The database is unusable (newer schema than this code, corrupt file…).
"""

from __future__ import annotations


class DigestError(Exception):
    """Base class of the engine's errors; the message is meant for users."""


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


class StoreError(DigestError):
    """The database cannot be used."""
