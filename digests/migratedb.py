"""``digestbot migrate-db --from SQLITE_FILE --to URL``: an installation copied from SQLite to an
empty PostgreSQL database, nothing lost.

Every table is copied row for row with its ids (article ``seq``, subscription and delivery ids),
so subscriptions' cursors and the ledger stay valid; then the id sequences are moved past them.
The full-text columns are rebuilt from each article's text with the engine's segmentation (the
SQLite index is contentless: it cannot be read back). Everything happens in one PostgreSQL
transaction and ends with a count of every table on both sides: a mismatch rolls it all back.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import StoreError
from .formats import RawArticle
from .pgstore import COPIED_TABLES, Conn, PgStore, table_counts
from .pgtext import ascii_tokens, tsvector_literal
from .pipeline import analyze
from .store import ARTICLE_COLUMNS, Store, _article

Progress = Callable[[str, int], None]
#: Tables whose ids come from a sequence, moved past the copied ids.
SERIAL_IDS = {"articles": "seq", "subscriptions": "id", "deliveries": "id", "sources": "id"}


def copy_installation(
    source: Store, target: PgStore, *, progress: Progress | None = None
) -> dict[str, int]:
    """Copy ``source`` into the empty ``target``; returns the rows per table (checked equal)."""
    if any(table_counts(target).values()):
        raise StoreError(f"the target database {target.path} is not empty; migrate into a new one")
    if source.schema_version() != target.schema_version():
        raise StoreError(
            f"schema versions differ (SQLite {source.schema_version()}, PostgreSQL "
            f"{target.schema_version()}); run this digestbot's version on both"
        )
    expected = table_counts(source)
    with target.connection() as conn:
        _copy_articles(source, conn, progress)
        for table in COPIED_TABLES[1:]:
            columns = [row[1] for row in source.conn.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(columns)
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for n, row in enumerate(source.conn.execute(f"SELECT {names} FROM {table}"), 1):
                    copy.write_row(row)
                    if progress and n % 10000 == 0:
                        progress(table, n)
        for table, column in SERIAL_IDS.items():
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
            )
        copied = {}
        for table in COPIED_TABLES:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            copied[table] = int(row[0]) if row else 0
        if copied != expected:
            raise StoreError(f"row counts differ after the copy: SQLite {expected}, PostgreSQL {copied}")
    return copied


def _copy_articles(source: Store, conn: Conn, progress: Progress | None) -> None:
    rows = source.conn.execute(f"SELECT {ARTICLE_COLUMNS}, chars FROM articles ORDER BY seq")
    with conn.cursor() as cursor:
        for n, row in enumerate(rows, 1):
            art = _article(row[:-1])
            cursor.execute(
                f"INSERT INTO articles ({ARTICLE_COLUMNS}, chars) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                 row[10], row[11], row[12], row[13]],
            )  # fmt: skip
            index = analyze(RawArticle(art.title, art.paragraphs))
            cursor.execute(
                "INSERT INTO article_search (seq, words, grams) "
                "VALUES (%s, %s::tsvector, %s::tsvector)",
                [
                    art.seq,
                    tsvector_literal(index.title_index, index.body_index),
                    tsvector_literal(index.title_grams, index.body_grams, ascii_tokens),
                ],
            )
            if progress and n % 1000 == 0:
                progress("articles", n)
