"""The SQLite store: schema, migrations and the SQL of articles, chats and subscriptions (the
delivery ledger's statements are in ``digests.ledger``, over the same connection).

One file (``DIGESTBOT_DB``) in WAL mode, on the standard library's ``sqlite3``; the migrations
use sqlite-utils, which is imported only when there is one to apply (it imports numpy, if installed,
and neither is needed to answer a query). The schema version lives in
``PRAGMA user_version``; :data:`MIGRATIONS` is a list of small functions, each moving the schema one
version forward inside a transaction, so an old database is upgraded in place on open and a newer
one is refused (``StoreError``).

Tables (version 1)
    ``articles``         one row per article; ``seq`` (autoincrement) is the order of arrival and the
                         rowid of the full-text index;
    ``articles_fts``     FTS5, contentless, over jieba-segmented text: ``title``, ``body`` and the
                         dictionary sub-words of both (``title_sub``, ``body_sub``); bm25-ranked;
    ``articles_vocab``   fts5vocab over it: document frequencies for IDF learnt from the corpus;
    ``article_regions``  (code, seq, mentions) — every place an article mentions, ancestors included;
    ``region_counts``    articles per region code, kept up to date on insert.

Tables (version 2)
    ``chats``            every chat the bot knows: type, language, digest mode, active/paused;
    ``subscriptions``    a chat's filters (keywords, region codes), delivery mode and the article
                         ``seq`` it starts after (a new subscription gets only newer articles).

Tables (version 3)
    ``deliveries``       the outbox/ledger: one row per (chat, article), written before sending
                         (``pending`` → ``sending`` → ``sent`` with Telegram's message_id; or
                         ``dead`` after repeated failures, ``skipped`` when the chat is gone);
    ``state``            small key/value facts (the last article planned, the last corpus poll);
    ``corpus_files``     size and mtime of every corpus file seen, so a file is ingested once it
                         has stopped changing, and again only when it changes.

Version 4
    drops the index of ``article_regions`` by ``seq``: no query used it, and every region tag
    paid for it on insert (~15 rows per article).

Version 5
    ``articles_grams``   FTS5, contentless, over the CJK character pairs of the simplified title and
                         body (:func:`digests.text.cjk_grams`): a CJK string of two or more
                         characters is the phrase of its pairs, so search finds every string that
                         appears in an article, however it was segmented; filled for the stored
                         articles by the migration. ``articles_fts``'s ``title_sub`` and
                         ``body_sub`` (jieba's search-mode sub-words) are no longer written: the
                         pairs find everything they found.

Version 6 (delivery)
    ``deliveries.unsure`` (sends whose fate is unknown, see ``digests.ledger``) and
    ``deliveries.thread_id``; ``subscriptions.thread_id`` (a forum topic) and
    ``subscriptions.paused`` (why a subscription stopped); ``chats.quiet`` (quiet hours).
    The SQL of the ``deliveries`` table lives in ``digests.ledger``.

Version 7 (resilience)
    ``update_journal``   every Telegram update fetched, written before Telegram is told it was
                         received (the next getUpdates offset); ``done`` once handled. Updates not
                         done at a crash are handled after the restart; done ones are kept for two
                         days so that an update Telegram sends again is recognised.

Version 8 (resilience)
    indexes ``articles.source_path``: an edited corpus file replaces the article it holds.

Version 9 (sources, :mod:`digests.sources`)
    ``sources``          feeds and pages polled into the corpus: address, kind, name, conditional-GET
                         validators, schedule (interval, next_due), health (failures, last_error,
                         last_success), item count, status (active / paused / disabled);
    ``source_items``     the identity keys of every item seen per source (guid, link, hash), with
                         the article it became, so an item is taken once;
    ``article_quiet``    articles stored but not pushed (a new source's baseline, old items);
    ``article_stories``  the near-duplicate story of each article (``story`` = the first
                         article's seq) and its MinHash signature (:mod:`digests.stories`);
    ``article_bands``    the signature's LSH band keys: a new article's candidates share one.

Version 10 (front)
    ``articles.published`` rewritten as ISO dates where they parse (:mod:`digests.dates`) and an
    index on the day an article is listed under in /latest (published, else stored).

Version 11 (resilience)
    ``update_journal.digest``: a hash of each update's content, so an update Telegram sends again
    is told apart from a new update that happens to reuse an id.

Version 12 (election, :mod:`digests.leases`)
    ``leases``           named roles (the sender, the poll jobs) held by one process at a time:
                         holder, epoch (a fencing token) and expiry.

Version 13 (the learnt IDF, :func:`digests.ingest.corpus_idf`)
    ``learnt_df``        (term, df): the document frequencies of ``articles_vocab`` (terms in two
                         or more articles) as last saved, so that a new process reads them instead
                         of scanning the word index; the article count they were taken at is
                         ``state``'s ``learnt_df_articles``, written in the same transaction.

Version 14 (speed)
    ``articles_fts`` made again with FTS5's ``ascii`` tokenizer when no article is stored yet: the
    words reach it already cut and folded as ``unicode61`` would (:mod:`digests.wordindex`), which
    a database holding articles keeps reading with its ``unicode61`` index.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import sys
import uuid
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from . import numeric
from .checkpoint import Checkpointer
from .errors import StoreError
from .ftsquery import FtsQuery, fts_query
from .models import AnalyzedArticle, Article, Chat, Delivery, Source, Subscription
from .rows import CHAT_COLUMNS, CHAT_FIELDS, article_values, check_fields, dumps, first_seen

if TYPE_CHECKING:
    from sqlite_utils import Database

    from .ledger import Ledger

Clock = Callable[[], datetime]

BM25_WEIGHTS = (10.0, 1.0, 5.0, 0.5)  # articles_fts: title, body, title_sub, body_sub
GRAM_BM25_WEIGHTS = (10.0, 1.0)  # articles_grams: title, body
#: The two full-text tables and their bm25 column weights.
FTS_TABLES = {"articles_fts": BM25_WEIGHTS, "articles_grams": GRAM_BM25_WEIGHTS}
ARTICLE_COLUMNS = (
    "seq, id, content_hash, title, body, summary, keywords, regions, url, published, source, "
    "source_path, added_at"
)

# search shows one result per near-duplicate story (digests.stories): its first article
_NOT_REPOSTS = "AND rowid NOT IN (SELECT seq FROM article_stories WHERE story != seq)"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _m001_articles(db: Database) -> None:
    db.table("articles").create(
        {
            "seq": int,
            "id": str,
            "content_hash": str,
            "title": str,
            "body": str,
            "summary": str,
            "keywords": str,
            "regions": str,
            "url": str,
            "published": str,
            "source": str,
            "source_path": str,
            "chars": int,
            "added_at": str,
        },
        pk="seq",
        not_null={"id", "content_hash", "title", "body", "added_at"},
    )
    db.table("articles").create_index(["id"], unique=True)
    db.table("articles").create_index(["content_hash"], unique=True)
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5("
        "title, body, title_sub, body_sub, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("CREATE VIRTUAL TABLE articles_vocab USING fts5vocab(articles_fts, 'row')")
    db.execute(
        "CREATE TABLE article_regions (code TEXT NOT NULL, seq INTEGER NOT NULL, "
        "mentions INTEGER NOT NULL, PRIMARY KEY (code, seq)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE INDEX article_regions_rank ON article_regions (code, mentions DESC, seq DESC)"
    )
    db.execute("CREATE INDEX article_regions_seq ON article_regions (seq)")
    db.table("region_counts").create({"code": str, "articles": int}, pk="code")


def _m002_chats_and_subscriptions(db: Database) -> None:
    db.table("chats").create(
        {
            "chat_id": int,
            "type": str,
            "title": str,
            "username": str,
            "language": str,
            "mode": str,
            "timezone": str,
            "status": str,
            "status_reason": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="chat_id",
        not_null={"type", "status", "mode"},
        defaults={"status": "active", "mode": "instant", "timezone": "Asia/Shanghai"},
    )
    db.table("chats").create_index(["username"])
    db.execute(
        "CREATE TABLE subscriptions ("
        " id INTEGER PRIMARY KEY,"
        " chat_id INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,"
        " keywords TEXT NOT NULL DEFAULT '[]',"
        " regions TEXT NOT NULL DEFAULT '[]',"
        " mode TEXT NOT NULL DEFAULT 'instant',"
        " since_seq INTEGER NOT NULL DEFAULT 0,"
        " created_by INTEGER,"
        " created_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX subscriptions_chat ON subscriptions (chat_id)")


def _m003_delivery_ledger(db: Database) -> None:
    db.execute(
        "CREATE TABLE deliveries ("
        " id INTEGER PRIMARY KEY,"
        " chat_id INTEGER NOT NULL,"
        " seq INTEGER NOT NULL,"
        " mode TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " due_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " message_id INTEGER,"
        " error TEXT,"
        " created_at REAL NOT NULL,"
        " sent_at REAL,"
        " UNIQUE (chat_id, seq))"
    )
    db.execute("CREATE INDEX deliveries_due ON deliveries (status, due_at)")
    db.table("state").create({"key": str, "value": str}, pk="key")
    db.table("corpus_files").create(
        {"path": str, "size": int, "mtime_ns": int, "status": str, "detail": str, "seen_at": float},
        pk="path",
    )


def _m004_drop_unused_region_index(db: Database) -> None:
    db.execute("DROP INDEX IF EXISTS article_regions_seq")


def _m005_cjk_grams(db: Database) -> None:
    from .text import cjk_grams, to_simplified

    db.execute(
        "CREATE VIRTUAL TABLE articles_grams USING fts5("
        "title, body, content='', tokenize='ascii')"  # tokens: pairs of CJK characters
    )
    n = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    if not n:
        return
    # once per database (about a minute or two per 100,000 articles), under the bulk page cache
    logging.getLogger(__name__).warning("indexing the character pairs of %d stored articles", n)
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-1024 * BULK_CACHE_MIB}")
    rows = db.conn.execute("SELECT seq, title, body FROM articles ORDER BY seq")
    db.conn.executemany(
        "INSERT INTO articles_grams (rowid, title, body) VALUES (?,?,?)",
        (
            (seq, cjk_grams(to_simplified(title)), cjk_grams(to_simplified(body)))
            for seq, title, body in rows
        ),
    )
    db.execute(f"PRAGMA cache_size = {int(previous)}")


def _m006_delivery_topics_quiet_unsure(db: Database) -> None:
    for table, column, kind in (
        ("deliveries", "unsure", "INTEGER NOT NULL DEFAULT 0"),
        ("deliveries", "thread_id", "INTEGER"),
        ("subscriptions", "thread_id", "INTEGER"),
        ("subscriptions", "paused", "TEXT"),
        ("chats", "quiet", "TEXT"),
    ):
        if column not in db[table].columns_dict:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _m007_update_journal(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS update_journal ("
        " update_id INTEGER PRIMARY KEY,"
        " data TEXT,"
        " done INTEGER NOT NULL DEFAULT 0,"
        " at REAL NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS update_journal_open ON update_journal (done, update_id)")


def _m008_article_source_index(db: Database) -> None:
    db.execute("CREATE INDEX IF NOT EXISTS articles_source ON articles (source_path)")


def _m009_sources(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS sources ("
        " id INTEGER PRIMARY KEY,"
        " url TEXT NOT NULL UNIQUE,"
        " kind TEXT NOT NULL,"
        " name TEXT NOT NULL,"
        " etag TEXT, last_modified TEXT,"
        " interval REAL NOT NULL DEFAULT 1800,"
        " next_due REAL NOT NULL DEFAULT 0,"
        " failures INTEGER NOT NULL DEFAULT 0,"
        " failing_since REAL,"
        " last_error TEXT,"
        " last_success REAL,"
        " last_checked REAL,"
        " items INTEGER NOT NULL DEFAULT 0,"
        " status TEXT NOT NULL DEFAULT 'active',"
        " baseline_done INTEGER NOT NULL DEFAULT 0,"
        " created_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS source_items ("
        " source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " seq INTEGER,"
        " seen_at REAL NOT NULL,"
        " PRIMARY KEY (source_id, key)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS article_quiet (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS article_stories (seq INTEGER PRIMARY KEY, story INTEGER NOT NULL, "
        "sig BLOB, added REAL NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS article_stories_story ON article_stories (story)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS article_bands (band INTEGER NOT NULL, seq INTEGER NOT NULL, "
        "PRIMARY KEY (band, seq)) WITHOUT ROWID"
    )


# The day an article is listed under in /latest: its publication day (ISO, see digests.dates),
# never later than the day it was stored, else the day it was stored. Indexed as written.
LISTED_DAY = (
    "COALESCE(MIN(CASE WHEN published GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
    "THEN substr(published, 1, 10) END, substr(added_at, 1, 10)), substr(added_at, 1, 10))"
)


def _m010_latest_by_published_day(db: Database) -> None:
    from .dates import iso_published

    rows = db.execute("SELECT seq, published FROM articles WHERE published IS NOT NULL").fetchall()
    for seq, published in rows:
        iso = iso_published(published)
        if iso != published:
            db.execute("UPDATE articles SET published = ? WHERE seq = ?", [iso, seq])
    db.execute(
        f"CREATE INDEX IF NOT EXISTS articles_by_listed_day ON articles({LISTED_DAY} DESC, seq DESC)"
    )


def _m011_update_digest(db: Database) -> None:
    if "digest" not in db["update_journal"].columns_dict:
        db.execute("ALTER TABLE update_journal ADD COLUMN digest TEXT")


def _m012_leases(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
        " epoch INTEGER NOT NULL, expires_at REAL NOT NULL)"
    )


def _m013_learnt_df(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS learnt_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL)"
        " WITHOUT ROWID"
    )


def _m014_ascii_word_index(db: Database) -> None:
    """The word index of a database holding no article yet is made again with FTS5's ``ascii``
    tokenizer: the engine gives it its words already cut and folded (:mod:`digests.wordindex`).
    One holding articles keeps its ``unicode61`` index, which reads those forms the same way
    (rebuilding it would mean analysing every article again)."""
    if db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None:
        return
    db.execute("DROP TABLE articles_vocab")
    db.execute("DROP TABLE articles_fts")
    db.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5("
        "title, body, title_sub, body_sub, content='', tokenize='ascii')"
    )
    db.execute("CREATE VIRTUAL TABLE articles_vocab USING fts5vocab(articles_fts, 'row')")


MIGRATIONS: list[Callable[[Database], None]] = [
    _m001_articles,
    _m002_chats_and_subscriptions,
    _m003_delivery_ledger,
    _m004_drop_unused_region_index,
    _m005_cjk_grams,
    _m006_delivery_topics_quiet_unsure,
    _m007_update_journal,
    _m008_article_source_index,
    _m009_sources,
    _m010_latest_by_published_day,
    _m011_update_digest,
    _m012_leases,
    _m013_learnt_df,
    _m014_ascii_word_index,
]
SCHEMA_VERSION = len(MIGRATIONS)
BULK_CACHE_MIB = 64  # page cache while ingesting (the default is 2 MB)
BULK_FTS_HASH_MIB = 32  # FTS5 pending-entries buffer while ingesting (holds a bulk batch's)
FTS_HASH_DEFAULT = 2**20  # FTS5's own default hashsize
VOCABULARY_CACHE_KIB = 128  # page cache for saving and reading learnt_df: both stream in key order
LEARNT_DF_ARTICLES = "learnt_df_articles"  # state key: the article count of ``learnt_df``
MAX_OFFSET = 10_000_000  # offsets and limits beyond this (up to any size typed) are cut to it


def bounded(n: int) -> int:
    """An offset or limit SQLite accepts (its integers end at 2**63 - 1)."""
    return min(max(int(n), 0), MAX_OFFSET)


def seq_of(article_id: str) -> int | None:
    """The arrival number an all-digits id stands for (ASCII digits only: ``²`` or ``①`` are
    digits to Python but no number), or ``None``."""
    if article_id.isascii() and article_id.isdigit() and len(article_id) <= 18:
        return int(article_id)
    return None


@dataclass
class AddResult:
    """What happened to one article handed to :meth:`Store.add`."""

    id: str
    title: str
    status: str  # "added" | "duplicate" | "replaced"
    source_path: str = ""
    duplicate_of: str | None = None


class StoreStats(TypedDict):
    """What ``Store.stats`` reports (``digestbot stats --json``)."""

    articles: int
    regions_tagged: int
    region_tags: int
    db_bytes: int
    db_path: str
    schema_version: int


class Vocabulary(Mapping[str, int]):
    """The document frequencies of the word index (``articles_vocab``), terms in at least
    ``min_docs`` articles, read as they are asked for: ``items()`` streams them in the index's
    order (by UTF-8 bytes), so the learnt IDF table (:meth:`digests.keywords.Idf.
    from_document_frequencies`) is built without a dict of the whole vocabulary (tens of MB at
    a million articles)."""

    def __init__(
        self, conn: sqlite3.Connection, min_docs: int, table: str = "articles_vocab",
        column: str = "doc",
    ) -> None:  # fmt: skip
        self.conn = conn
        self.min_docs = min_docs
        self.table = table  # or ``learnt_df`` (column ``df``): the frequencies as last saved
        self.column = column

    def __getitem__(self, term: str) -> int:
        row = self.conn.execute(
            f"SELECT {self.column} FROM {self.table} WHERE term = ? AND {self.column} >= ?",
            [term, self.min_docs],
        ).fetchone()
        if row is None:
            raise KeyError(term)
        return int(row[0])

    def __iter__(self) -> Iterator[str]:
        for term, _ in self.items():
            yield term

    def __len__(self) -> int:
        sql = f"SELECT count(*) FROM {self.table} WHERE {self.column} >= ?"
        return int(self.conn.execute(sql, [self.min_docs]).fetchone()[0])

    def items(self) -> ItemsView[str, int]:
        return _VocabularyItems(self)


class _VocabularyItems(ItemsView[str, int]):
    _mapping: Vocabulary

    def __iter__(self) -> Iterator[tuple[str, int]]:
        vocab = self._mapping
        sql = f"SELECT term, {vocab.column} FROM {vocab.table} WHERE {vocab.column} >= ?"
        yield from vocab.conn.execute(sql, [vocab.min_docs])


@contextmanager
def _without_numpy() -> Iterator[None]:
    """In a lean process (:mod:`digests.numeric`), imports inside do not load numpy: sqlite-utils
    imports it when installed, only to know numpy's scalar types as column types, which the
    migrations never use."""
    if not numeric.is_lean() or "numpy" in sys.modules:
        yield
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # "import numpy" raises ImportError
    try:
        yield
    finally:
        del sys.modules["numpy"]


def _create_database(file: Path, clock: Clock) -> None:
    """Make a new database at ``file`` so that no other process ever sees it half made: built
    (schema, WAL mode) under a name of its own beside it, then linked into place, which fails
    if another process got there first (then theirs is used). Two ``digestbot ingest`` runs
    started together on a new file would otherwise race: the second would find the first's
    still-empty file, which is refused as a damaged database."""
    spare = file.with_name(f".{file.name}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        Store(spare, clock=clock, _new=True).close()
        try:
            os.link(spare, file)
        except FileExistsError:
            pass  # another process made it first: that one is the database
        except OSError:  # a file system without hard links: no protection, as before
            if not file.exists():
                os.replace(spare, file)
    finally:
        for leftover in (
            spare,
            spare.with_name(spare.name + "-wal"),
            spare.with_name(spare.name + "-shm"),
        ):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


class Store:
    """The article store. Construct with a path (``:memory:`` works for tests).

    Where the two backends' logic is the same (the loop of :meth:`add`, the full-text methods,
    the checks and values of updates), the public method is written here once and calls a step
    holding SQLite's SQL (``_insert``, ``_fts_ranked``, ``_select``, ``_write``…), which
    :class:`digests.pgstore.PgStore` overrides with PostgreSQL's."""

    #: the bulk load's checkpoint thread while one runs (:meth:`bulk_load`)
    _checkpointer: Checkpointer | None = None

    def __init__(self, path: str | Path, *, clock: Clock = utcnow, _new: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            file = Path(self.path)
            if file.is_file() and file.stat().st_size == 0:  # SQLite would take it for a new one
                raise StoreError(
                    f"the database {self.path} is an empty (0-byte) file, not a digestbot "
                    "database: restore it from a backup, or delete it to start a new one"
                )
            file.parent.mkdir(parents=True, exist_ok=True)
            if not file.exists() and not _new:
                _create_database(file, clock)
        self.clock = clock
        self._floor = 0  # the highest number of a removed article (never given again)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._db: Database | None = None
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils sets it
            if self.path != ":memory:":
                mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.migrate()
            self._floor = self._seq_floor()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    @property
    def db(self) -> Database:
        """The connection wrapped by sqlite-utils (made, and sqlite-utils imported, on first use:
        the migrations use it, the queries do not)."""
        if self._db is None:
            with _without_numpy():
                from sqlite_utils import Database

            self._db = Database(self._conn)
        return self._db

    @contextmanager
    def bulk_load(
        self, mib: int = BULK_CACHE_MIB, fts_hash_mib: int = BULK_FTS_HASH_MIB
    ) -> Iterator[None]:
        """Settings for a bulk insert, the previous ones restored after: a larger page cache
        (SQLite's default is small; on large corpora the full-text index merges and the region
        index inserts keep missing it), and a larger FTS5 ``hashsize``, so that a transaction's
        index entries are written as one segment at commit instead of one per megabyte: fewer
        segments, less merging (both measured in docs/benchmarks.md); and the write-ahead log
        checkpointed by a thread of its own (:mod:`digests.checkpoint`), so that this connection's
        commits do not wait for the disk.
        """
        previous = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        hash_sizes = {table: self._fts_hash_size(table) for table in FTS_TABLES}
        self.conn.execute(f"PRAGMA cache_size = {-1024 * int(mib)}")
        self._set_fts_hash_sizes(dict.fromkeys(FTS_TABLES, int(fts_hash_mib) * 2**20))
        autocheckpoint = self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        checkpointer = Checkpointer(self.path)
        if checkpointer.start():  # the log is checkpointed on its thread, not after commits here
            self.conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = checkpointer  # :meth:`add` keeps the log from growing on
        try:
            yield
        finally:
            self._checkpointer = None
            checkpointer.stop()
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
            self.conn.execute(f"PRAGMA cache_size = {int(previous)}")
            self._set_fts_hash_sizes(hash_sizes)

    def _fts_hash_size(self, table: str) -> int:
        row = self.conn.execute(f"SELECT v FROM {table}_config WHERE k = 'hashsize'").fetchone()
        return int(row[0]) if row else FTS_HASH_DEFAULT

    def _set_fts_hash_sizes(self, sizes: dict[str, int]) -> None:
        with self.conn:
            for table, size in sizes.items():
                self.conn.execute(
                    f"INSERT INTO {table} ({table}, rank) VALUES ('hashsize', ?)", [size]
                )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database {self.path} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}; upgrade digestbot"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.conn:
                MIGRATIONS[number](self.db)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    def check_writable(self) -> None:
        """Raise ``StoreError`` (one line) unless the database can be written (the bot needs it;
        read-only commands do not call this)."""
        try:
            with self.conn:
                self._set_state("opened_at", self.clock().isoformat(timespec="seconds"))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the database {self.path} cannot be written: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------
    def add(
        self,
        articles: Iterable[AnalyzedArticle],
        *,
        on_added: Callable[[int, AnalyzedArticle], None] | None = None,
    ) -> list[AddResult]:
        """Insert ``articles`` in one transaction; an article whose text is stored already is a
        duplicate (reported, not re-added). ``on_added(seq, article)`` runs inside the same
        transaction for each new article (sources mark it quiet and link its story there, so a
        planner on another connection never sees it half done); it must not commit. The results
        are in the order given (the articles are inserted in :meth:`_insert_order`)."""
        batch = list(articles)
        results: dict[int, AddResult] = {}
        now = self._now()
        region_totals: dict[str, int] = {}
        if self._checkpointer is not None:  # between two of a bulk load's transactions
            self._checkpointer.restart_log(self.conn)
        with self._adding():
            for i in self._insert_order(batch):
                art = batch[i]
                seq = self._insert(art, now)
                if seq is None:
                    results[i] = AddResult(
                        art.id,
                        art.title,
                        "duplicate",
                        art.source_path,
                        duplicate_of=self._id_of_text(art.content_hash),
                    )
                    continue
                for code in art.regions:
                    region_totals[code] = region_totals.get(code, 0) + 1
                results[i] = AddResult(art.id, art.title, "added", art.source_path)
                if on_added is not None:
                    on_added(seq, art)
            self._count_regions(region_totals)
        return [results[i] for i in range(len(batch))]

    def _adding(self) -> AbstractContextManager[object]:
        """The transaction of :meth:`add`."""
        return self.conn

    def _insert_order(self, batch: Sequence[AnalyzedArticle]) -> Iterable[int]:
        """The order :meth:`add` inserts ``batch`` in (indexes): as given."""
        return range(len(batch))

    def _id_of_text(self, content_hash: str) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM articles WHERE content_hash = ?", [content_hash]
        ).fetchone()
        return row[0] if row else None

    def _count_regions(self, totals: dict[str, int]) -> None:
        """Add ``totals`` (region code → new articles) to ``region_counts``."""
        self.conn.executemany(
            "INSERT INTO region_counts (code, articles) VALUES (?, ?) "
            "ON CONFLICT(code) DO UPDATE SET articles = articles + excluded.articles",
            list(totals.items()),
        )

    def _insert(self, art: AnalyzedArticle, added_at: str, seq: int | None = None) -> int | None:
        """Insert one article (as number ``seq`` when given); ``None`` when its text is stored
        already."""
        if seq is None and self._floor:
            floor = self._floor
            if floor > self.max_seq():  # the newest article was removed: never reuse
                seq = floor + 1  # its number (the ledger and the planning cursor know it)
        cursor = self.conn.execute(
            "INSERT INTO articles (seq, id, content_hash, title, body, summary, keywords, "
            "regions, url, published, source, source_path, chars, added_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(content_hash) DO NOTHING",
            [seq, *article_values(art, added_at)],
        )
        if cursor.rowcount == 0:
            return None
        seq = cursor.lastrowid
        self.conn.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?,?,?)",
            [seq, art.title_index, art.body_index],
        )
        self.conn.execute(
            "INSERT INTO articles_grams (rowid, title, body) VALUES (?,?,?)",
            [seq, art.title_grams, art.body_grams],
        )
        if art.regions:
            self.conn.executemany(
                "INSERT INTO article_regions (code, seq, mentions) VALUES (?,?,?)",
                [(code, seq, count) for code, count in art.regions.items()],
            )
        return seq

    # -- replacing and removing (an edited or deleted corpus file) ------------------------
    def articles_from_sources(self, paths: Sequence[str]) -> dict[str, Article]:
        """The stored article read from each of ``paths`` (the last one when several were)."""
        found: dict[str, Article] = {}
        for start in range(0, len(paths), 500):
            chunk = list(paths[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE source_path IN ({marks}) "
                "ORDER BY seq",
                chunk,
            ).fetchall()
            for row in rows:
                article = _article(row)
                found[article.source_path] = article
        return found

    def _unindex(self, old: Article, old_index: Sequence[str]) -> None:
        """Take article ``old`` out of the full-text indexes and the region tables.
        ``old_index`` is (title_index, body_index, title_grams, body_grams) as they were
        inserted (the indexes are contentless: FTS5 deletes a row by its values). Its region rows
        are found by their keys, (code, seq) for each code it was tagged with (``old.regions``,
        stored with them): no index of ``article_regions`` starts with ``seq``, and a search by
        ``seq`` alone read the whole table (~20 s at 1M articles)."""
        seq = old.seq
        title_index, body_index, title_grams, body_grams = old_index
        self.conn.execute(
            "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            [seq, title_index, body_index],
        )
        self.conn.execute(
            "INSERT INTO articles_grams (articles_grams, rowid, title, body) "
            "VALUES ('delete', ?, ?, ?)",
            [seq, title_grams, body_grams],
        )
        codes = [
            code
            for code in old.regions
            if self.conn.execute(
                "DELETE FROM article_regions WHERE code = ? AND seq = ?", [code, seq]
            ).rowcount
        ]
        self.conn.executemany(
            "UPDATE region_counts SET articles = articles - 1 WHERE code = ?", [(c,) for c in codes]
        )
        self.conn.execute("DELETE FROM region_counts WHERE articles <= 0")

    def replace_article(
        self, old: Article, old_index: Sequence[str], new: AnalyzedArticle
    ) -> AddResult:
        """Put ``new`` in the place of ``old`` (same number and id, so nothing is delivered
        again); a duplicate of another stored article is reported and changes nothing."""
        with self.conn:
            row = self.conn.execute(
                "SELECT id FROM articles WHERE content_hash = ? AND seq != ?",
                [new.content_hash, old.seq],
            ).fetchone()
            if row is not None:
                return AddResult(new.id, new.title, "duplicate", new.source_path, row[0])
            self._unindex(old, old_index)
            self.conn.execute("DELETE FROM articles WHERE seq = ?", [old.seq])
            kept = AnalyzedArticle(**{**new.__dict__, "id": old.id})
            self._insert(kept, old.added_at, seq=old.seq)
            self.conn.executemany(
                "INSERT INTO region_counts (code, articles) VALUES (?, 1) "
                "ON CONFLICT(code) DO UPDATE SET articles = articles + 1",
                [(code,) for code in new.regions],
            )
        return AddResult(old.id, new.title, "replaced", new.source_path)

    def remove_article(self, old: Article, old_index: Sequence[str]) -> int:
        """Remove ``old``; its deliveries not yet sent are skipped. Its number is never reused."""
        with self.conn:
            self._unindex(old, old_index)
            self.conn.execute("DELETE FROM articles WHERE seq = ?", [old.seq])
            if old.seq > self._seq_floor():
                self._set_state("seq_floor", str(old.seq))
                self._floor = old.seq
            return self.conn.execute(
                "UPDATE deliveries SET status = 'skipped', error = 'article removed' "
                "WHERE seq = ? AND status IN ('pending', 'dead')",
                [old.seq],
            ).rowcount

    def _seq_floor(self) -> int:
        row = self.conn.execute("SELECT value FROM state WHERE key = 'seq_floor'").fetchone()
        return int(row[0]) if row else 0

    # -- reading ------------------------------------------------------------------------------
    def _select(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """The rows of one query."""
        return self.conn.execute(sql, params).fetchall()

    def _articles(self, where: str, params: Sequence[object]) -> list[Article]:
        rows = self._select(f"SELECT {ARTICLE_COLUMNS} FROM articles {where}", params)
        return [_article(r) for r in rows]

    def get(self, article_id: str) -> Article | None:
        """The article with this id or, when there is none and the id is all digits, this
        number."""
        found = self._articles(f"WHERE id = {self._MARK}", [article_id])
        seq = seq_of(article_id) if not found else None
        if seq is not None:
            found = self._articles(f"WHERE seq = {self._MARK}", [seq])
        return self._with_story(found[0]) if found else None

    def get_many(self, seqs: Sequence[int]) -> dict[int, Article]:
        if not seqs:
            return {}
        marks = ",".join("?" * len(seqs))
        rows = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE seq IN ({marks})", list(seqs)
        ).fetchall()
        return {row[0]: self._with_story(_article(row)) for row in rows}

    def _with_story(self, article: Article) -> Article:
        article.also_reported = self.also_reported(article.seq)  # near-duplicates (sources)
        return article

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def latest(self, limit: int = 5, offset: int = 0) -> list[Article]:
        """Newest first by publication day (the day stored when unknown), then by arrival."""
        rows = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles "
            f"ORDER BY {LISTED_DAY} DESC, seq DESC LIMIT ? OFFSET ?",
            [bounded(limit), bounded(offset)],
        ).fetchall()
        return [_article(r) for r in rows]

    def after(self, seq: int, limit: int = 100) -> list[Article]:
        """Articles that arrived after ``seq``, oldest first."""
        rows = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE seq > ? ORDER BY seq LIMIT ?",
            [seq, limit],
        ).fetchall()
        return [_article(r) for r in rows]

    def max_seq(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0])

    def fts_search(
        self,
        match: str,
        limit: int,
        offset: int,
        min_seq: int = 0,
        *,
        table: str = "articles_fts",
        filters: Sequence[tuple[str, str, bool]] = (),
    ) -> list[tuple[int, float]]:
        """(seq, score) of the best matches of an FTS5 expression in ``table`` (``articles_fts``
        or ``articles_grams``) among articles with ``seq >= min_seq``, best first. ``filters``:
        (table, expression, include) — keep only the articles that match (include) or do not
        match (exclude) that expression in that table too."""
        query = fts_query(table, match, min_seq, None, filters)
        return self._fts_ranked(query, bounded(limit), bounded(offset))

    def _fts_ranked(self, query: FtsQuery, limit: int, offset: int) -> list[tuple[int, float]]:
        """:meth:`fts_search` in SQL: bm25 with the table's column weights."""
        table = query.table
        weights = ", ".join(str(w) for w in FTS_TABLES[table])
        where, params = _fts_where(query)
        rows = self.conn.execute(
            f"SELECT rowid, bm25({table}, {weights}) AS score FROM {table} "
            f"WHERE {where} ORDER BY score LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def fts_newest(
        self,
        match: str,
        limit: int,
        min_seq: int = 0,
        *,
        table: str = "articles_fts",
        filters: Sequence[tuple[str, str, bool]] = (),
        in_title: str | None = None,
    ) -> list[int]:
        """The newest ``limit`` articles with ``seq >= min_seq`` that match (as in
        :meth:`fts_search`) — and ``in_title`` in their title, when given — newest first."""
        query = fts_query(table, match, min_seq, None, filters, in_title=in_title)
        return self._fts_newest(query, limit)

    def _fts_newest(self, query: FtsQuery, limit: int) -> list[int]:
        """:meth:`fts_newest` in SQL. Without ``min_seq``, FTS5 reads its matches newest first
        and stops at ``limit``, whatever their number; with it, the matches since then are read
        oldest first (reading them newest first, FTS5 does not stop at ``min_seq``)."""
        where, params = _fts_where(query)
        sql = f"SELECT rowid FROM {query.table} WHERE {where}"
        if query.min_seq > 0:
            sql = f"WITH since AS MATERIALIZED ({sql}) SELECT rowid FROM since"
        rows = self.conn.execute(f"{sql} ORDER BY rowid DESC LIMIT ?", [*params, limit]).fetchall()
        return [r[0] for r in rows]

    def fts_count(
        self,
        match: str,
        min_seq: int = 0,
        max_seq: int | None = None,
        *,
        table: str = "articles_fts",
        filters: Sequence[tuple[str, str, bool]] = (),
        cap: int | None = None,
    ) -> int:
        """Articles with ``min_seq <= seq <= max_seq`` that match (as in :meth:`fts_search`);
        with ``cap``, counting stops there."""
        return self._fts_count(fts_query(table, match, min_seq, max_seq, filters), cap)

    def fts_count_ranges(
        self,
        match: str,
        ranges: Sequence[tuple[int, int]],
        *,
        table: str = "articles_fts",
        filters: Sequence[tuple[str, str, bool]] = (),
    ) -> int:
        """Articles that match (as in :meth:`fts_search`) within any of ``ranges`` (first, last
        article numbers, disjoint): the sum of :meth:`fts_count` over them (PostgreSQL reads
        them in one query: its ``_fts_count_ranges``)."""
        fts_query(table, match, 0, None, filters)  # checks the table names
        return self._fts_count_ranges(table, match, filters, ranges) if ranges else 0

    def _fts_count_ranges(
        self,
        table: str,
        match: str,
        filters: Sequence[tuple[str, str, bool]],
        ranges: Sequence[tuple[int, int]],
    ) -> int:
        return sum(
            self.fts_count(match, first, last, table=table, filters=filters)
            for first, last in ranges
        )

    def _fts_count(self, query: FtsQuery, cap: int | None) -> int:
        where, params = _fts_where(query)
        sql = f"SELECT rowid FROM {query.table} WHERE {where}"
        if cap is not None:
            sql += " LIMIT ?"
            params.append(cap)
        return int(self.conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])

    def vocabulary(self, min_docs: int = 2) -> Mapping[str, int]:
        """Every indexed term found in at least ``min_docs`` articles, with its article count
        (read from the index as asked for: see :class:`Vocabulary`)."""
        return Vocabulary(self.conn, min_docs)

    @contextmanager
    def stored_vocabulary(self) -> Iterator[tuple[int, Mapping[str, int]] | None]:
        """The document frequencies last saved by :meth:`save_vocabulary` and the article count
        they were taken at, or ``None`` if none were; read (as asked for, in byte order) in one
        snapshot on a connection of its own, so a concurrent save is seen whole or not at all
        and the shared connection's transactions are left alone; usable inside the block only."""
        conn = self.conn if self.path == ":memory:" else sqlite3.connect(self.path, timeout=30)
        try:
            if conn is not self.conn:
                conn.isolation_level = None  # transactions as written below
                conn.execute(f"PRAGMA cache_size = {-VOCABULARY_CACHE_KIB}")
                conn.execute("BEGIN")
            row = conn.execute(
                "SELECT value FROM state WHERE key = ?", [LEARNT_DF_ARTICLES]
            ).fetchone()
            yield None if row is None else (int(row[0]), Vocabulary(conn, 0, "learnt_df", "df"))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the saved vocabulary of {self.path}: {exc}") from exc
        finally:
            if conn is not self.conn:
                conn.close()  # ends the read transaction

    def save_vocabulary(self, articles: int, min_docs: int = 2) -> None:
        """Replace the saved document frequencies (``learnt_df``) by the word index's, terms in
        at least ``min_docs`` articles, taken at ``articles`` articles. The index is scanned into
        a temporary table first, outside the write lock (a scan of a large index takes seconds,
        and an ingest writing meanwhile would wait for it), then copied over in one transaction:
        readers see the old table or the new one, and of two processes saving at once the last
        one wins."""
        try:
            self.conn.execute(f"PRAGMA temp.cache_size = {-VOCABULARY_CACHE_KIB}")
            with self.conn:
                self.conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS learnt_df_new"  # a failed save leaves it
                    " (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID"
                )
                self.conn.execute("DELETE FROM temp.learnt_df_new")
                self.conn.execute(
                    "INSERT INTO temp.learnt_df_new (term, df)"
                    " SELECT term, doc FROM articles_vocab WHERE doc >= ?",
                    [min_docs],
                )
            with self.conn:
                self.conn.execute("DELETE FROM main.learnt_df")
                self.conn.execute(
                    "INSERT INTO main.learnt_df (term, df) SELECT term, df FROM temp.learnt_df_new"
                )
                self._set_state(LEARNT_DF_ARTICLES, str(int(articles)))
            self.conn.execute("DROP TABLE temp.learnt_df_new")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot save the vocabulary of {self.path}: {exc}") from exc

    def region_articles(self, code: str, limit: int, offset: int) -> list[tuple[int, int]]:
        """(seq, mentions) of articles tagged with ``code``, most mentions first, newest next;
        one per near-duplicate story (reposts are left out, as in search)."""
        return self.conn.execute(
            "SELECT seq, mentions FROM article_regions WHERE code = ? "
            "AND seq NOT IN (SELECT seq FROM article_stories WHERE story != seq) "
            "ORDER BY mentions DESC, seq DESC LIMIT ? OFFSET ?",
            [code, bounded(limit), bounded(offset)],
        ).fetchall()

    def region_total(self, code: str) -> int:
        """How many rows :meth:`region_articles` can give for ``code``: the precomputed count
        less the reposts tagged with it (one probe of the region's key per repost)."""
        row = self.conn.execute(
            "SELECT (SELECT articles FROM region_counts WHERE code = ?) - "
            "(SELECT count(*) FROM article_stories s WHERE s.story != s.seq AND EXISTS "
            "(SELECT 1 FROM article_regions r WHERE r.code = ? AND r.seq = s.seq))",
            [code, code],
        ).fetchone()
        return max(0, int(row[0] or 0))

    def region_counts(self, codes: Iterable[str] | None = None) -> dict[str, int]:
        if codes is None:
            return dict(self.conn.execute("SELECT code, articles FROM region_counts"))
        codes = list(codes)
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        return dict(
            self.conn.execute(
                f"SELECT code, articles FROM region_counts WHERE code IN ({marks})", codes
            )
        )

    # -- chats and subscriptions ------------------------------------------------------------
    def _now(self) -> str:
        return self.clock().astimezone(UTC).isoformat(timespec="seconds")

    _MARK = "?"  # the SQL dialect's parameter placeholder (for statements built from names)

    def _write(self, sql: str, params: Sequence[object]) -> int:
        """Run one statement in its own transaction; the rows it changed."""
        with self.conn:
            return self.conn.execute(sql, params).rowcount

    def upsert_chat(
        self, chat_id: int, type_: str, *, title: str | None = None, username: str | None = None
    ) -> Chat:
        """Record a chat (or refresh its title/username); settings are kept."""
        now = self._now()
        self._upsert_chat([chat_id, type_, title, username, now, now])
        chat = self.get_chat(chat_id)
        assert chat is not None
        return chat

    def _upsert_chat(self, values: Sequence[object]) -> None:
        """(chat_id, type, title, username, created_at, updated_at) into ``chats``."""
        with self.conn:
            self.conn.execute(
                "INSERT INTO chats (chat_id, type, title, username, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT(chat_id) DO UPDATE SET type = excluded.type, "
                "title = coalesce(excluded.title, title), "
                "username = coalesce(excluded.username, username), updated_at = excluded.updated_at",
                values,
            )

    def get_chat(self, chat_id: int) -> Chat | None:
        row = self.conn.execute(
            f"SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = ?",
            [chat_id],
        ).fetchone()
        return Chat(*row) if row else None

    def update_chat(self, chat_id: int, **fields: str | None) -> None:
        """Change settings columns (language, mode, timezone, status, status_reason)."""
        check_fields(fields, CHAT_FIELDS, "chat")
        m = self._MARK
        sets = ", ".join(f"{name} = {m}" for name in fields)
        self._write(
            f"UPDATE chats SET {sets}, updated_at = {m} WHERE chat_id = {m}",
            [*fields.values(), self._now(), chat_id],
        )

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: move the chat and its subscriptions to the new id."""
        with self.conn:
            exists = self.conn.execute("SELECT 1 FROM chats WHERE chat_id = ?", [new_id]).fetchone()
            if exists:
                self.conn.execute(
                    "UPDATE subscriptions SET chat_id = ? WHERE chat_id = ?", [new_id, old_id]
                )
                self.conn.execute("DELETE FROM chats WHERE chat_id = ?", [old_id])
            else:
                self.conn.execute(
                    "UPDATE chats SET chat_id = ?, type = 'supergroup' WHERE chat_id = ?",
                    [new_id, old_id],
                )
            self.conn.execute(
                "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?", [new_id, old_id]
            )
            self.conn.execute("DELETE FROM deliveries WHERE chat_id = ?", [old_id])

    def add_subscription(
        self,
        chat_id: int,
        keywords: list[str],
        regions: list[str],
        *,
        mode: str = "instant",
        created_by: int | None = None,
        thread_id: int | None = None,
    ) -> Subscription:
        """A new subscription; it receives only articles added after now."""
        return self._insert_subscription(
            [chat_id, dumps(keywords), dumps(regions), str(mode), created_by, self._now(),
             thread_id]
        )  # fmt: skip

    def _insert_subscription(self, values: Sequence[object]) -> Subscription:
        """(chat_id, keywords, regions, mode, created_by, created_at, thread_id) into
        ``subscriptions``, starting after the newest article (``since_seq``)."""
        with self.conn:
            since = self.max_seq()
            cursor = self.conn.execute(
                "INSERT INTO subscriptions (chat_id, keywords, regions, mode, created_by, "
                "created_at, thread_id, since_seq) VALUES (?,?,?,?,?,?,?,?)",
                [*values, since],
            )
        assert cursor.lastrowid is not None
        sub = self.get_subscription(cursor.lastrowid)
        assert sub is not None
        return sub

    _SUB_COLUMNS = "id, chat_id, keywords, regions, mode, since_seq, created_at, thread_id, paused"

    def _subscriptions(self, where: str, params: Sequence[object]) -> list[Subscription]:
        rows = self._select(f"SELECT {self._SUB_COLUMNS} FROM subscriptions {where}", params)
        return [_subscription(r) for r in rows]

    def get_subscription(self, sub_id: int) -> Subscription | None:
        found = self._subscriptions(f"WHERE id = {self._MARK}", [sub_id])
        return found[0] if found else None

    def subscriptions(self, chat_id: int | None = None) -> list[Subscription]:
        """A chat's subscriptions (or all of them), oldest first."""
        if chat_id is None:
            return self._subscriptions("ORDER BY id", [])
        return self._subscriptions(f"WHERE chat_id = {self._MARK} ORDER BY id", [chat_id])

    def active_subscriptions(self) -> list[Subscription]:
        """Subscriptions of chats that are not paused."""
        rows = self.conn.execute(
            f"SELECT {', '.join('s.' + c.strip() for c in self._SUB_COLUMNS.split(','))} "
            "FROM subscriptions s JOIN chats c ON c.chat_id = s.chat_id "
            "WHERE c.status = 'active' AND s.paused IS NULL ORDER BY s.id"
        )
        return [_subscription(r) for r in rows]

    def remove_subscriptions(self, chat_id: int, sub_ids: list[int] | None = None) -> int:
        """Delete some (or, with ``None``, all) of a chat's subscriptions; returns how many."""
        with self.conn:
            if sub_ids is None:
                cursor = self.conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id])
            else:
                marks = ",".join("?" * len(sub_ids))
                cursor = self.conn.execute(
                    f"DELETE FROM subscriptions WHERE chat_id = ? AND id IN ({marks})",
                    [chat_id, *sub_ids],
                )
        return cursor.rowcount

    def set_subscription_mode(self, sub_id: int, mode: object) -> None:
        """Change one subscription's delivery mode (``str(mode)`` is stored)."""
        with self.conn:
            self.conn.execute("UPDATE subscriptions SET mode = ? WHERE id = ?", [str(mode), sub_id])

    def pause_subscription(self, sub_id: int, reason: str | None) -> None:
        """Stop (``reason``) or resume (``None``) delivery for one subscription."""
        with self.conn:
            self.conn.execute("UPDATE subscriptions SET paused = ? WHERE id = ?", [reason, sub_id])

    # -- state ----------------------------------------------------------------------------------
    def get_state(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        with self.conn:
            self._set_state(key, value)

    def _set_state(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- the delivery ledger (its SQL is in digests.ledger) ----------------------------------
    @property
    def ledger(self) -> Ledger:
        from .ledger import Ledger

        return Ledger(self)

    def subscriber_counts(self) -> dict[str, int]:
        return dict(
            self.conn.execute(
                "SELECT c.status, count(DISTINCT c.chat_id) FROM chats c "
                "JOIN subscriptions s ON s.chat_id = c.chat_id GROUP BY c.status"
            )
        )

    # -- corpus files -----------------------------------------------------------------------
    def corpus_files(self) -> dict[str, tuple[int, int, str]]:
        """Every corpus file seen: path → (size, mtime_ns, status)."""
        rows = self._select("SELECT path, size, mtime_ns, status FROM corpus_files")
        return {r[0]: (int(r[1]), int(r[2]), r[3]) for r in rows}

    def record_corpus_file(
        self, path: str, size: int, mtime_ns: int, status: str, detail: str = "", now: float = 0.0
    ) -> None:
        m = self._MARK  # the same statement on both backends, in their placeholder
        self._write(
            "INSERT INTO corpus_files (path, size, mtime_ns, status, detail, seen_at) "
            f"VALUES ({m},{m},{m},{m},{m},{m}) ON CONFLICT (path) DO UPDATE SET "
            "size = excluded.size, mtime_ns = excluded.mtime_ns, status = excluded.status, "
            "detail = excluded.detail, seen_at = excluded.seen_at",
            [path, size, mtime_ns, status, detail, now],
        )

    # -- the update journal ---------------------------------------------------------------
    def journal_update(self, update_id: int, data: str, now: float, digest: str = "") -> bool:
        """Remember a fetched update before it is acknowledged; ``False`` if this very update
        (same id, same ``digest`` of its content) was seen before. An id seen with another
        content is a new update: Telegram chooses ids afresh after a week without updates, and
        another bot (or an emulator) may have used the same database."""
        with self.conn:
            row = self.conn.execute(
                "SELECT digest FROM update_journal WHERE update_id = ?", [update_id]
            ).fetchone()
            if row is not None and row[0] == digest:
                return False
            self.conn.execute(
                "INSERT OR REPLACE INTO update_journal (update_id, data, done, at, digest) "
                "VALUES (?,?,0,?,?)",
                [update_id, data, now, digest],
            )
        return True

    def finish_update(self, update_id: int) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE update_journal SET done = 1, data = NULL WHERE update_id = ?", [update_id]
            )

    def unfinished_updates(self) -> list[tuple[int, str]]:
        """Updates fetched but not handled (a crash came first), oldest first."""
        return [
            (row[0], row[1])
            for row in self.conn.execute(
                "SELECT update_id, data FROM update_journal WHERE done = 0 ORDER BY update_id"
            )
        ]

    def prune_updates(self, before: float) -> int:
        with self.conn:
            return self.conn.execute(
                "DELETE FROM update_journal WHERE done = 1 AND at < ?", [before]
            ).rowcount

    def touch_updates(self, update_ids: Sequence[int], now: float) -> None:
        """Say that the updates ``update_ids`` are still in hand (``at`` := ``now`` for the
        unfinished ones): a process handling them refreshes them, so that another replica
        adopts only those whose process died (:meth:`adopt_updates`)."""
        if not update_ids:
            return
        marks = ",".join("?" * len(update_ids))
        with self.conn:
            self.conn.execute(
                f"UPDATE update_journal SET at = ? WHERE done = 0 AND update_id IN ({marks})",
                [now, *update_ids],
            )

    def adopt_updates(self, before: float, now: float, limit: int = 100) -> list[tuple[int, str]]:
        """Take over unfinished updates last touched before ``before`` (their process died
        after journaling them), oldest first: one statement marks them ``at`` = ``now``, so
        two replicas adopting at once never take the same update."""
        with self.conn:
            rows = self.conn.execute(
                "UPDATE update_journal SET at = ? WHERE update_id IN (SELECT update_id FROM "
                "update_journal WHERE done = 0 AND at < ? ORDER BY update_id LIMIT ?) "
                "RETURNING update_id, data",
                [now, before, limit],
            ).fetchall()
        return sorted((int(r[0]), r[1]) for r in rows)

    # -- sources (digests.sources) -----------------------------------------------------------
    _SOURCE_COLUMNS = (
        "id, url, kind, name, etag, last_modified, interval, next_due, failures, failing_since, "
        "last_error, last_success, last_checked, items, status, baseline_done, created_at"
    )
    _SOURCE_FIELDS = frozenset(_SOURCE_COLUMNS.replace(" ", "").split(",")) - {"id", "created_at"}

    def add_source(self, url: str, kind: str, name: str, now: float) -> Source:
        """A new source, due at once; ``StoreError`` when the URL is registered already."""
        try:
            with self.conn:
                cursor = self.conn.execute(
                    "INSERT INTO sources (url, kind, name, next_due, created_at) VALUES (?,?,?,?,?)",
                    [url, kind, name, 0.0, now],  # due at once: its first poll is the baseline
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"{url} is a source already") from None
        assert cursor.lastrowid is not None
        source = self.get_source(cursor.lastrowid)
        assert source is not None
        return source

    def _sources(self, where: str, params: Sequence[object]) -> list[Source]:
        rows = self._select(f"SELECT {self._SOURCE_COLUMNS} FROM sources {where}", params)
        return [_source(r) for r in rows]

    def get_source(self, source_id: int) -> Source | None:
        found = self._sources(f"WHERE id = {self._MARK}", [source_id])
        return found[0] if found else None

    def source_by_url(self, url: str) -> Source | None:
        found = self._sources(f"WHERE url = {self._MARK}", [url])
        return found[0] if found else None

    def sources(self, *, due_before: float | None = None) -> list[Source]:
        """Every source by id, or the active ones due before ``due_before``, most overdue first."""
        if due_before is None:
            return self._sources("ORDER BY id", [])
        return self._sources(
            f"WHERE status = 'active' AND next_due <= {self._MARK} ORDER BY next_due, id",
            [due_before],
        )

    def update_source(self, source_id: int, **fields: object) -> None:
        check_fields(fields, self._SOURCE_FIELDS, "source")
        m = self._MARK
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        sets = ", ".join(f"{name} = {m}" for name in fields)
        self._write(f"UPDATE sources SET {sets} WHERE id = {m}", [*values, source_id])

    def remove_source(self, source_id: int) -> bool:
        """Forget a source (its articles stay in the corpus)."""
        with self.conn:
            self.conn.execute("DELETE FROM source_items WHERE source_id = ?", [source_id])
            return self.conn.execute("DELETE FROM sources WHERE id = ?", [source_id]).rowcount > 0

    def known_item_keys(self, source_id: int, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT key FROM source_items WHERE source_id = ? AND key IN ({marks})",
                    [source_id, *chunk],
                )
            )
        return found

    def record_items(
        self, source_id: int, rows: Iterable[tuple[str, int | None]], now: float
    ) -> None:
        """Remember item keys (with the article seq each became, when it was stored)."""
        with self.conn:
            self.conn.executemany(
                "INSERT INTO source_items (source_id, key, seq, seen_at) VALUES (?,?,?,?) "
                "ON CONFLICT(source_id, key) DO NOTHING",
                [(source_id, key, seq, now) for key, seq in rows],
            )

    def seq_of(self, article_id: str) -> int | None:
        row = self.conn.execute("SELECT seq FROM articles WHERE id = ?", [article_id]).fetchone()
        return row[0] if row else None

    def mark_quiet(self, seqs: Iterable[tuple[int, str]], *, commit: bool = True) -> None:
        """Articles stored but not pushed to subscribers: (seq, reason). ``commit=False`` inside
        a transaction the caller commits (:meth:`add`'s ``on_added``)."""
        with self.conn if commit else nullcontext():
            self.conn.executemany(
                "INSERT OR IGNORE INTO article_quiet (seq, reason) VALUES (?, ?)", list(seqs)
            )

    def quiet_seqs(self, seqs: Sequence[int]) -> set[int]:
        if not seqs:
            return set()
        marks = ",".join("?" * len(seqs))
        return {
            r[0]
            for r in self.conn.execute(
                f"SELECT seq FROM article_quiet WHERE seq IN ({marks})", list(seqs)
            )
        }

    # -- stories (digests.stories) ----------------------------------------------------------
    def story_candidates(
        self, bands: Sequence[int], since: float, limit: int = 500
    ) -> list[tuple[int, int, bytes]]:
        """(seq, story, signature) of the newest ``limit`` articles added since ``since`` sharing
        any of ``bands``."""
        if not bands:
            return []
        marks = ",".join("?" * len(bands))
        return self.conn.execute(
            "SELECT s.seq, s.story, s.sig FROM article_stories s WHERE s.seq IN "
            f"(SELECT DISTINCT seq FROM article_bands WHERE band IN ({marks})) AND s.added >= ? "
            "ORDER BY s.seq DESC LIMIT ?",
            [*bands, since, limit],
        ).fetchall()

    def save_story(
        self,
        seq: int,
        story: int,
        sig: bytes,
        bands: Sequence[int],
        now: float,
        *,
        commit: bool = True,
    ) -> None:
        """Article ``seq`` belongs to ``story``: its MinHash signature and LSH band keys.
        ``commit=False`` inside a transaction the caller commits (:meth:`add`'s ``on_added``)."""
        self._save_story([seq, story, sig, now], bands, commit)

    def _save_story(self, row: Sequence[object], bands: Sequence[int], commit: bool) -> None:
        """``row``: (seq, story, sig, added)."""
        seq = row[0]
        with self.conn if commit else nullcontext():
            self.conn.execute(
                "INSERT OR REPLACE INTO article_stories (seq, story, sig, added) VALUES (?,?,?,?)",
                row,
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO article_bands (band, seq) VALUES (?, ?)",
                [(band, seq) for band in bands],
            )

    def stories_of(self, seqs: Sequence[int]) -> dict[int, int]:
        """seq → story for the articles that belong to a story (others are their own)."""
        if not seqs:
            return {}
        marks = ",".join("?" * len(seqs))
        return dict(
            self.conn.execute(
                f"SELECT seq, story FROM article_stories WHERE seq IN ({marks})", list(seqs)
            )
        )

    def story_chats(self, story: int, exclude_seq: int) -> set[int]:
        """Chats that already have (or will get) another article of ``story``."""
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT d.chat_id FROM deliveries d JOIN article_stories s "
                "ON s.seq = d.seq WHERE s.story = ? AND d.seq != ?",
                [story, exclude_seq],
            )
        }

    def story_messages(self, story: int, exclude_seq: int) -> list[Delivery]:
        """Instant messages already sent for other articles of ``story`` (to add a source)."""
        rows = self.conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries d JOIN article_stories s ON s.seq = d.seq "
            "WHERE s.story = ? AND d.seq != ? AND d.status = 'sent' AND d.mode = 'instant' "
            "AND d.message_id IS NOT NULL ORDER BY d.id",
            [story, exclude_seq],
        ).fetchall()
        return [Delivery(*r) for r in rows]

    def also_reported(self, seq: int) -> list[str]:
        """Source names of the other articles of ``seq``'s story (first come first)."""
        rows = self.conn.execute(
            "SELECT a.source FROM article_stories s JOIN article_stories o ON o.story = s.story "
            "JOIN articles a ON a.seq = o.seq WHERE s.seq = ? AND o.seq != ? "
            "AND a.source IS NOT NULL ORDER BY o.seq",
            [seq, seq],
        ).fetchall()
        return first_seen(rows)

    def stats(self) -> StoreStats:
        articles, regions_tagged, region_tags, db_bytes = self._sizes()
        return {
            "articles": int(articles),
            "regions_tagged": int(regions_tagged),
            "region_tags": int(region_tags),
            "db_bytes": int(db_bytes),
            "db_path": self.path,
            "schema_version": self.schema_version(),
        }

    def _sizes(self) -> Sequence[int]:
        """(articles, region codes counted, region tags, bytes on disk) for :meth:`stats`."""
        size = 0
        if self.path != ":memory:":
            for suffix in ("", "-wal"):
                p = Path(self.path + suffix)
                if p.exists():
                    size += p.stat().st_size
        return (
            self.count(),
            self.conn.execute("SELECT count(*) FROM region_counts").fetchone()[0],
            self.conn.execute("SELECT count(*) FROM article_regions").fetchone()[0],
            size,
        )


def _fts_where(query: FtsQuery) -> tuple[str, list[object]]:
    """The WHERE clause (and its parameters) of a full-text query."""
    table, min_seq = query.table, query.min_seq
    where, params = f"{table} MATCH ? AND rowid >= ? {_NOT_REPOSTS}", [query.match, min_seq]
    if query.max_seq is not None:
        where += " AND rowid <= ?"
        params.append(query.max_seq)
    for other, expr, include in query.filters:
        where += (
            f" AND rowid {'' if include else 'NOT '}IN "
            f"(SELECT rowid FROM {other} WHERE {other} MATCH ? AND rowid >= ?)"
        )
        params += [expr, min_seq]
    return where, params


_DELIVERY_COLUMNS = (  # as digests.ledger reads them, for the stories' two queries
    "d.id, d.chat_id, d.seq, d.mode, d.status, d.due_at, d.attempts, d.message_id, d.error, "
    "d.thread_id, d.unsure"
)


def _source(row: Sequence[Any]) -> Source:
    values = list(row)
    values[15] = bool(values[15])
    return Source(*values)


def _subscription(row: Sequence[Any]) -> Subscription:
    sub_id, chat_id, keywords, regions, mode, since, created, thread_id, paused = row
    return Subscription(
        id=sub_id,
        chat_id=chat_id,
        keywords=json.loads(keywords),
        regions=json.loads(regions),
        mode=mode,
        since_seq=since,
        created_at=created,
        thread_id=thread_id,
        paused=paused,
    )


def _article(row: Sequence[Any]) -> Article:
    (
        seq,
        id_,
        chash,
        title,
        body,
        summary,
        keywords,
        regions,
        url,
        published,
        source,
        path,
        added,
    ) = row
    return Article(
        id=id_,
        title=title,
        paragraphs=body.split("\n") if body else [],
        summary=json.loads(summary or "[]"),
        keywords=json.loads(keywords or "[]"),
        regions=json.loads(regions or "{}"),
        added_at=added,
        content_hash=chash,
        seq=seq,
        url=url,
        published=published,
        source=source,
        source_path=path or "",
    )
