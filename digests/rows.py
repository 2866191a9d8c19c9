"""The Python between models and SQL rows that both store backends share.

:class:`digests.store.Store` (SQLite) and :class:`digests.pgstore.PgStore` (PostgreSQL) write and
read the same tables in two SQL dialects; what is not dialect — the values an article is inserted
with, which columns a caller may update, how a story's sources are listed — is written once here,
so the two backends cannot drift apart on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from .models import AnalyzedArticle

#: The ``chats`` columns a caller may change (:meth:`digests.store.Store.update_chat`).
CHAT_FIELDS = frozenset(
    {"language", "mode", "timezone", "status", "status_reason", "title", "username", "quiet"}
)
#: The ``chats`` columns a :class:`digests.models.Chat` is made of, in its fields' order.
CHAT_COLUMNS = "chat_id, type, title, username, language, mode, timezone, status, status_reason, quiet"


def dumps(value: object) -> str:
    """JSON as the stores keep it (compact, CJK unescaped)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def article_values(art: AnalyzedArticle, added_at: str) -> list[object]:
    """The values of ``articles``' columns after ``seq`` (``id`` … ``added_at``, in the order of
    the stores' ``INSERT``) for ``art``."""
    return [
        art.id,
        art.content_hash,
        art.title,
        "\n".join(art.paragraphs),
        dumps(art.summary),
        dumps(art.keywords),
        dumps(art.regions),
        art.url,
        art.published,
        art.source,
        art.source_path,
        art.chars,
        added_at,
    ]


def check_fields(fields: Mapping[str, object], allowed: Iterable[str], what: str) -> None:
    """``ValueError`` unless ``fields`` is a non-empty set of ``allowed`` column names (column
    names are written into the SQL, so nothing else may pass)."""
    allowed = set(allowed)
    if not fields or not set(fields) <= allowed:
        raise ValueError(f"unknown {what} fields: {sorted(set(fields) - allowed)}")


def first_seen(names: Iterable[tuple[str]]) -> list[str]:
    """The names of one-column rows, each once, in the order first seen."""
    found: list[str] = []
    for (name,) in names:
        if name not in found:
            found.append(name)
    return found
