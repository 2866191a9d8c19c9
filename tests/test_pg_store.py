"""The store's tests on PostgreSQL too: the backend-neutral tests of tests/test_store.py run here
on PostgreSQL (their SQLite half runs there), plus what only a shared server raises: concurrent
writers, FOR UPDATE SKIP LOCKED claims, the schema version."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from digests.backends import open_store, store_target
from digests.errors import StoreError
from digests.ledger import Ledger, Planned
from digests.store import SCHEMA_VERSION, Store

from .pgkit import BACKENDS, PG_URL, open_backend, pg_schema, requires_pg
from .test_corpus_edits import test_an_edited_file_replaces_its_article  # noqa: F401
from .test_store import (  # noqa: F401  (collected again, on PostgreSQL)
    make,
    test_add_get_and_duplicates,
    test_latest_and_after,
    test_region_tables_and_counts,
    test_vocabulary_document_frequencies,
)


@pytest.fixture(params=["postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock):
    with open_backend(request.param, tmp_path, clock) as s:
        yield s


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path, clock):
    """The same test on both backends."""
    with open_backend(request.param, tmp_path, clock) as s:
        yield s


def test_failed_batch_leaves_nothing_behind_on_either_backend(any_store: Store) -> None:
    any_store.add([make(1)])
    bad = make(2)
    bad.title = None  # type: ignore[assignment]  # NOT NULL violation mid-batch
    with pytest.raises((psycopg.IntegrityError, __import__("sqlite3").IntegrityError)):
        any_store.add([make(3), bad])
    assert any_store.count() == 1
    assert any_store.fts_count('"新闻"') == 1
    assert any_store.get("id0003") is None


def test_chats_subscriptions_and_state_on_either_backend(any_store: Store) -> None:
    any_store.add([make(1)])
    chat = any_store.upsert_chat(-100, "group", title="群")
    assert (chat.chat_id, chat.status, chat.mode) == (-100, "active", "instant")
    any_store.update_chat(-100, language="zh", quiet="23:00-07:00")
    sub = any_store.add_subscription(-100, ["棉花"], ["650000"], mode="daily", thread_id=7)
    assert (sub.since_seq, sub.keywords, sub.thread_id) == (any_store.max_seq(), ["棉花"], 7)
    other = any_store.add_subscription(-100, [], [])
    assert [s.id for s in any_store.subscriptions(-100)] == [sub.id, other.id]
    any_store.pause_subscription(other.id, "topic closed")
    assert [s.id for s in any_store.active_subscriptions()] == [sub.id]
    any_store.migrate_chat(-100, -1001)
    assert any_store.get_chat(-100) is None
    assert any_store.get_chat(-1001).language == "zh"
    assert [s.chat_id for s in any_store.subscriptions()] == [-1001, -1001]
    assert any_store.remove_subscriptions(-1001, [other.id]) == 1
    assert any_store.subscriber_counts() == {"active": 1}
    assert any_store.get_state("k", "none") == "none"
    any_store.set_state("k", "1")
    any_store.set_state("k", "2")
    assert any_store.get_state("k") == "2"
    any_store.record_corpus_file("a.txt", 3, 4, "seen")
    assert any_store.corpus_files() == {"a.txt": (3, 4, "seen")}
    stats = any_store.stats()
    assert stats["articles"] == 1 and stats["schema_version"] == SCHEMA_VERSION


@requires_pg
def test_open_store_picks_the_backend_by_target(tmp_path: Path, monkeypatch) -> None:
    from digests.pgstore import PgStore

    with open_store(tmp_path / "x.db") as sqlite_store:
        assert type(sqlite_store) is Store
    monkeypatch.setenv("DIGESTBOT_DATABASE_URL", PG_URL)
    monkeypatch.setenv("DIGESTBOT_DB", str(tmp_path / "y.db"))
    assert store_target() == PG_URL and store_target("z.db") == "z.db"
    with pg_schema() as schema, PgStore(PG_URL, schema=schema) as pg:
        assert isinstance(pg.ledger, Ledger) and type(pg.ledger).__name__ == "PgLedger"
        assert "digestbot_test:***@" in pg.path  # the password never shows


@requires_pg
def test_newer_schema_is_refused() -> None:
    from digests.pgstore import PgStore

    with pg_schema() as schema:
        PgStore(PG_URL, schema=schema).close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"INSERT INTO {schema}.schema_version VALUES (%s)", [SCHEMA_VERSION + 1])
        with pytest.raises(StoreError, match="newer"):
            PgStore(PG_URL, schema=schema)


def test_unreachable_server_is_a_clear_error() -> None:
    from digests.pgstore import PgStore

    with pytest.raises(StoreError, match=r"cannot open the database .*:\*\*\*@") as info:
        PgStore("postgresql://u:secret@127.0.0.1:1/none?connect_timeout=2", pool_size=1)
    assert "secret" not in str(info.value)


@requires_pg
def test_concurrent_writers_add_each_article_once(store: Store) -> None:
    """Four threads, each with its own pooled connections, add overlapping batches at once: the
    unique constraint keeps one copy of each text, every other insert is a duplicate."""
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def writer(offset: int) -> None:
        barrier.wait()
        got = []
        for n in range(offset, offset + 30):
            got += [r.status for r in store.add([make(n)])]
        results.append(got)

    threads = [threading.Thread(target=writer, args=(k * 10,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    added = sum(r.count("added") for r in results)
    assert store.count() == added == 60  # ids 0..59, each once
    assert sum(len(r) for r in results) == 120


@requires_pg
def test_a_row_claimed_elsewhere_is_skipped_not_waited_for(store: Store) -> None:
    store.upsert_chat(1, "private")
    ledger = Ledger(store, clock=lambda: 1000.0)
    ledger.plan([Planned(1, 1, "instant", 1000.0), Planned(1, 2, "instant", 1000.0)], cursor=2)
    first, second = (r.id for r in ledger.rows())
    with psycopg.connect(store.url, options=store.pool.kwargs["options"]) as other:
        other.execute("SELECT 1 FROM deliveries WHERE id = %s FOR UPDATE", [first])
        assert ledger.claim([first]) is False  # locked by another process: not in flight twice
        assert ledger.claim([second]) is True
    assert ledger.claim([first]) is True  # the other transaction ended without taking it
    assert [r.status for r in ledger.rows()] == ["sending", "sending"]


def test_settings_take_the_database_url_and_never_show_its_password() -> None:
    from bot.config import load_settings

    url = "postgresql://bot:s3cret@db.internal:5432/digests"
    settings = load_settings({"DIGESTBOT_DATABASE_URL": url, "DIGESTBOT_DB": "other.db"})
    assert settings.db == url
    assert "s3cret" not in repr(settings) and "bot:***@db.internal" in repr(settings)
    assert load_settings({"DIGESTBOT_DB": "other.db"}).db == "other.db"


def test_a_removed_articles_number_is_never_given_again(any_store: Store) -> None:
    any_store.add([make(1), make(2)])
    newest = any_store.get("id0002")
    any_store.remove_article(newest, ("标题 2", "兵团 新闻", "", ""))  # as indexed
    assert any_store.get("id0002") is None and any_store.fts_count('"新闻"') == 1
    any_store.add([make(3)])
    assert any_store.get("id0003").seq == newest.seq + 1


@requires_pg
def test_an_update_is_journaled_once_across_replicas(store: Store) -> None:
    """Two processes on one database (replicas behind a load balancer): the update_id primary
    key lets only one of them take an update Telegram delivered twice."""
    from digests.pgstore import PgStore

    replica = PgStore(store.url, schema=store.pool.kwargs["options"].split("=")[1])
    try:
        assert store.journal_update(42, "{}", 1.0) is True
        assert replica.journal_update(42, "{}", 2.0) is False
        assert replica.unfinished_updates() == [(42, "{}")]
        store.finish_update(42)
        assert replica.unfinished_updates() == []
        assert replica.prune_updates(before=5.0) == 1
        assert replica.journal_update(42, "{}", 6.0, digest="other") is True  # a reused id
        assert store.journal_update(42, "{}", 7.0, digest="other") is False
    finally:
        replica.close()
