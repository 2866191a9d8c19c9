"""What the handlers depend on, built once and kept in ``application.bot_data["services"]``.

Passing the store, gazetteer, settings and clock in (rather than importing globals) lets tests
drive the real handlers with a temporary database and a fake clock. The gazetteer (when not given)
and the ingest status are made on first use (a region look-up, a result's place names, the first
corpus poll), not before the bot's first answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from digests.search import most_specific
from digests.store import Store, utcnow

from .config import Settings

if TYPE_CHECKING:
    from digests.ingest import IngestStatus
    from digests.regions import Gazetteer

ADMIN_CACHE_SECONDS = 60.0
T = TypeVar("T")


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


def _load_gazetteer() -> Gazetteer:
    from digests.regions import load_gazetteer  # ~14 MB with its automaton: on first use

    return load_gazetteer()


def _ingest_status() -> IngestStatus:
    from digests.ingest import IngestStatus  # the engine's ingest is loaded by the first poll

    return IngestStatus()


class _OnFirstUse(Generic[T]):
    """A dataclass field whose value, unless given, is made by ``load`` when first read (a
    descriptor-typed field: ``__init__`` passes the value, ``None`` by default, to ``__set__``)."""

    def __init__(self, load: Callable[[], T]) -> None:
        self.load = load
        self.lock = threading.Lock()

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> None: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object, owner: type | None = None) -> T | None:
        if obj is None:
            return None  # the field's default: made on first use
        value: T | None = obj.__dict__.get(self.slot)
        if value is None:
            with self.lock:  # threads read it too (corpus poll, warm-up): made once
                value = obj.__dict__.get(self.slot)
                if value is None:
                    value = obj.__dict__[self.slot] = self.load()
        return value

    def __set__(self, obj: object, value: T | None) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class Services:
    store: Store
    settings: Settings
    _: KW_ONLY
    gazetteer: _OnFirstUse[Gazetteer] = _OnFirstUse(_load_gazetteer)
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = utcnow
    queries: QueryCache = field(default_factory=QueryCache)
    admin_cache: dict[tuple[int, int], tuple[float, bool]] = field(default_factory=dict)
    # ingest in worker threads: one at a time, visible progress, stopped by SIGTERM
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    ingest_status: _OnFirstUse[IngestStatus] = _OnFirstUse(_ingest_status)
    stopping: threading.Event = field(default_factory=threading.Event)

    def cached_admin(self, chat_id: int, user_id: int) -> bool | None:
        entry = self.admin_cache.get((chat_id, user_id))
        if entry and entry[0] > self.monotonic():
            return entry[1]
        return None

    def remember_admin(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        self.admin_cache[(chat_id, user_id)] = (self.monotonic() + ADMIN_CACHE_SECONDS, is_admin)

    def warm_up(self) -> None:
        """Load what a look-up needs (gazetteer, segmenter, OpenCC) ahead of the first one; the
        bot runs it in a worker thread once it has started answering."""
        from digests.text import raw_tokens, to_simplified

        self.gazetteer.get("")
        raw_tokens("预热")
        to_simplified("預熱")

    def region_labels(self, regions: dict[str, int], limit: int = 4) -> list[str]:
        return most_specific(self.gazetteer, regions, limit)
