"""Telegram's flood limits as leaky buckets, plus a log of every send for rate statistics.

Model (see :class:`Limits`):

* overall: 30 messages/s, bucket capacity 30 (the leaky bucket PTB's ``AIORateLimiter`` uses);
* private chat: 1 message/s with a burst tolerance of ``private_burst`` (default 2) messages,
  so two quick messages pass and a third within the same second is refused;
* group/supergroup/channel: 20 messages/min, bucket capacity 20 (again as ``AIORateLimiter``).

``jitter_s`` forgives the client that much clock/network jitter (the bucket is drained as if
the send arrived ``jitter_s`` later).  Only message-creating methods count (send*), not edits.

The buckets accept what PTB's ``AIORateLimiter`` lets through (a burst of 30, then 30/s), which
can put more than 30 messages inside one sliding 1-second window.  ``Limits(strict_windows=True)``
additionally enforces sliding windows (<= 30 in any 1 s overall, <= 20 in any 60 s per group,
<= ``private_burst`` in any 1 s per private chat, and <= ``group_second_burst`` in any 1 s per
group: Telegram asks for about one message per second in any chat) for a conservative check.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

__all__ = ["Limits", "SendTracker", "Violation"]


@dataclass
class Limits:
    """Flood-limit parameters (Telegram's documented limits by default)."""

    global_per_s: float = 30.0
    global_burst: float = 30.0
    private_per_s: float = 1.0
    private_burst: float = 2.0
    group_per_min: float = 20.0
    group_burst: float = 20.0
    jitter_s: float = 0.05
    strict_windows: bool = False
    group_second_burst: float = 2.0  # strict windows only


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens leaked per second
    level: float = 0.0
    last: float = 0.0

    def level_at(self, now: float) -> float:
        return max(0.0, self.level - (now - self.last) * self.rate)

    def retry_after(self, now: float, jitter: float) -> float:
        """Seconds until one more unit fits, 0 if it fits now."""
        over = self.level_at(now + jitter) + 1.0 - self.capacity
        return 0.0 if over <= 1e-9 else over / self.rate

    def add(self, now: float) -> None:
        self.level = self.level_at(now) + 1.0
        self.last = now


@dataclass
class Violation:
    """One send that exceeded a limit."""

    time: float
    chat_id: int
    scope: str  # "global" | "private" | "group"
    retry_after: int
    rejected: bool


@dataclass
class SendTracker:
    """Leaky buckets per chat and overall, plus a timestamp log of every delivered send."""

    limits: Limits = field(default_factory=Limits)
    log: list[tuple[float, int]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    _global: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _times: list[float] = field(default_factory=list)
    _chat_times: dict[int, list[float]] = field(default_factory=dict)

    def _bucket_global(self) -> _Bucket:
        if self._global is None:
            self._global = _Bucket(self.limits.global_burst, self.limits.global_per_s)
        return self._global

    def _bucket_chat(self, chat_id: int, chat_type: str) -> tuple[str, _Bucket]:
        scope = "private" if chat_type == "private" else "group"
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if scope == "private":
                bucket = _Bucket(self.limits.private_burst, self.limits.private_per_s)
            else:
                bucket = _Bucket(self.limits.group_burst, self.limits.group_per_min / 60.0)
            self._chats[chat_id] = bucket
        return scope, bucket

    def check(self, chat_id: int, chat_type: str, now: float) -> tuple[str, int] | None:
        """(scope, retry_after seconds) if a send now would exceed a limit, else None."""
        jitter = self.limits.jitter_s
        worst: tuple[str, float] | None = None
        g = self._bucket_global().retry_after(now, jitter)
        if g > 0:
            worst = ("global", g)
        scope, bucket = self._bucket_chat(chat_id, chat_type)
        c = bucket.retry_after(now, jitter)
        if c > 0 and (worst is None or c > worst[1]):
            worst = (scope, c)
        if self.limits.strict_windows:
            chat_limit = (
                (self.limits.private_burst, 1.0)
                if scope == "private"
                else (self.limits.group_per_min, 60.0)
            )
            checks = [
                ("global", self._times, (self.limits.global_per_s, 1.0)),
                (scope, self._chat_times.get(chat_id, []), chat_limit),
            ]
            if scope == "group":
                second = (self.limits.group_second_burst, 1.0)
                checks.append((scope, self._chat_times.get(chat_id, []), second))
            for name, times, (limit, window) in checks:
                wait = self._window_wait(times, limit, window, now)
                if wait > 0 and (worst is None or wait > worst[1]):
                    worst = (name, wait)
        if worst is None:
            return None
        return worst[0], max(1, math.ceil(worst[1]))

    @staticmethod
    def _window_wait(times: list[float], limit: float, window: float, now: float) -> float:
        """Seconds until a send fits ``limit`` sends per sliding ``window``; 0 if it fits."""
        start = bisect_left(times, now - window + 1e-9)
        inside = len(times) - start
        if inside < limit:
            return 0.0
        # the send fits once enough of the oldest sends in the window have left it
        leave = times[start + inside - int(limit)]
        return max(leave + window - now, 1e-3)

    def violation(self, chat_id: int, scope: str, retry_after: int, now: float, rejected: bool) -> None:
        self.violations.append(Violation(now, chat_id, scope, retry_after, rejected))

    def record(self, chat_id: int, chat_type: str, now: float) -> None:
        """Count a delivered send."""
        self._bucket_global().add(now)
        self._bucket_chat(chat_id, chat_type)[1].add(now)
        self.log.append((now, chat_id))
        self._times.append(now)
        self._chat_times.setdefault(chat_id, []).append(now)

    @staticmethod
    def _max_in_window(times: list[float], window_s: float) -> int:
        best = 0
        for j, t in enumerate(times):
            i = bisect_left(times, t - window_s + 1e-9, 0, j + 1)
            best = max(best, j - i + 1)
        return best

    def max_count(self, chat_id: int | None, window_s: float) -> int:
        """Most sends (to ``chat_id``, or overall if None) in any ``window_s``-second window."""
        times = [t for t, c in self.log if chat_id is None or c == chat_id]
        return self._max_in_window(times, window_s)
