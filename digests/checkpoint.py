"""WAL checkpoints on a thread of their own while a bulk load writes (``Store.bulk_load``).

A checkpoint copies the write-ahead log into the database file and waits for the disk (an
``fdatasync`` of each). SQLite runs it in the connection whose commit filled the log, so during
a bulk load the ingesting process sat in those waits after most commits while its share of the
analysis waited too (docs/benchmarks.md). Here the writer's automatic checkpoints are off for the
load, and a thread with its own connection runs PASSIVE checkpoints, which neither block the
writer nor wait for it; the writer's setting is restored after. Nothing about durability
changes: commits are as durable as ``synchronous = NORMAL`` makes them, checkpoints still sync.

A log is written from its start again only when a transaction begins after every frame was
copied, and the writer's often began before the thread's last copy ended: the log of a
1,000,000-article load grew to twice the database's size (docs/benchmarks.md). So the writer,
before a transaction, restarts a log grown past ``RESTART_BYTES`` itself (:meth:`restart_log`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between two checkpoints
#: a log larger than this is restarted by the writer before its next transaction
RESTART_BYTES = 256 * 2**20


class Checkpointer:
    """Checkpoints ``path``'s log every ``interval`` seconds until :meth:`stop`. :meth:`start`
    returns ``False`` (and nothing runs) when the database has no write-ahead log or a
    connection of its own cannot be opened: the writer then keeps its own automatic
    checkpoints."""

    def __init__(
        self, path: str, interval: float = INTERVAL, restart_bytes: int = RESTART_BYTES
    ) -> None:
        self.path = path
        self.interval = interval
        self.restart_bytes = restart_bytes
        self.page_size = 4096  # the database's, read by :meth:`start`
        #: the last one's (busy, frames in the log, frames checkpointed), as SQLite reports it
        self.last: tuple[int, int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self) -> bool:
        if self.path == ":memory:":
            return False
        try:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.close()
                return False
            self.page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        except sqlite3.Error as exc:
            log.warning("checkpoints stay with the writer: %s", exc)
            return False
        self._conn = conn
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()
        return True

    def restart_log(self, writer: sqlite3.Connection) -> bool:
        """Run by the writer between two of its transactions: when the thread last saw a log of
        more than ``restart_bytes``, a RESTART checkpoint on ``writer`` copies what the thread
        has not yet (usually nothing) and waits for other readers to leave the log, so that the
        writer's next transaction writes the log from its start. Whether it did."""
        last = self.last
        if last is None or last[1] * self.page_size <= self.restart_bytes:
            return False
        busy = writer.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
        self.last = None  # the thread's next look says how large the log is then
        return not busy

    def stop(self) -> None:
        """Stop after the checkpoint in progress, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        assert self._conn is not None
        try:
            while not self._stop.wait(self.interval):
                try:
                    row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.last = (int(row[0]), int(row[1]), int(row[2]))
                except sqlite3.Error as exc:  # an I/O error: the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            self._conn.close()
