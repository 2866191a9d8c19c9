"""The delivery ledger on PostgreSQL: :class:`digests.ledger.Ledger`'s transitions, same rules.

``Ledger(store)`` gives this class when ``store`` is a :class:`~digests.pgstore.PgStore`, so the
Telegram layer needs no change. What differs from SQLite is concurrency: several processes may
share the table, so :meth:`claim` locks the rows it moves with ``FOR UPDATE SKIP LOCKED`` — a row
another process is claiming is not waited for, and the claim fails (nothing changed) exactly as
when the row is no longer pending; a row is in flight at most once across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .ledger import (
    _COLUMNS,
    MAX_UNSURE_RESENDS,
    Backoff,
    DeadLetter,
    Ledger,
    Outcome,
    Planned,
    Retry,
    Status,
)
from .models import Delivery

if TYPE_CHECKING:
    from .leases import Fence
    from .pgstore import PgStore
    from .store import Store


class PgLedger(Ledger):
    """The ``deliveries`` table of a PostgreSQL store (see :class:`Ledger`)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        from .pgstore import PgStore

        assert isinstance(store, PgStore)
        self.store = store
        self.pg: PgStore = store
        self.clock = clock or (lambda: store.clock().timestamp())
        self.backoff = backoff or Backoff()

    # -- transitions ------------------------------------------------------------------------
    def plan(self, rows: Iterable[Planned], cursor: int) -> int:
        now = self.clock()
        rows = list(rows)
        with self.pg.connection() as conn:
            added = conn.execute(
                "INSERT INTO deliveries (chat_id, seq, mode, due_at, created_at, thread_id) "
                "SELECT chat_id, seq, mode, due_at, %s, thread_id FROM unnest("
                "%s::bigint[], %s::bigint[], %s::text[], %s::float8[], %s::bigint[]) "
                "AS r(chat_id, seq, mode, due_at, thread_id) ON CONFLICT (chat_id, seq) DO NOTHING",
                [
                    now,
                    [r.chat_id for r in rows],
                    [r.seq for r in rows],
                    [str(r.mode) for r in rows],
                    [r.due_at for r in rows],
                    [r.thread_id for r in rows],
                ],
            ).rowcount
            conn.execute(
                "INSERT INTO state (key, value) VALUES ('planned_seq', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(cursor)],
            )
        return max(0, added)

    def claim(self, ids: Sequence[int], fence: Fence | None = None) -> bool:
        """PENDING → SENDING, all or nothing; rows locked by another process count as taken.
        ``fence``: the lease row is read ``FOR SHARE``, so a takeover (an update of that row)
        waits for this claim and then sees its rows in flight."""
        with self.pg.connection() as conn:
            if fence is not None and not conn.execute(
                "SELECT 1 FROM leases WHERE name = %s AND holder = %s AND epoch = %s FOR SHARE",
                [fence.name, fence.holder, fence.epoch],
            ).fetchone():
                return False
            locked = conn.execute(
                f"SELECT id FROM deliveries WHERE id = ANY(%s) AND status = '{Status.PENDING}' "
                "FOR UPDATE SKIP LOCKED",
                [list(ids)],
            ).fetchall()
            if len(locked) != len(set(ids)):
                return False
            conn.execute(
                f"UPDATE deliveries SET status = '{Status.SENDING}', sent_at = %s "
                "WHERE id = ANY(%s)",
                [self.clock(), list(ids)],
            )
        return True

    def hold(self, ids: Sequence[int], mode: str, until: datetime) -> None:
        with self.pg.connection() as conn:
            conn.execute(
                "UPDATE deliveries SET mode = %s, due_at = %s WHERE id = ANY(%s) "
                f"AND status = '{Status.PENDING}'",
                [mode, until.timestamp(), list(ids)],
            )

    def failed(
        self, ids: Sequence[int], error: str, *, transient: bool, maybe_sent: bool = False
    ) -> Outcome:
        with self.pg.connection() as conn:
            row = conn.execute(
                "SELECT max(attempts), max(unsure) FROM (SELECT attempts, unsure FROM deliveries "
                "WHERE id = ANY(%s) FOR UPDATE) AS locked",
                [list(ids)],
            ).fetchone()
            attempts = (row[0] if row and row[0] is not None else 0) + 1
            unsure = (row[1] if row and row[1] is not None else 0) + (1 if maybe_sent else 0)
            delay = self.backoff.delay(attempts) if transient else None
            if maybe_sent and unsure > MAX_UNSURE_RESENDS:
                outcome: Outcome = DeadLetter(Status.UNSURE, error)
            elif delay is None:
                outcome = DeadLetter(Status.DEAD, error)
            else:
                outcome = Retry(delay, attempts)
            status = outcome.status if isinstance(outcome, DeadLetter) else Status.PENDING
            due = self.clock() + outcome.delay if isinstance(outcome, Retry) else None
            conn.execute(
                "UPDATE deliveries SET status = %s, attempts = %s, unsure = %s, error = %s, "
                "due_at = coalesce(%s, due_at) WHERE id = ANY(%s)",
                [str(status), attempts, unsure, error, due, list(ids)],
            )
        return outcome

    def chat_gone(self, chat_id: int, reason: str) -> int:
        with self.pg.connection() as conn:
            conn.execute(
                "UPDATE chats SET status = 'paused', status_reason = %s, updated_at = %s "
                "WHERE chat_id = %s",
                [reason, self.store.clock().isoformat(timespec="seconds"), chat_id],
            )
            return conn.execute(
                f"UPDATE deliveries SET status = '{Status.SKIPPED}', error = %s WHERE chat_id = %s "
                f"AND status IN ('{Status.PENDING}', '{Status.SENDING}')",
                [f"chat paused: {reason}", chat_id],
            ).rowcount

    def topic_gone(self, chat_id: int, thread_id: int | None, reason: str) -> int:
        with self.pg.connection() as conn:
            conn.execute(
                "UPDATE subscriptions SET paused = %s WHERE chat_id = %s "
                "AND thread_id IS NOT DISTINCT FROM %s",
                [reason, chat_id, thread_id],
            )
            return conn.execute(
                f"UPDATE deliveries SET status = '{Status.SKIPPED}', error = %s WHERE chat_id = %s "
                "AND thread_id IS NOT DISTINCT FROM %s "
                f"AND status IN ('{Status.PENDING}', '{Status.SENDING}')",
                [f"topic paused: {reason}", chat_id, thread_id],
            ).rowcount

    def retry(self) -> int:
        with self.pg.connection() as conn:
            return conn.execute(
                f"UPDATE deliveries SET status = '{Status.PENDING}', attempts = 0, due_at = %s "
                f"WHERE status = '{Status.DEAD}'",
                [self.clock()],
            ).rowcount

    def release_in_flight(self) -> int:
        with self.pg.connection() as conn:
            unsure = conn.execute(
                f"UPDATE deliveries SET status = '{Status.UNSURE}', "
                "error = 'in flight at a stop, twice' "
                f"WHERE status = '{Status.SENDING}' AND unsure >= {MAX_UNSURE_RESENDS}"
            ).rowcount
            return unsure + conn.execute(
                f"UPDATE deliveries SET status = '{Status.PENDING}', unsure = unsure + 1 "
                f"WHERE status = '{Status.SENDING}'"
            ).rowcount

    def _set(self, ids: Sequence[int], status: Status, **fields: object) -> None:
        sets = "".join(f", {name} = %s" for name in fields)
        with self.pg.connection() as conn:
            conn.execute(
                f"UPDATE deliveries SET status = %s{sets} WHERE id = ANY(%s)",
                [str(status), *fields.values(), list(ids)],
            )

    # -- reading ----------------------------------------------------------------------------
    def _deliveries(self, sql: str, params: Sequence[object]) -> list[Delivery]:
        with self.pg.connection() as conn:
            rows: list[Any] = conn.execute(sql, params).fetchall()
        return [Delivery(*r) for r in rows]

    def due(self, limit: int = 5000, per_chat: int = 100) -> list[Delivery]:
        return self._deliveries(
            f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER "
            "(PARTITION BY chat_id ORDER BY due_at, id) AS n FROM deliveries "
            f"WHERE status = '{Status.PENDING}' AND due_at <= %s) d "
            "JOIN chats c ON c.chat_id = d.chat_id "
            "WHERE c.status = 'active' AND d.n <= %s ORDER BY d.due_at, d.id LIMIT %s",
            [self.clock(), per_chat, limit],
        )

    def next_due_at(self) -> float | None:
        with self.pg.connection() as conn:
            row = conn.execute(
                "SELECT min(d.due_at) FROM deliveries d JOIN chats c ON c.chat_id = d.chat_id "
                f"WHERE d.status = '{Status.PENDING}' AND c.status = 'active'"
            ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def recent_sends(self, since: float) -> list[tuple[int, float]]:
        with self.pg.connection() as conn:
            rows = conn.execute(
                "SELECT chat_id, max(sent_at) FROM deliveries WHERE sent_at >= %s "
                f"AND status IN ('{Status.SENT}', '{Status.SENDING}') "
                "GROUP BY chat_id, coalesce(message_id, -id) ORDER BY 2",
                [since],
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def rows(self, *, chat_id: int | None = None, status: Status | None = None) -> list[Delivery]:
        where: list[str] = []
        args: list[object] = []
        if chat_id is not None:
            where.append("d.chat_id = %s")
            args.append(chat_id)
        if status is not None:
            where.append("d.status = %s")
            args.append(str(status))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        return self._deliveries(f"SELECT {_COLUMNS} FROM deliveries d {clause} ORDER BY d.id", args)

    def counts(self) -> dict[str, int]:
        with self.pg.connection() as conn:
            rows = conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}
