"""Which replica does what: the sender and the poll jobs each run in one process at a time,
elected through the store's leases (:mod:`digests.leases`), so any number of ``digestbot run``
processes may share one token and one database.

Every replica (:class:`Election`, started by ``bot.app.running``) holds a heartbeat lease
``replica:<its id>`` and tries, once a second while it stands by and every ``ttl / 4`` while it
holds them, the role leases:

* ``sender:<bot id>`` — its holder runs the :class:`~bot.sender.Sender` loop, claiming rows under
  the lease's epoch (a fenced claim: a holder that lost the lease claims nothing more). On taking
  the role it releases the rows left in flight by the previous holder (killed: they may have been
  sent, so duplicates are bounded by the sender's concurrency; nothing is lost) and seeds its rate
  limiter with the last minute of sends recorded in the ledger. On losing it (renewal refused, or
  not renewed within ``ttl``) it stops claiming at once and leaves the rest to the new holder.
* ``corpus-poll`` and ``source-poll`` — a poll round runs only in the replica holding its lease
  (:meth:`Election.holds`), so two replicas never poll the same files or feeds at once.

A killed holder's roles are taken over within ``ttl`` (``DIGESTBOT_LEASE_SECONDS``) plus a second;
a replica that stops cleanly releases its leases, and its roles move at once.

Telegram's 30 messages/s are the bot's, not a process's: replies to lookups leave from every
replica. The sender's limiter therefore keeps all 30/s only while its replica is alone (one
process: delivery as fast as before); with ``n > 1`` live replicas the sender takes
``30 - REPLY_SHARE`` and each other replica's limiter ``REPLY_SHARE / (n - 1)`` for its replies, so
the sum never exceeds 30/s. A new replica sends nothing until the sender has had a renewal round
to see it. Per-chat limits are kept by each limiter for its own messages, and the previous
sender's by seeding from the ledger; a reply and a delivery to one private chat within a second
stay within Telegram's burst of two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from digests.leases import Lease, Leases
from digests.store import Store

from .common import BotApplication
from .ratelimit import Limiter
from .sender import Sender

log = logging.getLogger(__name__)

CORPUS_POLL = "corpus-poll"
SOURCE_POLL = "source-poll"
REPLICA = "replica:"
REPLY_SHARE = 6  # messages/s of Telegram's 30 left to the replicas that do not send deliveries
STANDBY_SECONDS = 1.0  # how often a replica without a role tries to take it


def budget(full: int, replicas: int, sender: bool) -> int:
    """Messages per second this replica's limiter may send (see the module docstring)."""
    if replicas <= 1:
        return full
    share = min(REPLY_SHARE, full // 2)
    return full - share if sender else max(1, share // (replicas - 1))


class Election:
    """This process's leases: the sender role, the poll jobs' roles and its heartbeat."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        *,
        bot_id: int,
        limiter: Limiter | None,
        ttl: float,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.leases = Leases(store, holder, ttl=ttl, clock=clock)
        self.sender = sender
        self.limiter = limiter
        self.full_rate = limiter.global_per_second if limiter is not None else 30
        self.sender_role = f"sender:{bot_id}"
        self.roles = (self.sender_role, CORPUS_POLL, SOURCE_POLL)
        self.held: dict[str, Lease] = {}
        self.renewed_at: dict[str, float] = {}  # monotonic time of each role's last renewal
        self.replicas = 1
        self.takeovers = 0  # times this process took the sender role
        self._task: asyncio.Task[None] | None = None
        self.abandoned = False

    @property
    def holder(self) -> str:
        return self.leases.holder

    @property
    def interval(self) -> float:
        return min(STANDBY_SECONDS, self.leases.ttl / 4)

    def holds(self, role: str) -> bool:
        """Whether this process holds ``role`` now (renewed within its lease time)."""
        at = self.renewed_at.get(role)
        return role in self.held and at is not None and time.monotonic() - at < self.leases.ttl

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """The first round now (a lone replica starts sending at once), then one per interval."""
        self.round()
        if self.limiter is not None and not self.holds(self.sender_role) and self.replicas > 1:
            self.limiter.hold(self.leases.ttl / 4 + 0.5)  # until the sender has seen us
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="election")

    async def stop(self) -> None:
        """A clean stop: the sender finishes and releases its rows, then every lease is freed
        (another replica takes the roles at its next round)."""
        if self.abandoned:
            return
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        holding = self.holds(self.sender_role)
        await self.sender.stop(release=holding)
        for lease in list(self.held.values()):
            with contextlib.suppress(Exception):
                self.leases.release(lease)
        with contextlib.suppress(Exception):
            heartbeat = self.leases.current(REPLICA + self.holder)
            if heartbeat is not None:
                self.leases.release(heartbeat)
        self.held.clear()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.round()
            except Exception:  # the database may be away for a moment: roles lapse, see round
                log.exception("lease round failed")
                self._lapse()

    # -- one round ----------------------------------------------------------------------------
    def round(self) -> None:
        """Renew the heartbeat and held roles, try to take the free ones, adjust the limiter."""
        self.leases.acquire(REPLICA + self.holder)
        self.replicas = max(1, len(self.leases.live(REPLICA)))
        for role in self.roles:
            held = self.held.get(role)
            lease = self.leases.renew(held) if held else self.leases.acquire(role)
            if lease is None:
                if held is not None:
                    self._lost(role, "another replica holds it now")
                continue
            self.held[role] = lease
            self.renewed_at[role] = time.monotonic()
            if held is None:
                self._gained(role, lease)
        if self.limiter is not None:
            self.limiter.global_per_second = budget(
                self.full_rate, self.replicas, self.holds(self.sender_role)
            )

    def _lapse(self) -> None:
        """Roles not renewed within the lease time are given up (another replica may have them)."""
        for role in list(self.held):
            if not self.holds(role):
                self._lost(role, "not renewed in time")

    def _gained(self, role: str, lease: Lease) -> None:
        log.info("this replica now holds %s (epoch %d)", role, lease.epoch)
        if role == self.sender_role:
            self.takeovers += 1
            self.sender.start(lease.fence)

    def _lost(self, role: str, why: str) -> None:
        log.warning("this replica no longer holds %s: %s", role, why)
        self.held.pop(role, None)
        self.renewed_at.pop(role, None)
        if role == self.sender_role:
            self.sender.stand_down()

    def abandon(self) -> None:
        """Stop everything without releasing anything, as ``kill -9`` would (tests): the
        sender loop and its sends in flight are cancelled where they are."""
        self.abandoned = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.sender.stand_down()
        if self.sender._task is not None:
            self.sender._task.cancel()


def allows(application: BotApplication, role: str) -> bool:
    """Whether a job of ``role`` may run in this replica: no election (the bot run without
    delivery, or a test driving jobs by hand) or this replica holds the role."""
    election: Election | None = application.bot_data.get("election")
    return election is None or election.holds(role)
