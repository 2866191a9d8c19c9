"""Delivery planning: which chat gets which new article, and when.

:func:`plan` looks at the articles that arrived since the last planning round (the cursor in the
``state`` table), matches them against the active subscriptions and writes one ledger row per
(chat, article) — in the same transaction that moves the cursor, so a crash never loses or doubles
a plan. Sending is the bot's business (``bot.sender``); this module knows no Telegram.

Modes: ``instant`` rows are due at once; ``daily HH:MM`` rows are due at the next HH:MM in the
chat's time zone, when the bot sends them together as one digest. When several subscriptions of a
chat match one article, instant wins over daily.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import Article, Subscription
from .store import Store
from .subscriptions import matches_text
from .text import to_simplified

log = logging.getLogger(__name__)

PLAN_BATCH = 500
DEFAULT_TZ = "Asia/Shanghai"


def due_at(mode: str, now: datetime, timezone: str = DEFAULT_TZ) -> datetime:
    """When a row planned ``now`` in ``mode`` may be sent."""
    if not mode.startswith("daily"):
        return now
    hhmm = mode.split(" ", 1)[1] if " " in mode else "08:00"
    hour, minute = (int(x) for x in hhmm.split(":"))
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_TZ)
    local = now.astimezone(zone)
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target.astimezone(UTC)


def _merge_mode(old: str | None, new: str) -> str:
    if old is None:
        return new
    if "instant" in (old, new):
        return "instant"
    return min(old, new)  # the earlier daily time


def plan(store: Store, clock: Callable[[], datetime]) -> int:
    """Plan deliveries for every article newer than the cursor; returns the rows added."""
    added = 0
    while True:
        cursor = int(store.get_state("planned_seq", "0") or 0)
        articles = store.after(cursor, limit=PLAN_BATCH)
        if not articles:
            return added
        subs = store.active_subscriptions()
        chats = {sub.chat_id: store.get_chat(sub.chat_id) for sub in subs}
        now = clock()
        rows: list[tuple[int, int, str, float]] = []
        quiet = store.quiet_seqs([a.seq for a in articles])  # a source's baseline, old items
        stories = store.stories_of([a.seq for a in articles])  # near-duplicates: once per chat
        planned: dict[int, set[int]] = {}  # story → chats planned in this batch
        for article in articles:
            if article.seq in quiet:
                continue
            story = stories.get(article.seq)
            seen: set[int] = set()
            if story is not None:
                seen = planned.setdefault(story, set())
                if story != article.seq:
                    seen |= store.story_chats(story, article.seq)
            for chat_id, mode in _targets(article, subs).items():
                if chat_id in seen:
                    continue
                if story is not None:
                    seen.add(chat_id)
                tz = chats[chat_id].timezone if chats.get(chat_id) else DEFAULT_TZ
                rows.append((chat_id, article.seq, mode, due_at(mode, now, tz).timestamp()))
        added += store.plan_deliveries(rows, articles[-1].seq, now.timestamp())
        log.info("planned %d deliveries for %d new articles", len(rows), len(articles))


def _targets(article: Article, subs: list[Subscription]) -> dict[int, str]:
    text = to_simplified(article.title + "\n" + article.body).lower()
    modes: dict[int, str] = {}
    for sub in subs:
        if article.seq > sub.since_seq and matches_text(sub, article, text):
            modes[sub.chat_id] = _merge_mode(modes.get(sub.chat_id), sub.mode)
    return modes
