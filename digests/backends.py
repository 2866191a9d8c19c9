"""Which store to open: the SQLite file (the embedded default) or a PostgreSQL server.

``open_store(target)``: a ``postgresql://`` URL opens :class:`digests.pgstore.PgStore`, anything
else is a SQLite path for :class:`digests.store.Store`. :func:`store_target` picks the target the
way the CLI and the bot do: an explicit ``--db`` first, then ``DIGESTBOT_DATABASE_URL``, then
``DIGESTBOT_DB``, then the default file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .store import Clock, Store, utcnow

DEFAULT_DB = "data/digestbot.db"


def is_database_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def redact(target: str) -> str:
    """``target`` without a URL's password (for messages and logs)."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", target)


def store_location(store: Store) -> str:
    """What reopens ``store`` in another thread (a PostgreSQL store's URL is kept apart from its
    ``path``, which is redacted)."""
    return str(getattr(store, "url", store.path))


def store_target(explicit: str | None = None) -> str:
    return (
        explicit
        or os.environ.get("DIGESTBOT_DATABASE_URL", "").strip()
        or os.environ.get("DIGESTBOT_DB", "").strip()
        or DEFAULT_DB
    )


@contextmanager
def worker_store(store: Store, *, clock: Clock | None = None) -> Iterator[Store]:
    """A store for a worker thread: a PostgreSQL store is ``store`` itself (its pool serves any
    thread: no new pool per job round); a SQLite connection is not shared between threads, so a
    new one on the same file, closed afterwards."""
    if is_database_url(store_location(store)):
        yield store
        return
    with open_store(store.path, clock=clock or store.clock) as own:
        yield own


def open_store(target: str | Path, *, clock: Clock = utcnow) -> Store:
    """The store at ``target`` (see the module docstring); psycopg is imported only for a URL."""
    if is_database_url(target):
        from .pgstore import PgStore

        return PgStore(str(target), clock=clock)
    return Store(target, clock=clock)
