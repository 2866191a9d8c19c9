"""The PostgreSQL store: the SQLite :class:`~digests.store.Store`'s interface on a shared server.

``DIGESTBOT_DATABASE_URL=postgresql://…`` selects it (:func:`digests.backends.open_store`), so
several processes (bot replicas, ``digestbot ingest`` runs on other machines) share one database.
It subclasses :class:`Store` to be accepted wherever a store is (one interface, typed once) and
to share the Python around the SQL (:meth:`Store.add`'s loop, the full-text methods over
:mod:`digests.ftsquery`, :mod:`digests.rows`): every method or step that holds SQL is overridden
here with PostgreSQL's (``_insert``, ``_fts_ranked``, ``_select``, ``_write``…), through a
psycopg 3 connection pool, one transaction per call. Dedup holds across processes:
``content_hash`` and ``id`` are unique constraints and an insert that loses the race is reported
as a duplicate.

The schema and its migrations are in :mod:`digests.pgschema`, full-text search (``tsvector`` /
``tsquery`` from the engine's own segmentation) in :mod:`digests.pgtext`, the delivery ledger in
:mod:`digests.pgledger`. :meth:`bulk_load` is a no-op here; a method added to the SQLite store
without its override here fails on PostgreSQL (``AttributeError`` on ``db``), which the
``tests/test_pg_*.py`` files, rerunning the store's tests on PostgreSQL, are there to catch.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import ConnectionPool

from . import pgschema
from .backends import redact
from .errors import StoreError
from .ftsquery import FtsQuery, fts_query
from .models import AnalyzedArticle, Article, Chat, Delivery, Source, Subscription
from .pgtext import (
    RANK_WEIGHTS,
    ascii_tokens,
    fts5_to_bounds,
    fts5_to_tsquery,
    tsvector_literal,
)
from .rows import CHAT_COLUMNS, article_values, first_seen
from .store import (
    _DELIVERY_COLUMNS,
    ARTICLE_COLUMNS,
    LEARNT_DF_ARTICLES,
    AddResult,
    Clock,
    Store,
    _article,
    _source,
    _subscription,
    bounded,
    utcnow,
)
from .wordindex import unicode61_tokens

if TYPE_CHECKING:
    from .ledger import Ledger

#: The SQLite full-text tables → (tsvector column, how its tokens are cut).
FTS_COLUMNS = {"articles_fts": ("words", unicode61_tokens), "articles_grams": ("grams", ascii_tokens)}
#: The plan of a candidates query (:meth:`PgStore._candidates`): the GIN index, nothing else (and no
#: JIT compilation, which the disabled plans' costs would trigger); then back to the defaults.
_GIN_ONLY = "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL jit = off"
_PLANNER_DEFAULTS = "RESET enable_seqscan; RESET enable_indexscan; RESET jit"
_MAX_SEQ = 2**63 - 1
_NOT_REPOSTS = "AND seq NOT IN (SELECT seq FROM article_stories WHERE story != seq)"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# the article-numbering lock (:meth:`PgStore.after`), one per schema: two int4 keys
_NUMBERING_LOCK = f"{0x6E756D}, hashtext(current_schema())"  # "num"
Conn = psycopg.Connection[Any]


#: The word index's document frequencies (term, articles), terms in at least ``%s`` articles.
_VOCABULARY = "SELECT word, ndoc FROM ts_stat('SELECT words FROM article_search') WHERE ndoc >= %s"


class PgStore(Store):
    """The store on PostgreSQL. ``schema`` (tests) puts every table in that schema, created if
    missing."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = utcnow,
        schema: str | None = None,
        pool_size: int | None = None,
    ) -> None:
        self.path = redact(url)
        self.url = url
        self.clock = clock
        self._local = threading.local()
        self._floor = 0
        kwargs: dict[str, Any] = {}
        if schema is not None:
            if not _SCHEMA_NAME.fullmatch(schema):
                raise ValueError(f"not a plain schema name: {schema!r}")
            kwargs["options"] = f"-c search_path={schema}"
        size = pool_size or int(os.environ.get("DIGESTBOT_DATABASE_POOL", "4"))
        try:
            with psycopg.connect(url, autocommit=True) as conn:  # fails fast, unlike the pool
                if schema is not None:
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self.pool = ConnectionPool(
                url, min_size=1, max_size=max(1, size), kwargs=kwargs, open=True
            )
            self.pool.wait(timeout=30)
            self.migrate()
            self._floor = self._seq_floor()
        except (psycopg.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    # -- lifecycle -----------------------------------------------------------------------------
    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection inside one transaction (committed on success); inside another
        ``connection()`` of the same thread, that one (so callbacks such as ``add``'s
        ``on_added`` write in the caller's transaction)."""
        current: Conn | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self.pool.connection() as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @contextmanager
    def bulk_load(self, mib: int = 64, fts_hash_mib: int = 32) -> Iterator[None]:
        """No-op: PostgreSQL sizes its own cache (``shared_buffers``)."""
        yield

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> PgStore:
        return self

    def schema_version(self) -> int:
        with self.connection() as conn:
            return pgschema.current_version(conn)

    def migrate(self) -> None:
        with self.connection() as conn:
            found = pgschema.migrate(conn)
        if found > pgschema.SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} has schema version {found}, newer than this "
                f"program's {pgschema.SCHEMA_VERSION}; upgrade digestbot"
            )

    def check_writable(self) -> None:
        try:
            self.set_state("opened_at", self._now())
        except psycopg.Error as exc:
            raise StoreError(f"the database {self.path} cannot be written: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------
    @contextmanager
    def _adding(self) -> Iterator[Conn]:
        """:meth:`add`'s transaction, holding the shared side of the numbering lock
        (:meth:`after`)."""
        with self.connection() as conn:
            conn.execute(f"SELECT pg_advisory_xact_lock_shared({_NUMBERING_LOCK})")
            yield conn

    def _insert_order(self, batch: Sequence[AnalyzedArticle]) -> Iterable[int]:
        """``content_hash`` order: two processes adding batches that share texts would each wait
        for the other's uncommitted copy (a deadlock) if they inserted in their own orders
        (numbers follow that order within a batch)."""
        return sorted(range(len(batch)), key=lambda i: batch[i].content_hash)

    def _id_of_text(self, content_hash: str) -> str | None:
        found = self._one("SELECT id FROM articles WHERE content_hash = %s", [content_hash])
        return str(found) if found is not None else None

    def _count_regions(self, totals: dict[str, int]) -> None:
        if totals:
            with self.connection() as conn:
                conn.execute(
                    "INSERT INTO region_counts (code, articles) "
                    "SELECT * FROM unnest(%s::text[], %s::bigint[]) ORDER BY 1 "
                    "ON CONFLICT (code) DO UPDATE SET articles = region_counts.articles + "
                    "excluded.articles",
                    [list(totals), list(totals.values())],
                )

    def _insert(self, art: AnalyzedArticle, added_at: str, seq: int | None = None) -> int | None:
        """Insert one article (as number ``seq`` when given); ``None`` when its text is stored
        already (here or, concurrently, by another process: the unique constraint decides)."""
        with self.connection() as conn:
            return self._insert_pg(conn, art, added_at, seq)

    def _insert_pg(
        self, conn: Conn, art: AnalyzedArticle, added_at: str, seq: int | None = None
    ) -> int | None:
        if seq is None and self._floor:
            floor = self._seq_floor()
            if floor > self.max_seq():  # the newest article was removed: never reuse its number
                conn.execute(
                    "SELECT setval(pg_get_serial_sequence('articles', 'seq'), %s)", [floor]
                )
        row = conn.execute(
            "INSERT INTO articles (seq, id, content_hash, title, body, summary, keywords, regions, "
            "url, published, source, source_path, chars, added_at) "
            "SELECT coalesce(%s, nextval(pg_get_serial_sequence('articles', 'seq'))),"
            "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s WHERE NOT EXISTS "
            "(SELECT 1 FROM articles WHERE content_hash = %s) "
            # any unique key: two processes adding one text collide on id (derived from its
            # hash) as often as on content_hash, and either way the loser is a duplicate
            "ON CONFLICT DO NOTHING RETURNING seq",
            [seq, *article_values(art, added_at), art.content_hash],
        ).fetchone()
        if row is None:
            return None
        seq = int(row[0])
        conn.execute(
            "INSERT INTO article_search (seq, words, grams) VALUES (%s, %s::tsvector, %s::tsvector)",
            [
                seq,
                tsvector_literal(art.title_index, art.body_index),
                tsvector_literal(art.title_grams, art.body_grams, ascii_tokens),
            ],
        )
        if art.regions:
            conn.execute(
                "INSERT INTO article_regions (code, seq, mentions) "
                "SELECT code, %s, mentions FROM unnest(%s::text[], %s::int[]) AS r(code, mentions)",
                [seq, list(art.regions), list(art.regions.values())],
            )
        return seq

    # -- replacing and removing (an edited or deleted corpus file) ------------------------
    def articles_from_sources(self, paths: Sequence[str]) -> dict[str, Article]:
        found: dict[str, Article] = {}
        for article in self._articles("WHERE source_path = ANY(%s) ORDER BY seq", [list(paths)]):
            found[article.source_path] = article
        return found

    def _unindex_pg(self, conn: Conn, old: Article) -> None:
        """(the region rows by their keys, as in :meth:`Store._unindex`: no index starts with
        ``seq``)"""
        seq = old.seq
        conn.execute("DELETE FROM article_search WHERE seq = %s", [seq])
        codes = [
            r[0]
            for r in conn.execute(
                "DELETE FROM article_regions WHERE code = ANY(%s) AND seq = %s RETURNING code",
                [list(old.regions), seq],
            ).fetchall()
        ]
        conn.execute(
            "UPDATE region_counts SET articles = articles - 1 WHERE code = ANY(%s)", [codes]
        )
        conn.execute("DELETE FROM region_counts WHERE articles <= 0")

    def replace_article(
        self, old: Article, old_index: Sequence[str], new: AnalyzedArticle
    ) -> AddResult:
        """As :meth:`Store.replace_article` (``old_index`` is not needed: the search columns
        are deleted with the row)."""
        with self.connection() as conn:
            row = conn.execute(
                "SELECT id FROM articles WHERE content_hash = %s AND seq != %s",
                [new.content_hash, old.seq],
            ).fetchone()
            if row is not None:
                return AddResult(new.id, new.title, "duplicate", new.source_path, row[0])
            self._unindex_pg(conn, old)
            conn.execute("DELETE FROM articles WHERE seq = %s", [old.seq])
            kept = AnalyzedArticle(**{**new.__dict__, "id": old.id})
            self._insert_pg(conn, kept, old.added_at, seq=old.seq)
            if new.regions:
                conn.execute(
                    "INSERT INTO region_counts (code, articles) SELECT unnest(%s::text[]), 1 "
                    "ON CONFLICT (code) DO UPDATE SET articles = region_counts.articles + 1",
                    [list(new.regions)],
                )
        return AddResult(old.id, new.title, "replaced", new.source_path)

    def remove_article(self, old: Article, old_index: Sequence[str]) -> int:
        with self.connection() as conn:
            self._unindex_pg(conn, old)
            conn.execute("DELETE FROM articles WHERE seq = %s", [old.seq])
            if old.seq > self._seq_floor():
                self.set_state("seq_floor", str(old.seq))
                self._floor = old.seq
            return conn.execute(
                "UPDATE deliveries SET status = 'skipped', error = 'article removed' "
                "WHERE seq = %s AND status IN ('pending', 'dead')",
                [old.seq],
            ).rowcount

    def _seq_floor(self) -> int:
        return int(self.get_state("seq_floor") or 0)

    # -- reading ------------------------------------------------------------------------------
    def get_many(self, seqs: Sequence[int]) -> dict[int, Article]:
        if not seqs:
            return {}
        found = self._articles("WHERE seq = ANY(%s)", [list(seqs)])
        return {a.seq: self._with_story(a) for a in found}

    def count(self) -> int:
        return int(self._one("SELECT count(*) FROM articles"))

    def latest(self, limit: int = 5, offset: int = 0) -> list[Article]:
        """Newest first by publication day (the day stored when unknown), then by arrival."""
        return self._articles(
            f"ORDER BY {pgschema.LISTED_DAY} DESC, seq DESC LIMIT %s OFFSET %s",
            [bounded(limit), bounded(offset)],
        )

    def after(self, seq: int, limit: int = 100) -> list[Article]:
        """The articles numbered above ``seq``, oldest first, once no article numbered below
        the newest of them can still appear: numbers are taken when a transaction inserts,
        and transactions commit in any order, so a planner reading ``seq > cursor`` while
        another process has number 7 taken but not committed would plan 8 and move its cursor
        past 7 for good. The exclusive side of the numbering lock waits for every ``add`` in
        progress (they hold the shared side), then the rows are read."""
        with self.connection() as conn:
            conn.execute(f"SELECT pg_advisory_xact_lock({_NUMBERING_LOCK})")
            rows = conn.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE seq > %s ORDER BY seq LIMIT %s",
                [seq, limit],
            )
            return [_article(r) for r in rows.fetchall()]

    def max_seq(self) -> int:
        return int(self._one("SELECT coalesce(max(seq), 0) FROM articles"))

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[object] = ()) -> Any:
        with self.connection() as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def _fts_ranked(self, query: FtsQuery, limit: int, offset: int) -> list[tuple[int, float]]:
        """``ts_rank`` (title weighted 10:1, normalised by the document length) stands for bm25;
        ties go to the older article, as on SQLite."""
        built = _fts_where(query)
        if built is None:
            return []
        where, params, column = built
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT seq, ts_rank('{RANK_WEIGHTS}', {column}, %s::tsquery, 1) AS score "
                f"FROM article_search WHERE {where} ORDER BY score DESC, seq LIMIT %s OFFSET %s",
                [params[0], *params, limit, offset],
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def _fts_newest(self, query: FtsQuery, limit: int) -> list[int]:
        """The title filter is weight-``A`` (title) lexemes (:mod:`digests.pgtext` reads FTS5's
        ``{title} :`` column filter)."""
        built = _fts_where(query)
        if built is None:
            return []
        where, params, _ = built
        newest = f"SELECT seq FROM article_search WHERE {where} ORDER BY seq DESC LIMIT %s"
        limit = bounded(limit)
        if query.min_seq > 0:  # the matches since then: from their GIN candidates
            sure, unsure = self._candidates(query, [(query.min_seq, _MAX_SEQ)])
            if unsure:
                newest = newest.replace(" WHERE ", " WHERE seq = ANY(%s) AND ", 1)
                sure += [int(r[0]) for r in self._select(newest, [unsure, *params, limit])]
            return sorted(sure, reverse=True)[:limit]
        return [int(r[0]) for r in self._select(newest, [*params, limit])]

    def _fts_count(self, query: FtsQuery, cap: int | None) -> int:
        last = query.max_seq if query.max_seq is not None else _MAX_SEQ
        return self._count_in(query.table, query.match, query.filters, [(query.min_seq, last)], cap)

    def _fts_count_ranges(
        self,
        table: str,
        match: str,
        filters: Sequence[tuple[str, str, bool]],
        ranges: Sequence[tuple[int, int]],
    ) -> int:
        return self._count_in(table, match, filters, ranges, None)

    def _count_in(
        self,
        table: str,
        match: str,
        filters: Sequence[tuple[str, str, bool]],
        ranges: Sequence[tuple[int, int]],
        cap: int | None,
    ) -> int:
        """Matches within ``ranges``: the GIN candidates (:meth:`_candidates`), checked against
        the query by number unless they are its matches."""
        query = fts_query(table, match, 0, None, filters)
        built = _fts_where(query)
        if built is None:
            return 0
        where, params, _ = built
        sure, unsure = self._candidates(query, ranges)
        if unsure and (cap is None or len(sure) < cap):
            limit, capped = (" LIMIT %s", [cap - len(sure)]) if cap is not None else ("", [])
            sql = f"SELECT 1 FROM article_search WHERE seq = ANY(%s) AND {where}{limit}"
            checked = self._one(f"SELECT count(*) FROM ({sql}) AS m", [unsure, *params, *capped])
            sure += [0] * int(checked)
        return len(sure) if cap is None else min(len(sure), cap)

    def _candidates(
        self, query: FtsQuery, ranges: Sequence[tuple[int, int]]
    ) -> tuple[list[int], list[int]]:
        """(sure, unsure): the articles within ``ranges`` (reposts left out) that match
        ``query`` by what its GIN index alone tells (:func:`fts5_to_bounds`), and those that may
        match it, to be checked against it by number.

        Left to itself, the planner reads a range of articles by number and checks every row's
        large (TOASTed) ``tsvector``, whose reading it does not price, or checks every GIN
        candidate before the range; here no ``tsvector`` is read at all."""
        column, tokens = FTS_COLUMNS[query.table]
        upper, lower = fts5_to_bounds(query.match, tokens)
        if upper is None:
            return [], []
        if query.filters:
            lower = None  # another column's expression to check
        spans = " OR ".join(["(seq + 0 BETWEEN %s AND %s)"] * len(ranges))
        bounds = [bound for span in ranges for bound in span]
        sql = (
            f"SELECT seq FROM article_search WHERE {column} @@ %s::tsquery AND ({spans})"
            f" {_NOT_REPOSTS}"
        )
        with self.connection() as conn:
            conn.execute(_GIN_ONLY)  # an error rolls the transaction back, and these with it
            found = [
                [int(r[0]) for r in conn.execute(sql, [bound, *bounds]).fetchall()]
                if bound is not None
                else []
                for bound in (upper, lower if lower != upper else None)
            ]
            conn.execute(_PLANNER_DEFAULTS)
        if lower == upper:
            return found[0], []
        sure = set(found[1])
        return found[1], [seq for seq in found[0] if seq not in sure]

    def vocabulary(self, min_docs: int = 2) -> dict[str, int]:
        with self.connection() as conn:
            rows = conn.execute(_VOCABULARY, [min_docs]).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    @contextmanager
    def stored_vocabulary(self) -> Iterator[tuple[int, Mapping[str, int]] | None]:
        """As :meth:`Store.stored_vocabulary`: one statement reads the count and the terms (one
        snapshot), in byte order (``COLLATE "C"``), so the IDF table is built without sorting."""
        try:
            with self.connection() as conn:
                rows = conn.execute(
                    "SELECT s.value, d.term, d.df FROM state s LEFT JOIN learnt_df d ON true"
                    ' WHERE s.key = %s ORDER BY d.term COLLATE "C"',
                    [LEARNT_DF_ARTICLES],
                ).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the saved vocabulary: {exc}") from exc
        if not rows:
            yield None
            return
        articles = int(rows[0][0])
        vocabulary = {r[1]: int(r[2]) for r in rows if r[1] is not None}
        del rows
        yield articles, vocabulary

    def save_vocabulary(self, articles: int, min_docs: int = 2) -> None:
        """As :meth:`Store.save_vocabulary`, in one transaction. The table lock (which readers
        do not wait for) orders two replicas saving at once: without it the second one's
        ``DELETE`` would miss the rows the first one committed meanwhile, and its ``INSERT``
        would then violate the primary key."""
        try:
            with self.connection() as conn:
                conn.execute("LOCK TABLE learnt_df IN EXCLUSIVE MODE")
                conn.execute("DELETE FROM learnt_df")
                conn.execute(f"INSERT INTO learnt_df (term, df) {_VOCABULARY}", [min_docs])
                self.set_state(LEARNT_DF_ARTICLES, str(int(articles)))  # in this transaction
        except psycopg.Error as exc:
            raise StoreError(f"cannot save the vocabulary: {exc}") from exc

    def region_articles(self, code: str, limit: int, offset: int) -> list[tuple[int, int]]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT seq, mentions FROM article_regions WHERE code = %s "
                "AND seq NOT IN (SELECT seq FROM article_stories WHERE story != seq) "
                "ORDER BY mentions DESC, seq DESC LIMIT %s OFFSET %s",
                [code, bounded(limit), bounded(offset)],
            ).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    def region_total(self, code: str) -> int:
        with self.connection() as conn:
            row = conn.execute(
                "SELECT (SELECT articles FROM region_counts WHERE code = %s) - "
                "(SELECT count(*) FROM article_stories s WHERE s.story != s.seq AND EXISTS "
                "(SELECT 1 FROM article_regions r WHERE r.code = %s AND r.seq = s.seq))",
                [code, code],
            ).fetchone()
        return max(0, int(row[0] or 0)) if row else 0

    def region_counts(self, codes: Iterable[str] | None = None) -> dict[str, int]:
        with self.connection() as conn:
            if codes is None:
                rows = conn.execute("SELECT code, articles FROM region_counts").fetchall()
            else:
                rows = conn.execute(
                    "SELECT code, articles FROM region_counts WHERE code = ANY(%s)", [list(codes)]
                ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- chats and subscriptions ------------------------------------------------------------
    _MARK = "%s"

    def _write(self, sql: str, params: Sequence[object]) -> int:
        with self.connection() as conn:
            return conn.execute(sql, params).rowcount

    def _upsert_chat(self, values: Sequence[object]) -> None:
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO chats (chat_id, type, title, username, created_at, updated_at) "
                "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (chat_id) DO UPDATE SET "
                "type = excluded.type, title = coalesce(excluded.title, chats.title), "
                "username = coalesce(excluded.username, chats.username), "
                "updated_at = excluded.updated_at",
                values,
            )

    def get_chat(self, chat_id: int) -> Chat | None:
        with self.connection() as conn:
            row = conn.execute(
                f"SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = %s",
                [chat_id],
            ).fetchone()
        return Chat(*row) if row else None

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        with self.connection() as conn:
            exists = conn.execute("SELECT 1 FROM chats WHERE chat_id = %s", [new_id]).fetchone()
            if exists:
                conn.execute(
                    "UPDATE subscriptions SET chat_id = %s WHERE chat_id = %s", [new_id, old_id]
                )
                conn.execute("DELETE FROM chats WHERE chat_id = %s", [old_id])
            else:
                conn.execute(
                    "UPDATE chats SET chat_id = %s, type = 'supergroup' WHERE chat_id = %s",
                    [new_id, old_id],
                )
            conn.execute(
                "UPDATE deliveries d SET chat_id = %s WHERE chat_id = %s AND NOT EXISTS "
                "(SELECT 1 FROM deliveries e WHERE e.chat_id = %s AND e.seq = d.seq)",
                [new_id, old_id, new_id],
            )
            conn.execute("DELETE FROM deliveries WHERE chat_id = %s", [old_id])


    def _insert_subscription(self, values: Sequence[object]) -> Subscription:
        with self.connection() as conn:
            row = conn.execute(
                "INSERT INTO subscriptions (chat_id, keywords, regions, mode, created_by, "
                "created_at, thread_id, since_seq) VALUES (%s,%s,%s,%s,%s,%s,%s,"
                "(SELECT coalesce(max(seq), 0) FROM articles)) "
                f"RETURNING {self._SUB_COLUMNS}",
                values,
            ).fetchone()
        assert row is not None
        return _subscription(row)

    def active_subscriptions(self) -> list[Subscription]:
        return self._subscriptions(
            "WHERE paused IS NULL AND chat_id IN (SELECT chat_id FROM chats WHERE "
            "status = 'active') ORDER BY id",
            [],
        )

    def remove_subscriptions(self, chat_id: int, sub_ids: list[int] | None = None) -> int:
        with self.connection() as conn:
            if sub_ids is None:
                cursor = conn.execute("DELETE FROM subscriptions WHERE chat_id = %s", [chat_id])
            else:
                cursor = conn.execute(
                    "DELETE FROM subscriptions WHERE chat_id = %s AND id = ANY(%s)",
                    [chat_id, list(sub_ids)],
                )
            return cursor.rowcount

    def set_subscription_mode(self, sub_id: int, mode: object) -> None:
        with self.connection() as conn:
            conn.execute("UPDATE subscriptions SET mode = %s WHERE id = %s", [str(mode), sub_id])

    def pause_subscription(self, sub_id: int, reason: str | None) -> None:
        with self.connection() as conn:
            conn.execute("UPDATE subscriptions SET paused = %s WHERE id = %s", [reason, sub_id])

    # -- state ----------------------------------------------------------------------------------
    def get_state(self, key: str, default: str | None = None) -> str | None:
        with self.connection() as conn:
            row = conn.execute("SELECT value FROM state WHERE key = %s", [key]).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    # -- the delivery ledger ------------------------------------------------------------------
    @property
    def ledger_class(self) -> type[Ledger]:
        from .pgledger import PgLedger

        return PgLedger

    @property
    def ledger(self) -> Ledger:
        return self.ledger_class(self)

    def subscriber_counts(self) -> dict[str, int]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT c.status, count(DISTINCT c.chat_id) FROM chats c "
                "JOIN subscriptions s ON s.chat_id = c.chat_id GROUP BY c.status"
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- the update journal ---------------------------------------------------------------
    def journal_update(self, update_id: int, data: str, now: float, digest: str = "") -> bool:
        """As :meth:`Store.journal_update`, in one statement: the primary key makes an update
        (same id, same digest) seen by any number of replicas count once."""
        with self.connection() as conn:
            return (
                conn.execute(
                    "INSERT INTO update_journal (update_id, data, done, at, digest) "
                    "VALUES (%s,%s,0,%s,%s) ON CONFLICT (update_id) DO UPDATE SET "
                    "data = excluded.data, done = 0, at = excluded.at, digest = excluded.digest "
                    "WHERE update_journal.digest IS DISTINCT FROM excluded.digest",
                    [update_id, data, now, digest],
                ).rowcount
                == 1
            )

    def finish_update(self, update_id: int) -> None:
        with self.connection() as conn:
            conn.execute(
                "UPDATE update_journal SET done = 1, data = NULL WHERE update_id = %s", [update_id]
            )

    def unfinished_updates(self) -> list[tuple[int, str]]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT update_id, data FROM update_journal WHERE done = 0 ORDER BY update_id"
            ).fetchall()
        return [(int(r[0]), r[1]) for r in rows]

    def prune_updates(self, before: float) -> int:
        with self.connection() as conn:
            return conn.execute(
                "DELETE FROM update_journal WHERE done = 1 AND at < %s", [before]
            ).rowcount

    def touch_updates(self, update_ids: Sequence[int], now: float) -> None:
        if not update_ids:
            return
        with self.connection() as conn:
            conn.execute(
                "UPDATE update_journal SET at = %s WHERE done = 0 AND update_id = ANY(%s)",
                [now, list(update_ids)],
            )

    def adopt_updates(self, before: float, now: float, limit: int = 100) -> list[tuple[int, str]]:
        """As :meth:`Store.adopt_updates`; ``SKIP LOCKED``: a row another replica is adopting
        (or touching) right now is left to it."""
        with self.connection() as conn:
            rows = conn.execute(
                "UPDATE update_journal SET at = %s WHERE update_id IN (SELECT update_id FROM "
                "update_journal WHERE done = 0 AND at < %s ORDER BY update_id LIMIT %s "
                "FOR UPDATE SKIP LOCKED) RETURNING update_id, data",
                [now, before, limit],
            ).fetchall()
        return sorted((int(r[0]), r[1]) for r in rows)

    # -- sources (digests.sources) -----------------------------------------------------------
    def add_source(self, url: str, kind: str, name: str, now: float) -> Source:
        try:
            with self.connection() as conn:
                row = conn.execute(
                    "INSERT INTO sources (url, kind, name, next_due, created_at) "
                    f"VALUES (%s,%s,%s,%s,%s) RETURNING {self._SOURCE_COLUMNS}",
                    [url, kind, name, 0.0, now],
                ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise StoreError(f"{url} is a source already") from None
        assert row is not None
        return _source(row)

    def remove_source(self, source_id: int) -> bool:
        with self.connection() as conn:
            conn.execute("DELETE FROM source_items WHERE source_id = %s", [source_id])
            return conn.execute("DELETE FROM sources WHERE id = %s", [source_id]).rowcount > 0

    def known_item_keys(self, source_id: int, keys: Iterable[str]) -> set[str]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT key FROM source_items WHERE source_id = %s AND key = ANY(%s)",
                [source_id, list(keys)],
            ).fetchall()
        return {r[0] for r in rows}

    def record_items(
        self, source_id: int, rows: Iterable[tuple[str, int | None]], now: float
    ) -> None:
        items = list(rows)
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO source_items (source_id, key, seq, seen_at) "
                "SELECT %s, key, seq, %s FROM unnest(%s::text[], %s::bigint[]) AS r(key, seq) "
                "ON CONFLICT (source_id, key) DO NOTHING",
                [source_id, now, [k for k, _ in items], [q for _, q in items]],
            )

    def seq_of(self, article_id: str) -> int | None:
        found = self._one("SELECT seq FROM articles WHERE id = %s", [article_id])
        return int(found) if found is not None else None

    def mark_quiet(self, seqs: Iterable[tuple[int, str]], *, commit: bool = True) -> None:
        """As :meth:`Store.mark_quiet`; inside ``add``'s ``on_added`` it joins that
        transaction whatever ``commit`` says."""
        pairs = list(seqs)
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO article_quiet (seq, reason) SELECT * FROM "
                "unnest(%s::bigint[], %s::text[]) ON CONFLICT (seq) DO NOTHING",
                [[q for q, _ in pairs], [r for _, r in pairs]],
            )

    def quiet_seqs(self, seqs: Sequence[int]) -> set[int]:
        if not seqs:
            return set()
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT seq FROM article_quiet WHERE seq = ANY(%s)", [list(seqs)]
            ).fetchall()
        return {int(r[0]) for r in rows}

    # -- stories (digests.stories) ----------------------------------------------------------
    def story_candidates(
        self, bands: Sequence[int], since: float, limit: int = 500
    ) -> list[tuple[int, int, bytes]]:
        if not bands:
            return []
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT s.seq, s.story, s.sig FROM article_stories s WHERE s.seq IN "
                "(SELECT DISTINCT seq FROM article_bands WHERE band = ANY(%s)) AND s.added >= %s "
                "ORDER BY s.seq DESC LIMIT %s",
                [list(bands), since, limit],
            ).fetchall()
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    def _save_story(self, row: Sequence[object], bands: Sequence[int], commit: bool) -> None:
        """Inside ``add``'s ``on_added`` this joins that transaction whatever ``commit`` says."""
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO article_stories (seq, story, sig, added) VALUES (%s,%s,%s,%s) "
                "ON CONFLICT (seq) DO UPDATE SET story = excluded.story, sig = excluded.sig, "
                "added = excluded.added",
                row,
            )
            conn.execute(
                "INSERT INTO article_bands (band, seq) SELECT unnest(%s::bigint[]), %s "
                "ON CONFLICT DO NOTHING",
                [list(bands), row[0]],
            )

    def stories_of(self, seqs: Sequence[int]) -> dict[int, int]:
        if not seqs:
            return {}
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT seq, story FROM article_stories WHERE seq = ANY(%s)", [list(seqs)]
            ).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    def story_chats(self, story: int, exclude_seq: int) -> set[int]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT d.chat_id FROM deliveries d JOIN article_stories s "
                "ON s.seq = d.seq WHERE s.story = %s AND d.seq != %s",
                [story, exclude_seq],
            ).fetchall()
        return {int(r[0]) for r in rows}

    def story_messages(self, story: int, exclude_seq: int) -> list[Delivery]:
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries d JOIN article_stories s "
                "ON s.seq = d.seq WHERE s.story = %s AND d.seq != %s AND d.status = 'sent' "
                "AND d.mode = 'instant' AND d.message_id IS NOT NULL ORDER BY d.id",
                [story, exclude_seq],
            ).fetchall()
        return [Delivery(*r) for r in rows]

    def also_reported(self, seq: int) -> list[str]:
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT a.source FROM article_stories s JOIN article_stories o "
                "ON o.story = s.story JOIN articles a ON a.seq = o.seq WHERE s.seq = %s "
                "AND o.seq != %s AND a.source IS NOT NULL ORDER BY o.seq",
                [seq, seq],
            ).fetchall()
        return first_seen(rows)

    def _sizes(self) -> Sequence[int]:
        with self.connection() as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM region_counts), "
                "(SELECT count(*) FROM article_regions), pg_database_size(current_database())"
            ).fetchone()
        assert row is not None
        return tuple(row)

    def table_counts(self) -> dict[str, int]:
        """Rows per table (``digestbot migrate-db`` checks the copy with them)."""
        return table_counts(self)


COPIED_TABLES = (
    "articles",
    "article_regions",
    "region_counts",
    "chats",
    "subscriptions",
    "deliveries",
    "state",
    "corpus_files",
    "update_journal",
    "sources",
    "source_items",
    "article_quiet",
    "article_stories",
    "article_bands",
    "learnt_df",  # with state's learnt_df_articles: the copy keeps the learnt IDF
)


def table_counts(store: Store) -> dict[str, int]:
    """Rows per table of :data:`COPIED_TABLES`, on either backend."""
    counts: dict[str, int] = {}
    for table in COPIED_TABLES:
        if isinstance(store, PgStore):
            counts[table] = int(store._one(f"SELECT count(*) FROM {table}"))
        else:
            counts[table] = int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return counts


def _fts_where(query: FtsQuery) -> tuple[str, list[object], str] | None:
    """(WHERE clause, parameters, ranked column) of a full-text query; ``None`` when it can
    match nothing."""
    column, tokens = FTS_COLUMNS[query.table]
    tsquery = fts5_to_tsquery(query.match, tokens)
    if tsquery is None:
        return None
    where = f"{column} @@ %s::tsquery AND seq >= %s {_NOT_REPOSTS}"
    params: list[object] = [tsquery, query.min_seq]
    if query.max_seq is not None:
        where += " AND seq <= %s"
        params.append(query.max_seq)
    for other, expr, include in query.filters:
        other_column, other_tokens = FTS_COLUMNS[other]
        other_query = fts5_to_tsquery(expr, other_tokens)
        if other_query is None:
            if include:
                return None
            continue
        where += f" AND {'' if include else 'NOT '}({other_column} @@ %s::tsquery)"
        params.append(other_query)
    return where, params, column
