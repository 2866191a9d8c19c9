"""Updates taken but never handled — by this process before a crash, or by another replica that
died — replayed by a live process.

An update is journaled (:class:`~bot.updates.JournaledQueue`) by the process that received it,
acknowledged (the 200 to the webhook POST, the next ``getUpdates`` offset), then handled. A
process killed in between leaves it unfinished in the journal, and Telegram, which saw it
acknowledged, never sends it again; a copy retried by a load balancer is dropped by the other
replicas as "received before". So every process, every :data:`TOUCH_SECONDS`, touches the
updates it holds (``store.touch_updates``: their ``at`` is now) and adopts the unfinished
updates that nobody touched for :data:`STALE_SECONDS` (``store.adopt_updates``: one atomic
claim, so two replicas never adopt the same update), handling them as its own. At start-up
:func:`replay` adopts the stale ones at once (after a lone process's crash: all of them, or
those journaled in its last seconds a few seconds later).

Costs: an update of a dead replica is answered :data:`STALE_SECONDS` or so late, twice if the
replica had answered it but died before marking it handled; a process stalled longer than that (event loop blocked, database away) may see an update it holds adopted
by another and handled twice, as a Telegram redelivery would be; the processes' clocks must
agree to well within :data:`STALE_SECONDS` (as for the leases, NTP does).
"""

from __future__ import annotations

import json
import logging
import time
from operator import methodcaller
from typing import Any

from telegram import Update
from telegram.ext import Application

from digests.store import Store

from .common import BotContext, job_queue_of
from .updates import JournaledQueue, journal_write

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

TOUCH_SECONDS = 1.0  # how often a process marks the updates it holds as still in hand
STALE_SECONDS = 5.0  # an unfinished update untouched this long is adopted
KEEP_DONE_SECONDS = 2 * 86400  # Telegram keeps unacknowledged updates for 24 h
JOB_NAME = "update-adoption"


async def adopt(application: AnyApplication, store: Store, now: float) -> int:
    """Queue the unfinished updates untouched since ``now - STALE_SECONDS`` as this process's."""
    queue = application.update_queue
    count = 0
    while True:
        rows = await journal_write(
            queue, store, lambda s: s.adopt_updates(now - STALE_SECONDS, now)
        )
        for update_id, data in rows:
            try:
                update = Update.de_json(json.loads(data), application.bot)
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("dropping unreadable journaled update %s: %s", update_id, exc)
                await journal_write(queue, store, methodcaller("finish_update", update_id))
                continue
            if isinstance(queue, JournaledQueue):
                await queue.put_replayed(update)
            else:
                await queue.put(update)
            count += 1
        if not rows:
            return count


async def replay(application: AnyApplication, store: Store) -> int:
    """At start-up: queue the updates fetched but not handled before the last stop (a crash,
    this process's or another replica's); prune the old handled ones."""
    count = await adopt(application, store, time.time())
    if count:
        log.info("handling %d updates received before the last stop", count)
    before = time.time() - KEEP_DONE_SECONDS
    await journal_write(application.update_queue, store, lambda s: s.prune_updates(before))
    return count


async def keep_and_adopt(context: BotContext) -> None:
    """The job: touch the updates this process holds, adopt the stale ones of others."""
    queue = context.application.update_queue
    if not isinstance(queue, JournaledQueue):
        return
    store = context.services.store
    now = time.time()
    taken = sorted(queue.taken)
    await queue.writer.run(lambda s: s.touch_updates(taken, now))
    count = await adopt(context.application, store, now)
    if count:
        log.info("adopted %d updates that a stopped replica had taken", count)


def schedule(application: AnyApplication) -> None:
    job_queue_of(application).run_repeating(
        keep_and_adopt, interval=TOUCH_SECONDS, first=TOUCH_SECONDS, name=JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )  # fmt: skip
