"""How updates are taken: journaled before Telegram is told they arrived, handled concurrently and
fairly, replayed after a crash.

* :class:`JournaledQueue` is the Application's update queue. PTB's Updater puts every fetched
  update into it *before* the next ``getUpdates`` (whose ``offset`` acknowledges them to
  Telegram), so writing the update to the store's journal in ``put`` means that an update
  Telegram considers delivered is always on disk. An update seen before (Telegram sends it
  again when the process died before acknowledging it: same id, same content) is not queued
  twice.
* :class:`FairProcessor` is the Application's update processor: at most ``concurrency``
  updates are handled at once, one at a time per chat (a chat waiting out its own rate limit
  holds no slot another chat could use), and a :class:`~bot.throttle.ChatThrottle` refuses a
  flooding chat before it takes anything. Each update is marked done in the journal once handled.
* :mod:`bot.adoption` replays the updates fetched but not handled before a crash (``kill -9``),
  this process's or, with several replicas, another's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from operator import methodcaller
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from digests.store import Store

from .journal import JournalWriter
from .throttle import ChatThrottle, Verdict

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

T = TypeVar("T")

OUTER_BOUND = 4096  # PTB's own semaphore; the real bound is ``concurrency`` below


class JournaledQueue(asyncio.Queue[object]):
    """The update queue; every :class:`Update` put into it is written to the journal first, on
    the journal's own thread (:mod:`bot.journal`): the event loop goes on meanwhile (other
    updates, the sender, the jobs) when the write waits for SQLite's write lock."""

    def __init__(self, store: Store, writer: JournalWriter | None = None) -> None:
        super().__init__()
        self.store = store
        self.writer = writer if writer is not None else JournalWriter(store)
        self.taken: set[int] = set()  # journaled (or adopted) here and not handled yet

    async def put(self, item: Any) -> None:
        if isinstance(item, Update):
            update_id, data = item.update_id, item.to_json()
            digest = hashlib.sha256(data.encode()).hexdigest()[:32]
            now = time.time()
            try:
                fresh = await self.writer.run(
                    lambda s: s.journal_update(update_id, data, now, digest)
                )
            except sqlite3.Error as exc:  # a full disk must not stop the bot answering
                log.warning("could not journal update %s: %s", update_id, exc)
                fresh = True
            if not fresh:
                log.info("update %s was received before; not handled again", update_id)
                return
            self.taken.add(update_id)
        await super().put(item)

    async def put_replayed(self, item: Update) -> None:
        self.taken.add(item.update_id)
        await super().put(item)


async def journal_write(queue: object, store: Store, write: Callable[[Store], T]) -> T:
    """``write(store)`` on the journal's thread (:mod:`bot.journal`) when ``queue`` (the
    application's update queue) is a :class:`JournaledQueue`, so that the event loop never waits
    for SQLite's write lock; here and now otherwise."""
    if isinstance(queue, JournaledQueue):
        return await queue.writer.run(write)
    return write(store)


def throttle_key(update: object) -> int | None:
    """Whose share an update counts against: the chat, else the user (inline queries)."""
    if not isinstance(update, Update):
        return None
    if update.my_chat_member or update.chat_member:
        return None  # membership changes are never refused
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class FairProcessor(BaseUpdateProcessor):
    """Concurrent, per-chat ordered, throttled handling of updates."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        concurrency: int = 8,
        throttle: ChatThrottle | None = None,
    ) -> None:
        super().__init__(OUTER_BOUND)
        self.store = store
        self.concurrency = concurrency
        self.throttle = throttle
        self.application: AnyApplication | None = None
        self._slots: asyncio.Semaphore | None = None
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    def attach(self, application: AnyApplication) -> None:
        self.application = application

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def shutdown(self) -> None:
        return None

    def _enter(self, key: int) -> asyncio.Lock:
        lock, users = self._chats.get(key) or (asyncio.Lock(), 0)
        self._chats[key] = (lock, users + 1)
        return lock

    def _leave(self, key: int) -> None:
        lock, users = self._chats[key]
        if users <= 1:
            del self._chats[key]
        else:
            self._chats[key] = (lock, users - 1)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = throttle_key(update)
        try:
            if key is not None and self.throttle is not None:
                verdict, wait = self.throttle.check(key)
                if verdict is not Verdict.ALLOW:
                    close = getattr(coroutine, "close", None)
                    if close is not None:
                        close()
                    if verdict is Verdict.WARN:
                        log.info("chat %s is flooding: throttled for %d s", key, wait)
                        await self._warn(update, wait)
                    return
            if self._slots is None:
                self._slots = asyncio.Semaphore(self.concurrency)
            chat_lock = self._enter(key) if key is not None else nullcontext()
            try:
                async with chat_lock, self._slots:
                    await coroutine
            finally:
                if key is not None:
                    self._leave(key)
        finally:
            await self._finish(update)

    async def _finish(self, update: object) -> None:
        if self.store is None or not isinstance(update, Update):
            return
        update_id = update.update_id
        queue = self.application.update_queue if self.application is not None else None
        if isinstance(queue, JournaledQueue):
            queue.taken.discard(update_id)
        try:
            await journal_write(queue, self.store, methodcaller("finish_update", update_id))
        except sqlite3.Error as exc:
            log.warning("could not mark update %s as handled: %s", update_id, exc)

    async def _warn(self, update: object, seconds: int) -> None:
        """Tell a flooding chat once, in its language, how long to wait."""
        if self.application is None or not isinstance(update, Update):
            return
        from .common import lang_for, send
        from .i18n import t

        context = self.application.context_types.context.from_update(update, self.application)
        try:
            text = t(lang_for(update, context), "throttled", seconds=seconds)
            if update.callback_query is not None:
                await update.callback_query.answer(text)
            elif update.effective_chat is not None:
                await send(context, update.effective_chat.id, text)
        except Exception as exc:  # the warning is a courtesy; never fail the update loop on it
            log.info("could not warn chat %s about throttling: %s", throttle_key(update), exc)
