"""The SQLite store: schema versioning, duplicates, transactions, region tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from digests.errors import StoreError
from digests.formats import RawArticle
from digests.models import AnalyzedArticle
from digests.pipeline import analyze
from digests.store import SCHEMA_VERSION, Store


def make(n: int, text: str = "兵团 新闻", regions: dict[str, int] | None = None) -> AnalyzedArticle:
    return AnalyzedArticle(
        id=f"id{n:04d}",
        content_hash=f"hash{n:04d}",
        title=f"标题{n}",
        paragraphs=[f"第{n}段。", "第二段。"],
        summary=[f"第{n}段。"],
        keywords=["兵团"],
        regions=regions or {},
        title_index=f"标题 {n}",
        body_index=text,
        title_grams="",
        body_grams="",
        chars=10,
    )


def test_new_database_is_at_current_schema_in_wal_mode(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def test_add_get_and_duplicates(store: Store, clock) -> None:
    results = store.add([make(1), make(2), make(1)])
    assert [r.status for r in results] == ["added", "added", "duplicate"]
    assert results[2].duplicate_of == "id0001"
    art = store.get("id0002")
    assert art is not None and art.title == "标题2" and art.paragraphs == ["第2段。", "第二段。"]
    assert art.added_at == clock().isoformat(timespec="seconds")
    assert store.get(str(art.seq)).id == "id0002"  # by sequence number too
    assert store.count() == 2
    assert store.get("nope") is None


def test_failed_batch_leaves_nothing_behind(store: Store) -> None:
    store.add([make(1)])
    bad = make(2)
    bad.title = None  # NOT NULL violation in the middle of the batch
    with pytest.raises(sqlite3.IntegrityError):
        store.add([make(3), bad])
    assert store.count() == 1
    assert store.fts_count('"新闻"') == 1
    assert store.get("id0003") is None


def test_region_tables_and_counts(store: Store) -> None:
    store.add([make(1, regions={"650000": 2, "653100": 1}), make(2, regions={"650000": 5})])
    assert store.region_counts(["650000", "653100", "x"]) == {"650000": 2, "653100": 1}
    seqs = [seq for seq, _ in store.region_articles("650000", 5, 0)]
    assert seqs == [store.get("id0002").seq, store.get("id0001").seq]  # most mentions first


def test_latest_and_after(store: Store) -> None:
    store.add([make(i) for i in range(1, 6)])
    assert [a.id for a in store.latest(2)] == ["id0005", "id0004"]
    assert [a.id for a in store.after(3)] == ["id0004", "id0005"]
    assert store.max_seq() == 5


def test_vocabulary_document_frequencies(store: Store) -> None:
    store.add([make(1, "兵团 新闻"), make(2, "兵团 改革"), make(3, "新疆")])
    vocabulary = store.vocabulary(min_docs=1)
    assert (vocabulary["兵团"], vocabulary["新闻"], vocabulary.get("缺席")) == (2, 1, None)
    common = store.vocabulary(min_docs=2)
    assert common["兵团"] == 2 and "新闻" not in common


def test_version_3_database_is_upgraded_and_keeps_its_articles(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store(path) as store:
        store.add([make(1, regions={"650000": 2})])
        # what a version-3 database looked like: the index migration 4 drops
        store.conn.execute("CREATE INDEX article_regions_seq ON article_regions (seq)")
        store.conn.execute("DROP TABLE articles_grams")  # made by migration 5
        store.conn.execute("PRAGMA user_version = 3")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        indexes = {
            row[0]
            for row in store.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'article_regions'"
            )
        }
        assert "article_regions_seq" not in indexes and "article_regions_rank" in indexes
        assert store.region_articles("650000", 5, 0) == [(1, 2)]


def test_version_4_database_gets_the_character_pairs_of_its_articles(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store(path) as store:
        store.add([make(1, text="第六 师 新闻")])
        store.conn.execute("DROP TABLE articles_grams")  # a version-4 database had none
        store.conn.execute("PRAGMA user_version = 4")
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        # the pairs come from the stored text (title 标题1, body 第1段。/第二段。)
        assert store.fts_count('"二段"', table="articles_grams") == 1
        assert store.fts_count('"标题"', table="articles_grams") == 1
        assert store.fts_count('"段第"', table="articles_grams") == 0  # not across the line


def test_bulk_load_settings_are_restored_afterwards(store: Store) -> None:
    def settings() -> list[object]:
        cache = store.conn.execute("PRAGMA cache_size").fetchone()[0]
        hashes = [
            store.conn.execute(f"SELECT v FROM {t}_config WHERE k = 'hashsize'").fetchone()
            for t in ("articles_fts", "articles_grams")
        ]
        return [cache, *hashes]

    before = settings()
    with store.bulk_load(mib=32, fts_hash_mib=8):
        assert settings() == [-32 * 1024, (8 * 2**20,), (8 * 2**20,)]
        store.add([analyze(RawArticle(title="标题", paragraphs=["兵团职工参加培训。" * 3]))])
    assert settings()[0] == before[0]
    assert settings()[1:] == [(2**20,), (2**20,)]  # FTS5's default, as before
    assert store.fts_count('"培训"') == 1
