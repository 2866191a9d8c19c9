"""What the handlers depend on, built once and kept in ``application.bot_data["services"]``.

Passing the store, gazetteer, settings and clock in (rather than importing globals) lets tests
drive the real handlers with a temporary database and a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from digests.ingest import IngestStatus
from digests.regions import Gazetteer
from digests.search import most_specific
from digests.store import Store, utcnow

from .config import Settings

ADMIN_CACHE_SECONDS = 60.0


class QueryCache:
    """Short ids for search queries, so that page buttons fit Telegram's 64-byte callback data."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._next = 0

    def put(self, query: str) -> str:
        for key, value in self._items.items():
            if value == query:
                self._items.move_to_end(key)
                return key
        self._next += 1
        key = format(self._next, "x")
        self._items[key] = query
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        return self._items.get(key)


@dataclass
class Services:
    store: Store
    gazetteer: Gazetteer
    settings: Settings
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = utcnow
    queries: QueryCache = field(default_factory=QueryCache)
    admin_cache: dict[tuple[int, int], tuple[float, bool]] = field(default_factory=dict)
    # ingest in worker threads: one at a time, visible progress, stopped by SIGTERM
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    ingest_status: IngestStatus = field(default_factory=IngestStatus)
    stopping: threading.Event = field(default_factory=threading.Event)

    def cached_admin(self, chat_id: int, user_id: int) -> bool | None:
        entry = self.admin_cache.get((chat_id, user_id))
        if entry and entry[0] > self.monotonic():
            return entry[1]
        return None

    def remember_admin(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        self.admin_cache[(chat_id, user_id)] = (self.monotonic() + ADMIN_CACHE_SECONDS, is_admin)

    def region_labels(self, regions: dict[str, int], limit: int = 4) -> list[str]:
        return most_specific(self.gazetteer, regions, limit)
