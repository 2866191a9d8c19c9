"""The PostgreSQL schema: migrations numbered as SQLite's (:data:`digests.store.MIGRATIONS`).

Version *n* here holds the same tables and columns as version *n* of the SQLite store, written in
PostgreSQL's terms: ``articles_fts``/``articles_grams`` become the ``tsvector`` columns ``words`` and
``grams`` of ``article_search`` with GIN indexes (:mod:`digests.pgtext`); the FTS5 vocabulary table
has no counterpart (``ts_stat`` computes it). The version lives in ``schema_version``; the
migrations run under an advisory lock, so replicas starting together migrate once.

A migration appended to the SQLite list must get its PostgreSQL twin here, at the same number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

Migration = Callable[[psycopg.Connection[Any]], None]
MIGRATION_LOCK = 0x6469_6765_7374  # pg_advisory_xact_lock key ("digest")


def _run(*statements: str) -> Migration:
    def migration(conn: psycopg.Connection[Any]) -> None:
        for statement in statements:
            conn.execute(statement)

    return migration


_m001_articles = _run(
    "CREATE TABLE articles ("
    " seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, content_hash TEXT NOT NULL UNIQUE,"
    " title TEXT NOT NULL, body TEXT NOT NULL, summary TEXT, keywords TEXT, regions TEXT,"
    " url TEXT, published TEXT, source TEXT, source_path TEXT, chars INTEGER,"
    " added_at TEXT NOT NULL)",
    "CREATE TABLE article_search ("
    " seq BIGINT PRIMARY KEY REFERENCES articles(seq) ON DELETE CASCADE,"
    " words TSVECTOR NOT NULL)",
    "CREATE INDEX article_search_words ON article_search USING GIN (words)",
    "CREATE TABLE article_regions (code TEXT NOT NULL, seq BIGINT NOT NULL,"
    " mentions INTEGER NOT NULL, PRIMARY KEY (code, seq))",
    "CREATE INDEX article_regions_rank ON article_regions (code, mentions DESC, seq DESC)",
    "CREATE TABLE region_counts (code TEXT PRIMARY KEY, articles BIGINT NOT NULL)",
)

_m002_chats_and_subscriptions = _run(
    "CREATE TABLE chats ("
    " chat_id BIGINT PRIMARY KEY, type TEXT NOT NULL, title TEXT, username TEXT, language TEXT,"
    " mode TEXT NOT NULL DEFAULT 'instant', timezone TEXT DEFAULT 'Asia/Shanghai',"
    " status TEXT NOT NULL DEFAULT 'active', status_reason TEXT, created_at TEXT,"
    " updated_at TEXT)",
    "CREATE INDEX chats_username ON chats (username)",
    "CREATE TABLE subscriptions ("
    " id BIGSERIAL PRIMARY KEY,"
    " chat_id BIGINT NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,"
    " keywords TEXT NOT NULL DEFAULT '[]', regions TEXT NOT NULL DEFAULT '[]',"
    " mode TEXT NOT NULL DEFAULT 'instant', since_seq BIGINT NOT NULL DEFAULT 0,"
    " created_by BIGINT, created_at TEXT NOT NULL)",
    "CREATE INDEX subscriptions_chat ON subscriptions (chat_id)",
)

_m003_delivery_ledger = _run(
    "CREATE TABLE deliveries ("
    " id BIGSERIAL PRIMARY KEY, chat_id BIGINT NOT NULL, seq BIGINT NOT NULL, mode TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', due_at DOUBLE PRECISION NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, message_id BIGINT, error TEXT,"
    " created_at DOUBLE PRECISION NOT NULL, sent_at DOUBLE PRECISION, UNIQUE (chat_id, seq))",
    "CREATE INDEX deliveries_due ON deliveries (status, due_at)",
    "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE corpus_files (path TEXT PRIMARY KEY, size BIGINT, mtime_ns BIGINT, status TEXT,"
    " detail TEXT, seen_at DOUBLE PRECISION)",
)

_m004_nothing = _run()  # SQLite dropped an index PostgreSQL never had


def _m005_cjk_grams(conn: psycopg.Connection[Any]) -> None:
    from .pgtext import ascii_tokens, tsvector_literal
    from .text import cjk_grams, to_simplified

    conn.execute("ALTER TABLE article_search ADD COLUMN grams TSVECTOR NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT seq, title, body FROM articles ORDER BY seq").fetchall()
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE article_search SET grams = %s::tsvector WHERE seq = %s",
            [
                (
                    tsvector_literal(
                        cjk_grams(to_simplified(title)), cjk_grams(to_simplified(body)), ascii_tokens
                    ),
                    seq,
                )
                for seq, title, body in rows
            ],
        )
    conn.execute("CREATE INDEX article_search_grams ON article_search USING GIN (grams)")


_m006_delivery_topics_quiet_unsure = _run(
    "ALTER TABLE deliveries ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE deliveries ADD COLUMN thread_id BIGINT",
    "ALTER TABLE subscriptions ADD COLUMN thread_id BIGINT",
    "ALTER TABLE subscriptions ADD COLUMN paused TEXT",
    "ALTER TABLE chats ADD COLUMN quiet TEXT",
)

_m007_update_journal = _run(
    "CREATE TABLE update_journal (update_id BIGINT PRIMARY KEY, data TEXT,"
    " done INTEGER NOT NULL DEFAULT 0, at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX update_journal_open ON update_journal (done, update_id)",
)

_m008_article_source_index = _run("CREATE INDEX articles_source ON articles (source_path)")

_m009_sources = _run(
    "CREATE TABLE sources ("
    " id BIGSERIAL PRIMARY KEY, url TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, name TEXT NOT NULL,"
    " etag TEXT, last_modified TEXT, interval DOUBLE PRECISION NOT NULL DEFAULT 1800,"
    " next_due DOUBLE PRECISION NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    " failing_since DOUBLE PRECISION, last_error TEXT, last_success DOUBLE PRECISION,"
    " last_checked DOUBLE PRECISION, items INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL DEFAULT 'active', baseline_done INTEGER NOT NULL DEFAULT 0,"
    " created_at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE source_items ("
    " source_id BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE, key TEXT NOT NULL,"
    " seq BIGINT, seen_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (source_id, key))",
    "CREATE TABLE article_quiet (seq BIGINT PRIMARY KEY, reason TEXT NOT NULL)",
    "CREATE TABLE article_stories (seq BIGINT PRIMARY KEY, story BIGINT NOT NULL, sig BYTEA,"
    " added DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX article_stories_story ON article_stories (story)",
    "CREATE TABLE article_bands (band BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " PRIMARY KEY (band, seq))",
)

#: ``digests.store.LISTED_DAY`` in PostgreSQL's terms (LEAST skips a NULL, SQLite's MIN does not).
LISTED_DAY = (
    "COALESCE(LEAST(CASE WHEN published ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' "
    "THEN substr(published, 1, 10) END, substr(added_at, 1, 10)), substr(added_at, 1, 10))"
)


def _m010_latest_by_published_day(conn: psycopg.Connection[Any]) -> None:
    from .dates import iso_published

    rows = conn.execute(
        "SELECT seq, published FROM articles WHERE published IS NOT NULL"
    ).fetchall()
    for seq, published in rows:
        iso = iso_published(published)
        if iso != published:
            conn.execute("UPDATE articles SET published = %s WHERE seq = %s", [iso, seq])
    conn.execute(f"CREATE INDEX articles_by_listed_day ON articles (({LISTED_DAY}) DESC, seq DESC)")


_m011_update_digest = _run("ALTER TABLE update_journal ADD COLUMN digest TEXT")

_m012_leases = _run(
    "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL,"
    " expires_at DOUBLE PRECISION NOT NULL)"
)

_m013_learnt_df = _run("CREATE TABLE learnt_df (term TEXT PRIMARY KEY, df BIGINT NOT NULL)")

_m014_nothing = _run()  # SQLite's word index changed tokenizer; the tsvector columns did not

MIGRATIONS: list[Migration] = [
    _m001_articles,
    _m002_chats_and_subscriptions,
    _m003_delivery_ledger,
    _m004_nothing,
    _m005_cjk_grams,
    _m006_delivery_topics_quiet_unsure,
    _m007_update_journal,
    _m008_article_source_index,
    _m009_sources,
    _m010_latest_by_published_day,
    _m011_update_digest,
    _m012_leases,
    _m013_learnt_df,
    _m014_nothing,
]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection[Any]) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction; returns the version found
    (a newer one is left alone: the caller refuses it)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        found = current_version(conn)
        for number in range(found, SCHEMA_VERSION):
            MIGRATIONS[number](conn)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [number + 1])
    return found
