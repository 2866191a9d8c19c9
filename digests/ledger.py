"""The delivery ledger: one row per (chat, article), and every move a row can make, each one
transaction.

This module holds the product's hardest guarantee — nothing planned is lost, and only a message
whose fate Telegram left unknown can arrive twice — so that the Telegram layer (``bot.sender``)
only sends and reports what Telegram answered. The life of a row::

    plan ─► PENDING ─claim─► SENDING ─sent─► SENT
               ▲                │
               └── failed(transient) / wait (429) / release (restart) / hold (quiet hours)
                                │
                                ├─ failed(not transient, or out of attempts) ─► DEAD ─retry─► PENDING
                                ├─ failed(maybe_sent, a second time) ─► UNSURE   (never resent)
                                └─ chat_gone ─► SKIPPED (and the chat is paused)

``failed(..., maybe_sent=True)`` is a send whose answer never came (a read timeout, a connection
reset after the request went out): Telegram may have posted it. Such a row is resent once; if
that send is unsure too, the row becomes ``UNSURE`` and is not sent again, so a (chat, article)
gets at most one duplicate. ``retry`` (the admins' /retry) only revives ``DEAD`` rows, which are
known not to have been sent.

Times are wall-clock seconds from an injected ``clock`` (the store's), so tests can move time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .models import Delivery

if TYPE_CHECKING:
    from .leases import Fence
    from .store import Store


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"
    UNSURE = "unsure"


@dataclass(frozen=True)
class Backoff:
    """Transient failures: resend after ``base``, 2×, 4×… (at most ``cap``); the
    ``attempts``-th failure is a dead letter. The defaults give 2 + 4 + 8 + 16 s."""

    base: float = 2.0
    cap: float = 300.0
    attempts: int = 5

    def delay(self, failures: int) -> float | None:
        """Seconds before the next try after ``failures`` failures; ``None`` = give up."""
        if failures >= self.attempts:
            return None
        return float(min(self.cap, self.base * 2 ** (failures - 1)))


@dataclass(frozen=True)
class Retry:
    """The row is pending again, due in ``delay`` seconds."""

    delay: float
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    """The row is ``DEAD`` (or ``UNSURE``: ``status`` says which); an admin may look at it."""

    status: Status
    error: str


Outcome = Retry | DeadLetter


@dataclass(frozen=True)
class Planned:
    """A row to plan: ``chat_id`` gets article ``seq`` in ``mode`` from ``due_at`` on."""

    chat_id: int
    seq: int
    mode: str
    due_at: float
    thread_id: int | None = None


MAX_UNSURE_RESENDS = 1
_COLUMNS = (
    "d.id, d.chat_id, d.seq, d.mode, d.status, d.due_at, d.attempts, d.message_id, d.error, "
    "d.thread_id, d.unsure"
)


class Ledger:
    """The ``deliveries`` table of ``store`` (see the module docstring)."""

    def __new__(cls, store: Store, **kwargs: Any) -> Ledger:
        """The ledger of ``store``'s backend: a PostgreSQL store names its own
        (``ledger_class``, :class:`digests.pgledger.PgLedger`)."""
        kind: type[Ledger] = getattr(store, "ledger_class", cls)
        return object.__new__(kind if issubclass(kind, cls) else cls)

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] | None = None,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.store = store
        self.conn = store.conn
        self.clock = clock or (lambda: store.clock().timestamp())
        self.backoff = backoff

    # -- transitions ------------------------------------------------------------------------
    def plan(self, rows: Iterable[Planned], cursor: int) -> int:
        """Insert rows and move the planning cursor, atomically; a (chat, article) pair already
        in the ledger is left alone. Returns the rows added."""
        now = self.clock()
        with self.conn:
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO deliveries (chat_id, seq, mode, due_at, created_at, "
                "thread_id) VALUES (?,?,?,?,?,?)",
                [(r.chat_id, r.seq, r.mode, r.due_at, now, r.thread_id) for r in rows],
            )
            added = self.conn.total_changes - before
            self.conn.execute(
                "INSERT INTO state (key, value) VALUES ('planned_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(cursor)],
            )
        return added

    def claim(self, ids: Sequence[int], fence: Fence | None = None) -> bool:
        """PENDING → SENDING for a message about to go out; ``False`` (and nothing changed) if
        any row is no longer pending, so one (chat, article) is never in flight twice, or if
        ``fence`` is given and its lease has changed hands (:mod:`digests.leases`)."""
        marks = ",".join("?" * len(ids))
        fenced, args = "", list[object]()
        if fence is not None:
            fenced = (
                " AND EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND epoch = ?)"
            )
            args = [fence.name, fence.holder, fence.epoch]
        with self.conn:
            cursor = self.conn.execute(
                f"UPDATE deliveries SET status = '{Status.SENDING}', sent_at = ? "
                f"WHERE id IN ({marks}) AND status = '{Status.PENDING}'{fenced}",
                [self.clock(), *ids, *args],
            )
            if cursor.rowcount != len(ids):
                self.conn.rollback()
                return False
        return True

    def sent(self, ids: Sequence[int], message_id: int) -> None:
        """Telegram accepted the message."""
        self._set(ids, Status.SENT, message_id=message_id, sent_at=self.clock(), error=None)

    def hold(self, ids: Sequence[int], mode: str, until: datetime) -> None:
        """Quiet hours: pending rows wait until ``until`` and go out together in ``mode`` (the
        daily mode at that time: one catch-up digest)."""
        marks = ",".join("?" * len(ids))
        with self.conn:
            self.conn.execute(
                f"UPDATE deliveries SET mode = ?, due_at = ? WHERE id IN ({marks}) "
                f"AND status = '{Status.PENDING}'",
                [mode, until.timestamp(), *ids],
            )

    def wait(self, ids: Sequence[int], seconds: float, error: str) -> None:
        """Telegram said 429: pending again after ``seconds``, no attempt counted."""
        self._set(ids, Status.PENDING, due_at=self.clock() + seconds, error=error)

    def failed(
        self, ids: Sequence[int], error: str, *, transient: bool, maybe_sent: bool = False
    ) -> Outcome:
        """A send failed. ``transient`` (5xx, network): back off, or a dead letter after
        :attr:`Backoff.attempts`; not transient (a message Telegram will never accept): dead at
        once. ``maybe_sent``: Telegram may have it — resent once, then ``UNSURE``."""
        marks = ",".join("?" * len(ids))
        with self.conn:
            attempts, unsure = self.conn.execute(
                f"SELECT max(attempts), max(unsure) FROM deliveries WHERE id IN ({marks})",
                list(ids),
            ).fetchone()
            attempts, unsure = (attempts or 0) + 1, (unsure or 0) + (1 if maybe_sent else 0)
            delay = self.backoff.delay(attempts) if transient else None
            if maybe_sent and unsure > MAX_UNSURE_RESENDS:
                outcome: Outcome = DeadLetter(Status.UNSURE, error)
            elif delay is None:
                outcome = DeadLetter(Status.DEAD, error)
            else:
                outcome = Retry(delay, attempts)
            status = outcome.status if isinstance(outcome, DeadLetter) else Status.PENDING
            due = self.clock() + outcome.delay if isinstance(outcome, Retry) else None
            self.conn.execute(
                f"UPDATE deliveries SET status = ?, attempts = ?, unsure = ?, error = ?, "
                f"due_at = coalesce(?, due_at) WHERE id IN ({marks})",
                [status, attempts, unsure, error, due, *ids],
            )
        return outcome

    def chat_gone(self, chat_id: int, reason: str) -> int:
        """The chat blocked the bot or no longer exists: pause it and skip what was waiting for
        it (in flight included), in one transaction. Returns the rows skipped."""
        with self.conn:
            self.conn.execute(
                "UPDATE chats SET status = 'paused', status_reason = ?, updated_at = ? "
                "WHERE chat_id = ?",
                [reason, self.store.clock().isoformat(timespec="seconds"), chat_id],
            )
            return self.conn.execute(
                f"UPDATE deliveries SET status = '{Status.SKIPPED}', error = ? WHERE chat_id = ? "
                f"AND status IN ('{Status.PENDING}', '{Status.SENDING}')",
                [f"chat paused: {reason}", chat_id],
            ).rowcount

    def topic_gone(self, chat_id: int, thread_id: int | None, reason: str) -> int:
        """A forum topic was closed or deleted: pause the chat's subscriptions made in it and
        skip what was waiting for it, in one transaction. Returns the rows skipped."""
        with self.conn:
            self.conn.execute(
                "UPDATE subscriptions SET paused = ? WHERE chat_id = ? AND thread_id IS ?",
                [reason, chat_id, thread_id],
            )
            return self.conn.execute(
                f"UPDATE deliveries SET status = '{Status.SKIPPED}', error = ? WHERE chat_id = ? "
                f"AND thread_id IS ? AND status IN ('{Status.PENDING}', '{Status.SENDING}')",
                [f"topic paused: {reason}", chat_id, thread_id],
            ).rowcount

    def skip(self, ids: Sequence[int], reason: str) -> None:
        """Rows that cannot be sent at all (the article is gone, the subscription paused)."""
        self._set(ids, Status.SKIPPED, error=reason)

    def retry(self) -> int:
        """Dead letters (known not sent) become pending now; returns how many."""
        with self.conn:
            return self.conn.execute(
                f"UPDATE deliveries SET status = '{Status.PENDING}', attempts = 0, due_at = ? "
                f"WHERE status = '{Status.DEAD}'",
                [self.clock()],
            ).rowcount

    def release_in_flight(self) -> int:
        """After a crash or stop: rows left SENDING may or may not have reached Telegram. They
        count as one unsure send: pending again once, ``UNSURE`` if that happened before."""
        with self.conn:
            unsure = self.conn.execute(
                f"UPDATE deliveries SET status = '{Status.UNSURE}', "
                "error = 'in flight at a stop, twice' "
                f"WHERE status = '{Status.SENDING}' AND unsure >= {MAX_UNSURE_RESENDS}"
            ).rowcount
            return (
                unsure
                + self.conn.execute(
                    f"UPDATE deliveries SET status = '{Status.PENDING}', unsure = unsure + 1 "
                    f"WHERE status = '{Status.SENDING}'"
                ).rowcount
            )

    def _set(self, ids: Sequence[int], status: Status, **fields: object) -> None:
        sets = "".join(f", {name} = ?" for name in fields)
        marks = ",".join("?" * len(ids))
        with self.conn:
            self.conn.execute(
                f"UPDATE deliveries SET status = ?{sets} WHERE id IN ({marks})",
                [status, *fields.values(), *ids],
            )

    # -- reading ----------------------------------------------------------------------------
    def due(self, limit: int = 5000, per_chat: int = 100) -> list[Delivery]:
        """Pending rows that may be sent now, for active chats, oldest first; at most
        ``per_chat`` of one chat, so one chat's backlog never crowds out the others."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER "
            "(PARTITION BY chat_id ORDER BY due_at, id) AS n FROM deliveries "
            f"WHERE status = '{Status.PENDING}' AND due_at <= ?) d "
            "JOIN chats c ON c.chat_id = d.chat_id "
            "WHERE c.status = 'active' AND d.n <= ? ORDER BY d.due_at, d.id LIMIT ?",
            [self.clock(), per_chat, limit],
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def next_due_at(self) -> float | None:
        row = self.conn.execute(
            "SELECT min(d.due_at) FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
            f"WHERE d.status = '{Status.PENDING}' AND c.status = 'active'"
        ).fetchone()
        return float(row[0]) if row[0] is not None else None

    def recent_sends(self, since: float) -> list[tuple[int, float]]:
        """(chat_id, time) of messages sent or being sent since ``since`` (one per message)."""
        return self.conn.execute(
            "SELECT chat_id, max(sent_at) FROM deliveries WHERE sent_at >= ? "
            f"AND status IN ('{Status.SENT}', '{Status.SENDING}') "
            "GROUP BY chat_id, coalesce(message_id, -id) ORDER BY 2",
            [since],
        ).fetchall()

    def rows(self, *, chat_id: int | None = None, status: Status | None = None) -> list[Delivery]:
        where: list[str] = []
        args: list[object] = []
        if chat_id is not None:
            where.append("d.chat_id = ?")
            args.append(chat_id)
        if status is not None:
            where.append("d.status = ?")
            args.append(str(status))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries d {clause} ORDER BY d.id", args
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))
