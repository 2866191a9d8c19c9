"""Named leases in the store: a role (the sender of a bot, the corpus poll, the source poll) held
by one process at a time, on either backend.

A lease is a row of the ``leases`` table — ``name``, ``holder`` (a process's id), ``epoch`` and
``expires_at`` (wall-clock seconds). :meth:`Leases.acquire` is one atomic upsert that succeeds only
if the lease is free, expired or already the caller's; it renews the caller's own lease (same
epoch) and gives a lease that changes hands the next epoch. :meth:`Leases.renew` extends a lease
only for the holder of that epoch, so a holder that stalled past its expiry while another took
over finds out at its next renewal. :meth:`Leases.release` frees a lease at a clean stop (the next
holder, whoever it is, gets a new epoch); a process killed with ``kill -9`` releases nothing and its
leases expire after ``ttl`` seconds (the bot's ``DIGESTBOT_LEASE_SECONDS``, default 5); a live
holder renews them every ``ttl / 4`` (:mod:`bot.election`).

The epoch is a fencing token: the delivery ledger's ``claim`` takes a :class:`Fence` and moves rows
only while the lease still has that holder and epoch, checked in the claim's own transaction (on
PostgreSQL under ``FOR SHARE`` of the lease row, so a takeover waits for a claim in progress and
then sees its rows). A holder that lost its lease cannot claim another row.

Why a lease row and not a PostgreSQL advisory lock: the same table and statements work on SQLite
(several processes on one file) and on PostgreSQL; expiry is explicit and follows an injected
clock, so takeover is tested without sleeping; the epoch fences writes, which a session lock
cannot do once its holder's connection is gone; and a pooled connection, which an advisory
session lock would be tied to, is shared by unrelated work. The cost: holders' clocks must agree
to well within ``ttl`` (NTP does), and a dead holder's lease is taken over only after it expires.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store

DEFAULT_TTL = 5.0


def process_id() -> str:
    """A holder id unique to this process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Fence:
    """What a write done under a lease checks: the lease ``name`` still has ``holder`` and
    ``epoch``."""

    name: str
    holder: str
    epoch: int


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    epoch: int
    expires_at: float

    @property
    def fence(self) -> Fence:
        return Fence(self.name, self.holder, self.epoch)


_COLUMNS = "name, holder, epoch, expires_at"


class Leases:
    """The leases of ``store``, taken as ``holder`` for ``ttl`` seconds of ``clock``."""

    def __init__(
        self,
        store: Store,
        holder: str | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.holder = holder or process_id()
        self.ttl = ttl
        self.clock = clock
        self._pg = hasattr(store, "pool")  # a PgStore (psycopg is not imported for SQLite)

    def _run(self, sql: str, params: Sequence[object]) -> list[Any]:
        """One statement in its own transaction; the rows it returns."""
        if self._pg:
            with self.store.connection() as conn:  # type: ignore[attr-defined]
                cursor = conn.execute(sql.replace("?", "%s"), list(params))
                return list(cursor.fetchall()) if cursor.description else []
        with self.store.conn:
            return self.store.conn.execute(sql, list(params)).fetchall()

    @staticmethod
    def _lease(row: Sequence[Any] | None) -> Lease | None:
        if not row:
            return None
        return Lease(str(row[0]), str(row[1]), int(row[2]), float(row[3]))

    def acquire(self, name: str) -> Lease | None:
        """Take ``name`` if it is free or expired (the next epoch), or renew it if it is already
        this holder's (the same epoch); ``None`` if another holder has it."""
        now = self.clock()
        rows = self._run(
            "INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT (name) DO UPDATE SET "
            "epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch "
            "ELSE leases.epoch + 1 END, "
            "holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ? "
            f"RETURNING {_COLUMNS}",
            [name, self.holder, now + self.ttl, now],
        )
        return self._lease(rows[0] if rows else None)

    def renew(self, lease: Lease) -> Lease | None:
        """Extend ``lease`` by ``ttl`` from now; ``None`` if it has changed hands since (this
        holder must stop acting on it)."""
        rows = self._run(
            f"UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ? "
            f"RETURNING {_COLUMNS}",
            [self.clock() + self.ttl, lease.name, self.holder, lease.epoch],
        )
        return self._lease(rows[0] if rows else None)

    def release(self, lease: Lease) -> bool:
        """Free ``lease`` now (if it is still this holder's epoch); the next holder gets a new
        epoch, this one included."""
        rows = self._run(
            "UPDATE leases SET holder = '', expires_at = 0 "
            "WHERE name = ? AND holder = ? AND epoch = ? RETURNING name",
            [lease.name, self.holder, lease.epoch],
        )
        return bool(rows)

    def current(self, name: str) -> Lease | None:
        """Who holds ``name`` now (``None``: free or expired)."""
        rows = self._run(
            f"SELECT {_COLUMNS} FROM leases WHERE name = ? AND holder != '' AND expires_at > ?",
            [name, self.clock()],
        )
        return self._lease(rows[0] if rows else None)

    def live(self, prefix: str) -> list[Lease]:
        """The unexpired leases whose name starts with ``prefix``."""
        rows = self._run(
            f"SELECT {_COLUMNS} FROM leases WHERE substr(name, 1, length(?)) = ? AND holder != '' "
            "AND expires_at > ? ORDER BY name",
            [prefix, prefix, self.clock()],
        )
        return [lease for lease in map(self._lease, rows) if lease is not None]
