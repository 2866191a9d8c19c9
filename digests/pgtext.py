"""PostgreSQL full-text search as the SQLite index does it: ``tsvector`` documents and ``tsquery``
queries built from the engine's own segmentation, no extension needed.

The PostgreSQL store (:mod:`digests.pgstore`) keeps, per article, two ``tsvector`` columns in the
``simple`` sense (no stemming, no stop words): ``words`` (the segmented title and body,
``AnalyzedArticle.title_index`` / ``body_index``) and ``grams`` (their CJK character pairs). They
are built here, token by token, rather than by ``to_tsvector``, whose parser would split the
tokens again by its own rules: every token is cut and folded the way SQLite's FTS5 tokenizers do
(``unicode61 remove_diacritics 2`` for the words, ``ascii`` for the pairs), the title gets weight
``A`` and the body ``B`` (ranked 10:1, as bm25 weighs them on SQLite), and a gap of one position
keeps a phrase from matching across the two.

Queries arrive as the FTS5 expressions :meth:`digests.search.ParsedQuery.plan` writes (quoted
phrases, ``AND``, ``OR``, ``NOT``, parentheses); :func:`fts5_to_tsquery` translates them, so
:mod:`digests.search` runs unchanged on both backends.

Limits of ``tsvector`` (PostgreSQL's, documented in the README): positions stop at 16,383 and a
lexeme keeps at most 256 positions, so a phrase far into a very long article can be missed where
SQLite finds it; single words are always found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .wordindex import unicode61_tokens  # SQLite's own cutting and folding, as the words index

MAX_POSITION = 16383  # PostgreSQL's last tsvector position
MAX_POSITIONS_PER_LEXEME = 255  # PostgreSQL keeps 256; stay below
MAX_LEXEME_BYTES = 2046
#: ts_rank weights {D, C, B, A}: body (B) 0.1, title (A) 1.0 — the SQLite bm25 ratio 1:10.
RANK_WEIGHTS = "{0.1, 0.1, 0.1, 1.0}"


_ASCII_SEPARATORS = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")


def ascii_tokens(text: str) -> list[str]:
    """``text`` cut as FTS5's ``ascii`` tokenizer does: ASCII non-alphanumerics separate,
    everything else makes tokens; ASCII letters lowercased."""
    return [t.lower() for t in _ASCII_SEPARATORS.split(text) if t]


def tsvector_literal(
    title: str, body: str, tokens: Callable[[str], list[str]] = unicode61_tokens
) -> str:
    """The ``tsvector`` input text of a title (weight A) and a body (weight B)."""
    positions: dict[str, list[str]] = {}
    title_tokens = tokens(title)
    _place(positions, title_tokens, 1, "A")
    _place(positions, tokens(body), len(title_tokens) + 2, "B")
    return " ".join(f"{_quote(lexeme)}:{','.join(p)}" for lexeme, p in positions.items())


def _place(positions: dict[str, list[str]], tokens: Iterable[str], start: int, weight: str) -> None:
    for offset, token in enumerate(tokens):
        if len(token.encode()) > MAX_LEXEME_BYTES:
            continue
        kept = positions.setdefault(token, [])
        if len(kept) < MAX_POSITIONS_PER_LEXEME:
            kept.append(f"{min(start + offset, MAX_POSITION)}{weight}")


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# -- queries ---------------------------------------------------------------------------------
_FTS5_TOKEN = re.compile(r'\s*(?:"((?:[^"]|"")*)"|(\()|(\))|(AND|OR|NOT)\b|\{(\w+)\}\s*:)')
#: FTS5 column filters (``{title} : …``) → the tsvector weight of that column.
COLUMN_WEIGHTS = {"title": "A", "body": "B"}


class _Parser:
    """FTS5 expressions (NOT binds tighter than AND, AND tighter than OR) → ``tsquery`` text;
    ``None`` stands for an expression that matches nothing (a phrase with no token left).

    With ``bound``, a ``tsquery`` that a GIN index answers alone (no positions or weights to
    check on the row) instead: ``"upper"`` matches every match of the expression and perhaps
    more (a phrase becomes the AND of its lexemes, a column filter is dropped), ``"lower"``
    matches some of its matches and nothing else (a phrase of several lexemes or in one column
    matches nothing); ``A NOT B``'s bound excludes ``B``'s opposite bound."""

    def __init__(
        self, expression: str, tokens: Callable[[str], list[str]], bound: str = ""
    ) -> None:
        self.items: list[tuple[str, str]] = []
        self.tokens = tokens
        self.bound = bound  # "": the query; "upper"/"lower": GIN-only bounds of it
        self.weight = ""
        pos = 0
        expression = expression.rstrip()
        while pos < len(expression):
            match = _FTS5_TOKEN.match(expression, pos)
            if match is None:
                raise ValueError(f"unsupported full-text expression: {expression!r}")
            phrase, opening, closing, word, column = match.groups()
            if phrase is not None:
                self.items.append(("phrase", phrase.replace('""', '"')))
            elif column is not None:
                if column not in COLUMN_WEIGHTS:
                    raise ValueError(f"unknown column in a full-text expression: {column}")
                self.items.append(("column", COLUMN_WEIGHTS[column]))
            else:
                self.items.append((opening or closing or word, ""))
            pos = match.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def take(self) -> tuple[str, str]:
        item = self.items[self.pos]
        self.pos += 1
        return item

    def parse(self) -> str | None:
        result = self.or_expr()
        if self.pos != len(self.items):
            raise ValueError("unbalanced full-text expression")
        return result

    def or_expr(self) -> str | None:
        parts = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.and_expr())
        kept = [p for p in parts if p is not None]
        return "(" + " | ".join(kept) + ")" if kept else None

    def and_expr(self) -> str | None:
        parts = [self.not_expr()]
        while self.peek() in ("AND", "phrase", "(", "column"):
            if self.peek() == "AND":
                self.take()
            parts.append(self.not_expr())
        if any(p is None for p in parts):
            return None
        return "(" + " & ".join(p for p in parts if p is not None) + ")"

    def not_expr(self) -> str | None:
        result = self.primary()
        while self.peek() == "NOT":
            self.take()
            outer = self.bound
            self.bound = {"upper": "lower", "lower": "upper"}.get(outer, "")
            try:
                excluded = self.primary()
            finally:
                self.bound = outer
            if result is not None and excluded is not None:
                result = f"({result} & !{excluded})"
        return result

    def primary(self) -> str | None:
        kind, text = self.take()
        if kind == "column":  # {title} : primary — every word of it in that column
            outer, self.weight = self.weight, text
            try:
                return self.primary()
            finally:
                self.weight = outer
        if kind == "(":
            inner = self.or_expr()
            if self.take()[0] != ")":
                raise ValueError("unbalanced full-text expression")
            return inner
        if kind != "phrase":
            raise ValueError(f"unexpected {kind} in a full-text expression")
        tokens = self.tokens(text)
        if not tokens:
            return None
        if self.bound == "upper":
            return "(" + " & ".join(_quote(t) for t in tokens) + ")"
        if self.bound == "lower" and (len(tokens) > 1 or self.weight):
            return None
        label = f":{self.weight}" if self.weight else ""
        return "(" + " <-> ".join(_quote(t) + label for t in tokens) + ")"


def fts5_to_tsquery(
    expression: str, tokens: Callable[[str], list[str]] = unicode61_tokens
) -> str | None:
    """The ``tsquery`` text of an FTS5 expression; ``None`` when it can match nothing."""
    return _Parser(expression, tokens).parse()


def fts5_to_bounds(
    expression: str, tokens: Callable[[str], list[str]] = unicode61_tokens
) -> tuple[str | None, str | None]:
    """(upper, lower): ``tsquery`` texts that a GIN index answers alone, the first matching
    every document :func:`fts5_to_tsquery`'s matches (and perhaps more), the second only such
    documents (perhaps fewer); ``None`` matches nothing. When both equal the query's, the GIN
    index answers it exactly."""
    return (
        _Parser(expression, tokens, "upper").parse(),
        _Parser(expression, tokens, "lower").parse(),
    )
