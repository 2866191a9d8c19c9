"""Posting the delivery ledger to Telegram: send a message, then tell the ledger what Telegram
answered.

The :class:`Sender` loop takes the ledger rows that are due (``digests.planning`` planned them),
turns them into messages — one per article for ``instant`` rows, one digest (split when long) for
a chat's due ``daily`` rows — and sends them, at most ``concurrency`` at a time, never two at once
to the same chat, and only to chats the rate limiter says are ready now: a chat that must wait
(its 20/min, a 429's ``retry_after``) keeps its rows pending and never holds a sending slot.

Every rule about what happens to a row lives in ``digests.ledger``; this module only maps
Telegram's answer to one of the ledger's transitions:

=========================================  ==========================================
Telegram's answer                          ledger
=========================================  ==========================================
the message                                ``sent``
429 ``retry_after``                        ``wait`` (the chat is blocked that long)
403, 400 "chat not found"                  ``chat_gone`` (the chat is paused)
400 "message thread not found", closed     ``topic_gone`` (that topic's subscriptions
topic                                      are paused)
400 migrated group                         (the chat id moves) and the message is resent
other 400                                  ``failed(transient=False)``: a dead letter
5xx, connection refused, pool timeout      ``failed(transient=True)``: back off
read timeout, connection reset             ``failed(transient=True, maybe_sent=True)``
=========================================  ==========================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from digests.leases import Fence
from digests.ledger import Backoff, DeadLetter, Ledger, Retry, Status
from digests.models import Article, Chat, Delivery
from digests.modes import Mode, Quiet, SettingError, zone
from digests.store import Store

from . import buttons
from .i18n import t
from .ratelimit import RAISE_429, Limiter, retry_seconds
from .render import MAX_MESSAGE, render_article, split_message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SEND_READ_TIMEOUT = 30.0  # a slow Bot API answer is waited for, not resent (see the README)
TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted", "topic closed")


@dataclass
class WorkItem:
    """One message to send and the ledger rows it carries."""

    chat_id: int
    rows: list[Delivery]
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    thread_id: int | None = None

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.rows]


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    paused: int = 0
    last_error: str = ""
    last_dispatch: str = ""
    by_chat: dict[int, int] = field(default_factory=dict)


def outcome_of(exc: TelegramError) -> tuple[bool, bool]:
    """(transient, maybe_sent) of a failed send that is not a 429, 403, 400 or migration."""
    text = str(exc)
    if isinstance(exc, TimedOut):
        return True, "Pool timeout" not in text and "ConnectTimeout" not in text
    if isinstance(exc, NetworkError) and text.startswith("httpx."):
        return True, "ConnectError" not in text  # the request may have reached Telegram
    return True, False  # Telegram answered (5xx): it did not post the message


class Sender:
    """Sends due ledger rows; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        *,
        clock: Callable[[], datetime],
        region_labels: Callable[[dict[str, int], int], list[str]],
        default_lang: str = "zh",
        limiter: Limiter | None = None,
        concurrency: int = 4,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        max_attempts: int = MAX_ATTEMPTS,
        read_timeout: float = SEND_READ_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.store = store
        self.clock = clock
        self.ledger = Ledger(
            store,
            clock=lambda: clock().timestamp(),
            backoff=Backoff(backoff_base, backoff_cap, max_attempts),
        )
        self.region_labels = region_labels
        self.default_lang = default_lang
        self.limiter = limiter
        self.concurrency = max(1, concurrency)
        self.read_timeout = read_timeout
        self.stats = SenderStats()
        self.told: set[int] = set()  # chats told that their settings could not be used
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready_hint: float | None = None  # monotonic time a waiting chat becomes ready
        self.fence: Fence | None = None  # the sender lease this loop claims under (bot.election)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, fence: Fence | None = None) -> None:
        """Start sending (as the holder of ``fence``'s lease, when given): the limiter learns
        the messages of the last minute (sent by this process before a restart, or by the
        previous holder), and rows the previous run or holder left in flight are pending again
        (the fence guarantees no live process is still claiming)."""
        if self.limiter is not None:
            wall, mono = self.clock().timestamp(), self.limiter.monotonic()
            recent = self.ledger.recent_sends(wall - 60.0)
            in_flight = bool(self.ledger.rows(status=Status.SENDING))
            self.limiter.seed([(chat, mono - (wall - at)) for chat, at in recent], in_flight)
        released = self.ledger.release_in_flight()
        if released:
            log.info("%d deliveries were in flight when the last sender stopped", released)
        self.fence = fence
        self._stop = asyncio.Event()  # this run's own: a stood-down run may still be finishing
        self._task = asyncio.get_running_loop().create_task(self.run(self._stop), name="sender")

    def stand_down(self) -> None:
        """The lease is lost: claim nothing more; messages in flight finish on their own, and
        their rows are left to the new holder (no release: it may be sending already)."""
        self._stop.set()
        self._wake.set()

    async def stop(self, timeout: float = 10.0, *, release: bool = True) -> None:
        """Finish the messages in flight (up to ``timeout``), then release what is left (only
        ``release``: a sender that lost its lease leaves the rows to the new holder)."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("sender did not finish in %.0f s; in-flight rows are released", timeout)
            self._task = None
        if release:
            self.ledger.release_in_flight()

    def wake(self) -> None:
        """Something may be due now (new plan, settings changed, clock moved in tests)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or self._stop
        while not stop.is_set():
            try:
                sent = await self.dispatch()
            except Exception:  # keep the loop alive; the log line says what broke
                log.exception("delivery round failed")
                sent = 0
            if stop.is_set():
                break
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_timeout())

    def _idle_timeout(self) -> float:
        wait = 1.0
        next_due = self.ledger.next_due_at()
        if next_due is not None:
            wait = min(wait, next_due - self.clock().timestamp())
        if self._ready_hint is not None:
            wait = max(wait, min(1.0, self._ready_hint - self._monotonic()))
        return max(0.01, wait)

    async def tell(self, problems: dict[int, str]) -> None:
        """Tell each chat once that its delivery settings could not be used (planning skipped
        them); the detail goes to the log."""
        for chat_id, detail in problems.items():
            if chat_id in self.told:
                continue
            self.told.add(chat_id)
            chat = self.store.get_chat(chat_id)
            lang = (chat.language if chat else None) or self.default_lang
            try:
                await self.bot.send_message(chat_id, t(lang, "delivery_bad_settings"))
            except TelegramError as exc:
                log.info("could not tell chat %s about %s: %s", chat_id, detail, exc)

    # -- one round ------------------------------------------------------------------------------
    async def dispatch(self) -> int:
        """Send what is due to the chats that are ready now; returns the messages sent. Chats
        that must wait keep their rows pending for a later round and never hold a slot."""
        self._ready_hint = None
        stop = self._stop
        if stop.is_set():
            return 0
        rows = self.ledger.due()
        if not rows:
            return 0
        queues = self._work(rows)
        self.stats.last_dispatch = self.clock().isoformat(timespec="seconds")
        sent = 0
        running: dict[asyncio.Task[bool], int] = {}
        while queues or running:
            now = self._monotonic()
            for chat_id in list(queues):
                if len(running) >= self.concurrency or stop.is_set():
                    break
                if chat_id in running.values():
                    continue
                if self.limiter is not None and self.limiter.ready_at(chat_id) > now:
                    continue
                item = queues[chat_id].popleft()
                if not queues[chat_id]:
                    del queues[chat_id]
                task = asyncio.get_running_loop().create_task(self._send(item))
                running[task] = chat_id
            if not running:  # nobody ready: end the round, the rest stays pending
                if queues and self.limiter is not None:
                    self._ready_hint = min(self.limiter.ready_at(c) for c in queues)
                break
            try:
                done, _ = await asyncio.wait(
                    running, timeout=0.5, return_when=asyncio.FIRST_COMPLETED
                )
            except asyncio.CancelledError:  # stopped hard: the sends in flight end here too
                for task in running:
                    task.cancel()
                raise
            for task in done:
                chat_id = running.pop(task)
                try:
                    ok = task.result()
                except Exception:  # e.g. disk full while recording: the row stays "sending"
                    log.exception("sending to chat %s failed", chat_id)  # until a restart
                    ok = False
                if ok:
                    sent += 1
                else:
                    queues.pop(chat_id, None)  # the chat failed: the rest waits for its next round
        return sent

    def _monotonic(self) -> float:
        return self.limiter.monotonic() if self.limiter is not None else 0.0

    def _work(self, rows: list[Delivery]) -> OrderedDict[int, deque[WorkItem]]:
        articles = self.store.get_many(sorted({r.seq for r in rows}))
        missing = [r.id for r in rows if r.seq not in articles]
        if missing:
            self.ledger.skip(missing, "article no longer stored")
        by_chat: OrderedDict[int, list[Delivery]] = OrderedDict()
        for row in rows:
            if row.seq in articles:
                by_chat.setdefault(row.chat_id, []).append(row)
        queues: OrderedDict[int, deque[WorkItem]] = OrderedDict()
        for chat_id, chat_rows in by_chat.items():
            chat = self.store.get_chat(chat_id)
            if chat is not None and chat.quiet and self._held(chat, chat_rows):
                continue
            lang = (chat.language if chat and chat.language else None) or self.default_lang
            items = [
                self._instant(r, articles[r.seq], lang) for r in chat_rows if r.mode == "instant"
            ]
            daily: dict[int | None, list[Delivery]] = {}
            for r in chat_rows:
                if r.mode != "instant":
                    daily.setdefault(r.thread_id, []).append(r)
            for thread_rows in daily.values():
                items += self._digest(
                    chat_id, thread_rows, articles, lang, chat.timezone if chat else None
                )
            queues[chat_id] = deque(items)
        return queues

    def _held(self, chat: Chat, rows: list[Delivery]) -> bool:
        """Inside the chat's quiet hours: its due rows wait for their end, as one digest (rows
        planned before the quiet hours were set, or retried into them)."""
        try:
            tz, quiet = zone(chat.timezone), Quiet.parse(chat.quiet or "")
        except SettingError:
            return False
        end = quiet.defer(self.clock(), tz)
        if end is None:
            return False
        local = end.astimezone(tz)
        self.ledger.hold([r.id for r in rows], str(Mode(True, local.hour, local.minute)), end)
        return True

    def _instant(self, row: Delivery, article: Article, lang: str) -> WorkItem:
        text = render_article(article, lang, self.region_labels(article.regions, 4))
        if len(text) > MAX_MESSAGE:  # cut between lines, never inside markup
            text = split_message(text)[0]
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "full_summary"), callback_data=_full(article))]]
        )
        return WorkItem(row.chat_id, [row], text, keyboard, row.thread_id)

    def _digest(
        self,
        chat_id: int,
        rows: list[Delivery],
        articles: dict[int, Article],
        lang: str,
        tz: str | None,
    ) -> list[WorkItem]:
        """One digest of all due daily rows, split into messages of at most 4096 characters."""
        try:
            local = self.clock().astimezone(zone(tz))
        except SettingError:
            local = self.clock()
        date = local.strftime("%Y-%m-%d")
        thread = rows[0].thread_id
        items: list[WorkItem] = []
        header = t(lang, "digest_header", date=date, n=len(rows))
        text = header
        part_rows: list[Delivery] = []
        buttons: list[InlineKeyboardButton] = []
        for n, row in enumerate(rows, 1):
            article = articles[row.seq]
            labels = self.region_labels(article.regions, 4)
            block = render_article(article, lang, labels, number=n, compact=True)
            if part_rows and len(text) + 2 + len(block) > MAX_MESSAGE:
                items.append(WorkItem(chat_id, part_rows, text, _keyboard(buttons), thread))
                text, part_rows, buttons = t(lang, "digest_continued", date=date), [], []
            text += "\n\n" + block
            part_rows.append(row)
            buttons.append(
                InlineKeyboardButton(
                    f"{n}. {t(lang, 'full_summary')}", callback_data=_full(articles[row.seq])
                )
            )
        items.append(WorkItem(chat_id, part_rows, text, _keyboard(buttons), thread))
        return items

    # -- sending one message ------------------------------------------------------------------
    async def _send(self, item: WorkItem) -> bool:
        if not self.ledger.claim(item.ids, self.fence):
            log.info("rows %s of chat %s are no longer pending; not sent", item.ids, item.chat_id)
            return False
        return await self._post(item)

    async def _post(self, item: WorkItem) -> bool:
        extra: dict[str, object] = {}
        if item.thread_id is not None:
            extra["message_thread_id"] = item.thread_id
        if self.limiter is not None:
            extra["rate_limit_args"] = RAISE_429  # a 429 comes back here: the slot is freed
        try:
            message = await self.bot.send_message(
                item.chat_id,
                item.text,
                reply_markup=item.keyboard,
                read_timeout=self.read_timeout,
                **extra,  # type: ignore[arg-type]
            )
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            log.info("chat %s migrated to %s; resending there", item.chat_id, new_id)
            self.store.migrate_chat(item.chat_id, new_id)
            item.chat_id = new_id
            return await self._post(item)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if self.limiter is not None:
                self.limiter.block(item.chat_id, wait)
            self.ledger.wait(item.ids, wait, f"429 retry after {wait:.0f} s")
            self.stats.retried += 1
            return False
        except Forbidden as exc:
            self._gone(item, str(exc))
            return False
        except BadRequest as exc:
            text = str(exc).lower()
            if "chat not found" in text:
                self._gone(item, str(exc))
            elif item.thread_id is not None and any(k in text for k in TOPIC_GONE):
                log.warning("topic %s of chat %s paused: %s", item.thread_id, item.chat_id, exc)
                self.ledger.topic_gone(item.chat_id, item.thread_id, str(exc))
                self.stats.paused += 1
            else:  # a message Telegram will never accept: a dead letter at once
                self._failed(item, f"bad request: {exc}", transient=False)
            return False
        except TelegramError as exc:  # 5xx, timeouts, connection errors
            transient, maybe_sent = outcome_of(exc)
            self._failed(item, f"{type(exc).__name__}: {exc}", transient, maybe_sent)
            return False
        self.ledger.sent(item.ids, message.message_id)
        self.stats.sent += 1
        self.stats.by_chat[item.chat_id] = self.stats.by_chat.get(item.chat_id, 0) + 1
        return True

    def _failed(
        self, item: WorkItem, error: str, transient: bool, maybe_sent: bool = False
    ) -> None:
        outcome = self.ledger.failed(item.ids, error, transient=transient, maybe_sent=maybe_sent)
        self.stats.last_error = error
        if isinstance(outcome, Retry):
            self.stats.retried += 1
            log.warning(
                "send to chat %s failed (%s); retry %d in %.1f s",
                item.chat_id, error, outcome.attempts, outcome.delay,
            )  # fmt: skip
        elif isinstance(outcome, DeadLetter):
            self.stats.failed += 1
            log.error("delivery to chat %s is %s: %s", item.chat_id, outcome.status, error)

    def _gone(self, item: WorkItem, reason: str) -> None:
        log.warning("chat %s paused: %s", item.chat_id, reason)
        self.ledger.chat_gone(item.chat_id, reason)
        self.stats.paused += 1


def _keyboard(buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _full(article: Article) -> str:
    """The "full summary" button's data (see ``bot.buttons``)."""
    return buttons.encode(buttons.OpenArticle(article.id, full=True))
