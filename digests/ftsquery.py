"""The plan of a full-text query, before either store writes it as SQL.

Search (:mod:`digests.search`) asks a store for matches of an FTS5 expression in one of two
full-text tables, within a range of article numbers, kept or dropped by other expressions
(``filters``). Both stores take the same arguments, check them the same way and fold a title
condition into the expression the same way; this module does that once, and each store turns the
resulting :class:`FtsQuery` into its own SQL (FTS5 ``MATCH`` on SQLite, ``tsquery`` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The full-text tables (named as SQLite's; PostgreSQL's columns stand for them).
FTS_TABLE_NAMES = ("articles_fts", "articles_grams")


@dataclass(frozen=True, slots=True)
class FtsQuery:
    """Articles with ``min_seq <= seq`` (``<= max_seq`` when given) matching ``match`` in
    ``table``, and each ``filters`` entry (table, expression, include): matching it there too
    (include) or not (exclude)."""

    table: str
    match: str
    min_seq: int = 0
    max_seq: int | None = None
    filters: Sequence[tuple[str, str, bool]] = ()


def fts_query(
    table: str,
    match: str,
    min_seq: int = 0,
    max_seq: int | None = None,
    filters: Sequence[tuple[str, str, bool]] = (),
    *,
    in_title: str | None = None,
) -> FtsQuery:
    """The query; ``in_title`` (an expression the title must match too) is folded into
    ``match`` as FTS5's ``{title} :`` column filter. ``ValueError`` for a table that is not
    a full-text one (its name is written into the SQL)."""
    for name in (table, *(other for other, _, _ in filters)):
        if name not in FTS_TABLE_NAMES:
            raise ValueError(f"not a full-text table: {name}")
    if in_title is not None:
        match = f"({match}) AND {{title}} : ({in_title})"
    return FtsQuery(table, match, min_seq, max_seq, filters)
