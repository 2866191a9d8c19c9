"""Telegram's flood limits, applied to every message the bot sends (a PTB ``BaseRateLimiter``).

* at most ``global_per_second`` (30) messages in any one-second window, spaced evenly (every
  window is widened by ``margin`` = 40 ms, as requests reach Telegram with some jitter);
* any one chat: one message per ``private_interval`` (1 s) — Telegram asks for about one
  message per second in a chat, groups included;
* groups and channels, in addition: at most ``group_per_minute`` (20) in any 60-second window.

PTB's own ``AIORateLimiter`` has no per-private-chat limit and allows a burst of 30 on top of
30/s, so this one is used instead. Only message-sending methods are limited. When Telegram still
answers 429, the chat waits ``retry_after`` and the request is retried (``max_retries`` times) —
except for callers that pass ``rate_limit_args=RAISE_429`` (the delivery sender), which get the
429 at once and reschedule, so no sending slot waits out one chat's ``retry_after``.
``ready_at(chat_id)`` tells the delivery scheduler when a chat may be sent to without waiting.
A chat's history is dropped once it no longer delays anything (swept every ``SWEEP_SECONDS``), so
the limiter's memory follows the chats of the last minute, not every chat ever answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

RAISE_429 = (
    -1
)  # ``rate_limit_args``: no retry here, the 429 goes to the caller at once (PTB drops 0)
SWEEP_SECONDS = 60.0
LIMITED = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage", "sendMediaGroup"}
)


class Limiter(BaseRateLimiter[int]):
    def __init__(
        self,
        *,
        global_per_second: int = 30,
        private_interval: float = 1.0,
        group_per_minute: int = 20,
        max_retries: int = 3,
        enabled: bool = True,
        margin: float = 0.04,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.global_per_second = global_per_second
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self.enabled = enabled
        self.margin = margin  # seconds added to each window: requests arrive with some jitter
        self.monotonic = monotonic
        self._global: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}
        self._blocked_until: dict[int, float] = {}
        self._quiet_until = 0.0
        self._next_sweep = 0.0
        self._lock = asyncio.Lock()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # -- bookkeeping ------------------------------------------------------------------------
    def _chat_window(self, chat_id: int) -> tuple[int, float]:
        """(messages allowed, per seconds) for a chat: private ids are positive."""
        if chat_id > 0:
            return 1, self.private_interval
        return self.group_per_minute, 60.0

    def ready_at(self, chat_id: int) -> float:
        """The monotonic time from which a message to ``chat_id`` needs no waiting (chat limits)."""
        if not self.enabled:
            return 0.0
        count, period = self._chat_window(chat_id)
        sent = self._chats.get(chat_id)
        ready = self._blocked_until.get(chat_id, 0.0)
        if sent:
            ready = max(ready, sent[-1] + self.private_interval + self.margin)
            if len(sent) >= count:
                ready = max(ready, sent[-count] + period + self.margin)
        return ready

    def _global_ready(self) -> float:
        window = 1.0 + self.margin
        ready = self._quiet_until
        if self._global:
            ready = self._global[-1] + window / self.global_per_second
            if len(self._global) >= self.global_per_second:
                ready = max(ready, self._global[-self.global_per_second] + window)
        return ready

    def _record(self, chat_id: int, now: float) -> None:
        self._global.append(now)
        while self._global and self._global[0] < now - 1.0 - self.margin:
            self._global.popleft()
        count, period = self._chat_window(chat_id)
        sent = self._chats.setdefault(chat_id, deque())
        sent.append(now)
        while sent and sent[0] < now - period:
            sent.popleft()
        while len(sent) > count:
            sent.popleft()
        if now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Forget the chats whose sends and blocks are too old to delay a message now."""
        self._next_sweep = now + SWEEP_SECONDS
        for chat_id, sent in list(self._chats.items()):
            _, period = self._chat_window(chat_id)
            if sent[-1] + max(period, self.private_interval) + self.margin < now:
                del self._chats[chat_id]
        for chat_id, until in list(self._blocked_until.items()):
            if until < now:
                del self._blocked_until[chat_id]

    def seed(self, sends: list[tuple[int, float]], in_flight: bool = False) -> None:
        """Remember messages sent before a restart or by another process ((chat_id, monotonic
        time)), so the first messages after it respect the limits too; they are merged with the
        ones this limiter has counted. When messages were in flight at the stop, their real send
        time is unknown: nothing is sent until a whole window has passed since the last one
        recorded."""
        sends = sorted(sends, key=lambda s: s[1])
        self._global = deque(sorted([*self._global, *(at for _, at in sends)]))
        by_chat: dict[int, list[float]] = {}
        for chat_id, at in sends:
            by_chat.setdefault(chat_id, []).append(at)
        for chat_id, times in by_chat.items():
            count, _ = self._chat_window(chat_id)
            merged = sorted([*self._chats.get(chat_id, ()), *times])
            self._chats[chat_id] = deque(merged[-count:])
        if in_flight and sends:
            self._quiet_until = max(self._quiet_until, sends[-1][1] + 1.0 + 2 * self.margin + 0.1)

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a replica that just started, until the sender knows it
        must leave room for it: :mod:`bot.election`)."""
        self._quiet_until = max(self._quiet_until, self.monotonic() + seconds)

    def block(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429 for this chat: nothing goes to it for ``seconds``."""
        self._blocked_until[chat_id] = max(
            self._blocked_until.get(chat_id, 0.0), self.monotonic() + seconds
        )

    async def _acquire(self, chat_id: int) -> None:
        """Wait for the chat's and the global slot, then claim both."""
        while True:
            async with self._lock:
                now = self.monotonic()
                wait = max(self.ready_at(chat_id), self._global_ready()) - now
                if wait <= 0:
                    self._record(chat_id, now)
                    return
            await asyncio.sleep(min(wait, 5.0))

    # -- the PTB hook ---------------------------------------------------------------------
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _chat_id(data.get("chat_id"))
        limited = self.enabled and endpoint in LIMITED and chat_id is not None
        retries = self.max_retries if rate_limit_args is None else max(0, rate_limit_args)
        for attempt in range(retries + 1):
            if limited and chat_id is not None:
                await self._acquire(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if chat_id is not None:
                    self.block(chat_id, seconds)
                if attempt == retries:
                    raise
                log.info("429 for chat %s: waiting %.1f s before resending", chat_id, seconds)
                if not limited:
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable")  # pragma: no cover


def _chat_id(value: object) -> int | None:
    try:
        return int(str(value)) if isinstance(value, int | str) else None
    except (TypeError, ValueError):
        return -1 if isinstance(value, str) else None  # "@channel" counts as a channel


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (PTB keeps it as a timedelta internally)."""
    return exc._retry_after.total_seconds()  # the public attribute warns about its type
