"""Per-chat fairness: a small token bucket per chat decides whether an update is handled.

Telegram-free and clock-injected, so it is tested directly. A chat may send ``capacity`` requests
at once and ``rate`` per second after that. The first request over the limit gets one warning
(``Verdict.WARN`` with the seconds to wait); the chat is then *throttled*: everything it sends is
dropped silently, and each dropped request still costs a token (down to ``-capacity``), so a
chat that keeps flooding stays throttled. It is let in again once its bucket is back to half full,
i.e. once it has calmed down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # refused; tell the chat once how long to wait
    DROP = "drop"  # refused silently


@dataclass
class _Bucket:
    tokens: float
    at: float
    throttled: bool = False


class ChatThrottle:
    """Token buckets keyed by chat (or user) id."""

    def __init__(
        self,
        *,
        capacity: float = 10.0,
        rate: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
        max_chats: int = 100_000,
    ) -> None:
        self.capacity = capacity
        self.rate = rate
        self.monotonic = monotonic
        self.max_chats = max_chats
        self._buckets: dict[int, _Bucket] = {}
        self.refused = 0

    def _bucket(self, key: int, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_chats:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they would start full anyway)."""
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]

    def check(self, key: int) -> tuple[Verdict, int]:
        """Take a token for ``key``: the verdict and, for ``WARN``, the seconds to wait."""
        now = self.monotonic()
        bucket = self._bucket(key, now)
        calm = self.capacity / 2
        if bucket.throttled and bucket.tokens >= calm:
            bucket.throttled = False
        if not bucket.throttled and bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ALLOW, 0
        self.refused += 1
        bucket.tokens = max(-self.capacity, bucket.tokens - 1)
        if bucket.throttled:
            return Verdict.DROP, 0
        bucket.throttled = True
        return Verdict.WARN, max(1, math.ceil((calm - bucket.tokens) / self.rate))
