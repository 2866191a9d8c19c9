"""Posting the delivery ledger to Telegram: the sender loop, digest formats, failure handling.

The :class:`Sender` loop takes the ledger rows that are due (``digests.planning`` planned them),
turns them into messages — one per article for ``instant`` rows, one digest (split when long) for
a chat's due ``daily`` rows — and sends them, at most ``concurrency`` at a time, never two at once
to the same chat, each chat when the rate limiter says it is ready.

Before a message is sent its rows are marked ``sending`` (committed); after Telegram accepts it
they are marked ``sent`` with its message_id. After a crash the rows still ``sending`` are sent
again, so a kill can repeat at most the messages in flight, and loses none.

Failures: 429 → the chat waits ``retry_after`` and the message is resent; 403 or "chat not found"
→ the chat is paused with the reason and its pending rows skipped; a migrated group → the chat id
is updated and the message resent; timeouts and 5xx → exponential backoff, then a dead letter
(``dead``) that admins see in /pending and resend with /retry. Other chats are never held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from digests.models import Article, Delivery
from digests.store import Store

from .i18n import t
from .ratelimit import Limiter, retry_seconds
from .render import MAX_MESSAGE, esc, render_article

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class WorkItem:
    """One message to send and the ledger rows it carries."""

    chat_id: int
    rows: list[Delivery]
    text: str
    keyboard: InlineKeyboardMarkup | None = None

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
    ) -> None:
        self.bot = bot
        self.store = store
        self.clock = clock
        self.region_labels = region_labels
        self.default_lang = default_lang
        self.limiter = limiter
        self.concurrency = max(1, concurrency)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_attempts = max_attempts
        self.stats = SenderStats()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.limiter is not None:  # messages of the last minute, before a restart
            wall, mono = self.clock().timestamp(), self.limiter.monotonic()
            recent = self.store.recent_sends(wall - 60.0)
            in_flight = bool(self.store.deliveries(status="sending"))
            self.limiter.seed([(chat, mono - (wall - at)) for chat, at in recent], in_flight)
        released = self.store.release_in_flight()
        if released:
            log.info(
                "resending %d deliveries that were in flight when the bot last stopped", released
            )
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self.run(), name="sender")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the messages in flight (up to ``timeout``), then release what is left."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning(
                    "sender did not finish in %.0f s; in-flight rows will be resent", timeout
                )
            self._task = None
        self.store.release_in_flight()

    def wake(self) -> None:
        """Something may be due now (new plan, settings changed, clock moved in tests)."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = await self.dispatch()
            except Exception:  # keep the loop alive; the log line says what broke
                log.exception("delivery round failed")
                sent = 0
            if self._stop.is_set():
                break
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_timeout())

    def _idle_timeout(self) -> float:
        next_due = self.store.next_due_at()
        if next_due is None:
            return 1.0
        return min(1.0, max(0.01, next_due - self.clock().timestamp()))

    # -- one round ------------------------------------------------------------------------------
    async def dispatch(self) -> int:
        """Send everything due now; returns the number of messages sent."""
        rows = self.store.due_deliveries(self.clock().timestamp())
        if not rows:
            return 0
        queues = self._work(rows)
        self.stats.last_dispatch = self.clock().isoformat(timespec="seconds")
        sent = 0
        running: dict[asyncio.Task, int] = {}
        while (queues or running) and not (self._stop.is_set() and not running):
            now = self._monotonic()
            for chat_id in list(queues):
                if len(running) >= self.concurrency or self._stop.is_set():
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
            if not running:
                await asyncio.sleep(self._until_ready(queues, now))
                continue
            done, _ = await asyncio.wait(running, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                chat_id = running.pop(task)
                if task.result():
                    sent += 1
                else:
                    queues.pop(chat_id, None)  # the chat failed: the rest waits for its next round
        return sent

    def _monotonic(self) -> float:
        return self.limiter.monotonic() if self.limiter is not None else 0.0

    def _until_ready(self, queues: OrderedDict[int, deque[WorkItem]], now: float) -> float:
        if self.limiter is None or not queues:
            return 0.01
        soonest = min(self.limiter.ready_at(c) for c in queues)
        return min(1.0, max(0.01, soonest - now))

    def _work(self, rows: list[Delivery]) -> OrderedDict[int, deque[WorkItem]]:
        articles = self.store.get_many(sorted({r.seq for r in rows}))
        missing = [r.id for r in rows if r.seq not in articles]
        if missing:
            self.store.mark_deliveries(missing, "skipped", error="article no longer stored")
        by_chat: OrderedDict[int, list[Delivery]] = OrderedDict()
        for row in rows:
            if row.seq in articles:
                by_chat.setdefault(row.chat_id, []).append(row)
        queues: OrderedDict[int, deque[WorkItem]] = OrderedDict()
        for chat_id, chat_rows in by_chat.items():
            chat = self.store.get_chat(chat_id)
            lang = (chat.language if chat and chat.language else None) or self.default_lang
            items = [
                self._instant(r, articles[r.seq], lang) for r in chat_rows if r.mode == "instant"
            ]
            daily = [r for r in chat_rows if r.mode != "instant"]
            if daily:
                items += self._digest(chat_id, daily, articles, lang)
            queues[chat_id] = deque(items)
        return queues

    def _instant(self, row: Delivery, article: Article, lang: str) -> WorkItem:
        text = render_article(article, lang, self.region_labels(article.regions, 4))
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "full_summary"), callback_data=f"f:{article.id}")]]
        )
        return WorkItem(row.chat_id, [row], text[:MAX_MESSAGE], keyboard)

    def _digest(
        self, chat_id: int, rows: list[Delivery], articles: dict[int, Article], lang: str
    ) -> list[WorkItem]:
        """One digest of all due daily rows, split into messages of at most 4096 characters."""
        date = self.clock().strftime("%Y-%m-%d")
        items: list[WorkItem] = []
        header = t(lang, "digest_header", date=date, n=len(rows))
        text, part_rows, buttons = header, [], []
        for n, row in enumerate(rows, 1):
            block = digest_block(n, articles[row.seq], lang, self.region_labels)
            if len(block) + len(header) + 2 > MAX_MESSAGE:
                block = block[: MAX_MESSAGE - len(header) - 10] + "…"
            if part_rows and len(text) + 2 + len(block) > MAX_MESSAGE:
                items.append(WorkItem(chat_id, part_rows, text, _keyboard(buttons)))
                text, part_rows, buttons = t(lang, "digest_continued", date=date), [], []
            text += "\n\n" + block
            part_rows.append(row)
            buttons.append(
                InlineKeyboardButton(
                    f"{n}. {t(lang, 'full_summary')}", callback_data=f"f:{articles[row.seq].id}"
                )
            )
        items.append(WorkItem(chat_id, part_rows, text, _keyboard(buttons)))
        return items

    # -- sending one message ------------------------------------------------------------------
    async def _send(self, item: WorkItem) -> bool:
        self.store.mark_deliveries(item.ids, "sending", sent_at=self.clock().timestamp())
        try:
            message = await self.bot.send_message(
                item.chat_id, item.text, reply_markup=item.keyboard
            )
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            log.info("chat %s migrated to %s; resending there", item.chat_id, new_id)
            self.store.migrate_chat(item.chat_id, new_id)
            item.chat_id = new_id
            return await self._send(item)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            if self.limiter is not None:
                self.limiter.block(item.chat_id, wait)
            self._reschedule(item, wait, f"429 retry after {wait:.0f} s", count_attempt=False)
            return False
        except Forbidden as exc:
            self._pause(item.chat_id, str(exc))
            return False
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                self._pause(item.chat_id, str(exc))
            else:  # a message Telegram will never accept: dead letter at once
                self._dead(item, f"bad request: {exc}")
            return False
        except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, connection errors
            self._failed(item, f"{type(exc).__name__}: {exc}")
            return False
        self.store.mark_deliveries(
            item.ids, "sent", message_id=message.message_id, sent_at=self.clock().timestamp()
        )
        self.stats.sent += 1
        self.stats.by_chat[item.chat_id] = self.stats.by_chat.get(item.chat_id, 0) + 1
        return True

    def _reschedule(self, item: WorkItem, delay: float, error: str, *, count_attempt: bool) -> None:
        attempts = max(r.attempts for r in item.rows) + (1 if count_attempt else 0)
        for row in item.rows:
            row.attempts = attempts
        self.store.mark_deliveries(
            item.ids,
            "pending",
            due_at=self.clock().timestamp() + delay,
            error=error,
            attempts=attempts,
        )
        self.stats.retried += 1

    def _failed(self, item: WorkItem, error: str) -> None:
        attempts = max(r.attempts for r in item.rows) + 1
        self.stats.last_error = error
        if attempts >= self.max_attempts:
            self._dead(item, error)
            return
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
        log.warning(
            "send to chat %s failed (%s); retry %d in %.1f s", item.chat_id, error, attempts, delay
        )
        self._reschedule(item, delay, error, count_attempt=True)

    def _dead(self, item: WorkItem, error: str) -> None:
        log.error("delivery to chat %s dead-lettered: %s", item.chat_id, error)
        self.store.mark_deliveries(item.ids, "dead", error=error)
        self.stats.failed += 1
        self.stats.last_error = error

    def _pause(self, chat_id: int, reason: str) -> None:
        log.warning("chat %s paused: %s", chat_id, reason)
        self.store.update_chat(chat_id, status="paused", status_reason=reason)
        self.store.skip_pending(chat_id, f"chat paused: {reason}")
        self.stats.paused += 1


def _keyboard(buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def digest_block(n: int, article: Article, lang: str, region_labels) -> str:
    """One article in a daily digest: title, summary sentences, regions, keywords, source."""
    lines = [f"<b>{n}. {esc(article.title)}</b>"]
    lines += [f"· {esc(s)}" for s in article.summary]
    labels = region_labels(article.regions, 4)
    if labels:
        lines.append(f"{t(lang, 'regions')}{esc('、'.join(labels))}")
    if article.keywords:
        lines.append(f"{t(lang, 'keywords')}{esc('、'.join(article.keywords[:6]))}")
    if article.url:
        lines.append(
            f'{t(lang, "source")}<a href="{escape(article.url, quote=True)}">{esc(article.source or article.url)}</a>'
        )
    return "\n".join(lines)
