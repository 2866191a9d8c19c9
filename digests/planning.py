"""Delivery planning: which chat gets which new article, and when.

:func:`plan` looks at the articles that arrived since the last planning round (the cursor in the
``state`` table; articles no subscription can take, older than every subscription, are skipped
unread), matches them against the active subscriptions and writes one ledger row per
(chat, article) — in the same transaction that moves the cursor, so a crash never loses or doubles
a plan. Sending is the bot's business (``bot.sender``); this module knows no Telegram.

Modes (``digests.modes.Mode``): ``instant`` rows are due at once; ``daily HH:MM`` rows are due at
the next HH:MM in the chat's time zone, when the bot sends them together as one digest. When
several subscriptions of a chat match one article, instant wins over daily. A row that would be
due inside the chat's quiet hours waits for their end and becomes part of one catch-up digest
(its mode is the daily mode at the quiet hours' end).

A subscription or chat whose stored settings cannot be read (an impossible time, an unknown zone)
never stops a round: it is left out, logged, and reported in :data:`PlanReport.problems` so the
caller can tell the chat once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from .ledger import Ledger, Planned
from .models import Article, Chat, Subscription
from .modes import DEFAULT_TZ, Mode, Quiet, SettingError, zone
from .store import Store
from .subscriptions import matches_text
from .text import to_simplified

log = logging.getLogger(__name__)

PLAN_BATCH = 500


def due_at(mode: str | Mode, now: datetime, timezone: str = DEFAULT_TZ) -> datetime:
    """When a row planned ``now`` in ``mode`` may be sent (raises ``SettingError`` for a mode or
    zone that is not valid)."""
    parsed = mode if isinstance(mode, Mode) else Mode.parse(mode)
    return parsed.due_at(now, zone(timezone))


@dataclass
class _Target:
    """A chat's settings, read once per round."""

    zone: tzinfo
    quiet: Quiet | None


@dataclass
class PlanReport:
    """What one call of :func:`plan` did."""

    added: int = 0
    problems: dict[int, str] = field(default_factory=dict)  # chat_id -> what is wrong


def plan(store: Store, clock: Callable[[], datetime]) -> int:
    """Plan deliveries for every article newer than the cursor; returns the rows added."""
    return plan_report(store, clock).added


def plan_report(store: Store, clock: Callable[[], datetime]) -> PlanReport:
    """:func:`plan`, also saying which chats' settings were unusable (and so left out)."""
    report = PlanReport()
    ledger = Ledger(store, clock=lambda: clock().timestamp())
    while True:
        cursor = int(store.get_state("planned_seq", "0") or 0)
        newest = store.max_seq()
        if newest <= cursor:
            return report
        subs, targets = _usable(store, report)
        # no subscription takes an article up to its since_seq: those are skipped unread (a
        # database filled by `digestbot ingest`, or a bot without subscribers, is not read
        # through at start-up)
        floor = min(min((sub.since_seq for sub, _ in subs), default=newest), newest)
        if floor > cursor:
            ledger.plan([], floor)
            cursor = floor
        articles = store.after(cursor, limit=PLAN_BATCH)
        if not articles:
            return report
        now = clock()
        rows: list[Planned] = []
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
            for chat_id, (mode, thread) in _targets(article, subs).items():
                if chat_id in seen:
                    continue
                if story is not None:
                    seen.add(chat_id)
                rows.append(_row(chat_id, article.seq, mode, thread, now, targets[chat_id]))
        report.added += ledger.plan(rows, articles[-1].seq)
        log.info("planned %d deliveries for %d new articles", len(rows), len(articles))


def _usable(
    store: Store, report: PlanReport
) -> tuple[list[tuple[Subscription, Mode]], dict[int, _Target]]:
    """The active subscriptions whose mode, zone and quiet hours can be read."""
    chats: dict[int, _Target | None] = {}
    usable: list[tuple[Subscription, Mode]] = []
    for sub in store.active_subscriptions():
        if sub.chat_id not in chats:
            chats[sub.chat_id] = _target(store.get_chat(sub.chat_id), report, sub.chat_id)
        if chats[sub.chat_id] is None:
            continue
        try:
            mode = Mode.parse(sub.mode)
        except SettingError as exc:
            _problem(report, sub.chat_id, f"subscription {sub.id}: {exc}")
            continue
        usable.append((sub, mode))
    return usable, {k: v for k, v in chats.items() if v is not None}


def _target(chat: Chat | None, report: PlanReport, chat_id: int) -> _Target | None:
    try:
        tz = zone(chat.timezone if chat else None)
        quiet = Quiet.parse(chat.quiet) if chat and chat.quiet else None
    except SettingError as exc:
        _problem(report, chat_id, f"chat settings: {exc}")
        return None
    return _Target(tz, quiet)


def _problem(report: PlanReport, chat_id: int, text: str) -> None:
    if chat_id not in report.problems:
        log.warning("planning skips chat %s: %s", chat_id, text)
        report.problems[chat_id] = text


def _row(
    chat_id: int, seq: int, mode: Mode, thread: int | None, now: datetime, target: _Target
) -> Planned:
    due = mode.due_at(now, target.zone)
    if target.quiet is not None:
        end = target.quiet.defer(due, target.zone)
        if end is not None:  # wait for the end of the quiet hours, as one catch-up digest
            local_end = end.astimezone(target.zone)
            mode = Mode(True, local_end.hour, local_end.minute)
            due = end
    return Planned(chat_id, seq, str(mode), due.astimezone(UTC).timestamp(), thread)


def _targets(
    article: Article, subs: list[tuple[Subscription, Mode]]
) -> dict[int, tuple[Mode, int | None]]:
    text = to_simplified(article.title + "\n" + article.body).lower()
    modes: dict[int, tuple[Mode, int | None]] = {}
    for sub, mode in subs:
        if article.seq > sub.since_seq and matches_text(sub, article, text):
            old = modes.get(sub.chat_id)
            merged = mode.merge(old[0] if old else None)
            thread = sub.thread_id if old is None or merged == mode else old[1]
            modes[sub.chat_id] = (merged, thread)
    return modes
