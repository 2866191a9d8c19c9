"""The update journal's writes, off the event loop: one thread with its own connection.

Every update is journaled before Telegram is told it arrived (:mod:`bot.updates`), each handled
one is marked done, and the updates in hand are touched every second (:mod:`bot.adoption`).
Each of those writes waits for SQLite's write lock while another connection holds it: the bot's
own corpus poll storing a batch, or a bulk ``digestbot ingest`` beside it, up to about a second
per batch (FTS5 merging at commit; docs/benchmarks.md). Made on the event loop, such a wait froze
every chat. Here they run on one thread, in the order asked (an update's row is written before
it is marked done), with that thread's own SQLite connection (a connection is not shared
between threads); a PostgreSQL store's pool serves the thread as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from digests.backends import is_database_url, open_store, store_location
from digests.store import Store

T = TypeVar("T")


class JournalWriter:
    """Runs the journal's statements on its thread, in order, on its own store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._shared = is_database_url(store_location(store))
        self._own: Store | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="journal")  # starts on first use

    def _target(self) -> Store:
        if self._shared:
            return self.store
        if self._own is None:
            self._own = open_store(store_location(self.store), clock=self.store.clock)
        return self._own

    def submit(self, write: Callable[[Store], T]) -> Future[T]:
        """Queue ``write(store)``; the future holds its result or its exception (after
        :meth:`close`, ``write`` runs at once, on the caller's thread and the bot's store)."""
        try:
            return self._thread.submit(lambda: write(self._target()))
        except RuntimeError:  # closed: the bot is stopping
            done: Future[T] = Future()
            try:
                done.set_result(write(self.store))
            except Exception as exc:  # handed over like the thread's
                done.set_exception(exc)
            return done

    async def run(self, write: Callable[[Store], T]) -> T:
        """``write(store)`` on the journal's thread, awaited without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(write))

    def close(self) -> None:
        """Finish the queued writes and close the thread's own connection."""
        self._thread.shutdown(wait=True)
        if self._own is not None:
            self._own.close()
            self._own = None
