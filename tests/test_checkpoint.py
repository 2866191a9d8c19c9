"""A bulk load's write-ahead log is checkpointed by a thread of its own, not by its commits."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from digests.checkpoint import Checkpointer
from digests.formats import RawArticle
from digests.pipeline import analyze
from digests.store import Store


def _article(i: int) -> RawArticle:
    return RawArticle(title=f"标题{i}", paragraphs=[f"兵团职工第{i}次参加培训。" * 20])


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wal-checkpoints"]


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_the_writer_does_not_checkpoint_during_a_bulk_load(store: Store) -> None:
    autocheckpoint = store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert autocheckpoint > 0
    with store.bulk_load():
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert len(_checkpoint_threads()) == 1
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == autocheckpoint
    assert _checkpoint_threads() == []


def test_the_thread_stops_when_the_load_fails(store: Store) -> None:
    with pytest.raises(RuntimeError), store.bulk_load():
        raise RuntimeError("a failed load")
    assert _checkpoint_threads() == []
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] > 0


def test_committed_frames_are_checkpointed_by_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_autocheckpoint = 0")  # as bulk_load sets it
        store.add([analyze(_article(i)) for i in range(100)])  # frames nobody copied yet
        checkpointer = Checkpointer(str(path), interval=0.02)
        assert checkpointer.start()
        try:
            assert _wait_for(lambda: _caught_up(checkpointer)), checkpointer.last
        finally:
            checkpointer.stop()
        assert _checkpoint_threads() == []


def _caught_up(checkpointer: Checkpointer) -> bool:
    """The last checkpoint copied every frame of a log that had some."""
    last = checkpointer.last
    return last is not None and last[1] > 0 and last[2] == last[1]


def test_a_bulk_load_has_its_log_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Checkpointer] = []

    class Recorded(Checkpointer):
        def start(self) -> bool:
            started.append(self)
            self.interval = 0.02
            return super().start()

    monkeypatch.setattr("digests.store.Checkpointer", Recorded)
    with Store(tmp_path / "b.db") as store:
        articles = [analyze(_article(i)) for i in range(200)]
        with store.bulk_load():
            for start in range(0, 200, 50):
                store.add(articles[start : start + 50])
            (checkpointer,) = started
            assert _wait_for(lambda: _caught_up(checkpointer)), checkpointer.last
        assert store.count() == 200


def test_no_thread_for_a_database_in_memory() -> None:
    with Store(":memory:") as store, store.bulk_load():
        assert _checkpoint_threads() == []
        assert Checkpointer(":memory:").start() is False


def test_no_thread_without_a_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()  # rollback journal
    assert Checkpointer(str(path)).start() is False
    assert _checkpoint_threads() == []


def _load_in_batches(path: Path, restart_bytes: int, batches: int = 60) -> tuple[int, int]:
    """A bulk load of ``batches`` batches, each begun once the thread has copied the log (as in
    a real load, where analysing the next batch takes longer): (the log file's largest size,
    the size of one batch's frames)."""
    started: list[Checkpointer] = []

    class Small(Checkpointer):
        def start(self) -> bool:
            started.append(self)
            self.interval, self.restart_bytes = 0.01, restart_bytes
            return super().start()

    wal = Path(f"{path}-wal")
    articles = [analyze(_article(i)) for i in range(batches * 10)]
    largest = one_batch = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("digests.store.Checkpointer", Small)
        with Store(path) as store, store.bulk_load():
            (checkpointer,) = started
            for start in range(0, len(articles), 10):
                before = checkpointer.last[1] if checkpointer.last else 0
                store.add(articles[start : start + 10])
                assert _wait_for(lambda: _caught_up(checkpointer)), checkpointer.last
                one_batch = max(one_batch, checkpointer.last[1] - before)  # type: ignore[index]
                largest = max(largest, wal.stat().st_size)
            assert store.count() == len(articles)
    return largest, one_batch * checkpointer.page_size


def test_a_long_bulk_load_writes_its_log_from_the_start_again(tmp_path: Path) -> None:
    # Restarted past 64 KB, the log never holds much more than that and one batch; left to
    # restart by itself, it grew on through the whole load (to 25 GB for 1M articles).
    largest, one_batch = _load_in_batches(tmp_path / "r.db", restart_bytes=64 * 1024)
    assert one_batch > 0
    assert largest <= 64 * 1024 + 2 * one_batch + 4096, (largest, one_batch)
