"""How the word index (``articles_fts``) holds a token: cut and folded as FTS5's ``unicode61
remove_diacritics 2`` tokenizer does, worked out here once per distinct token.

FTS5's ``unicode61`` tokenizer looks up the category and the folding of every character it reads,
which made the word index cost about twice as much per token as the character-pair index
(docs/benchmarks.md). The words reaching the index are jieba's tokens, a vocabulary of tens of
thousands that repeats in every article: :func:`index_form` gives each one's ``unicode61``
tokens joined by spaces, and the table (from schema version 14) uses the ``ascii`` tokenizer,
which reads those back unchanged (it only cuts at ASCII separators and lowercases ASCII letters,
which the folded form already is). Queries go through the same function, so an article and a
query meet exactly where they did before.

The folding of a character is SQLite's own: a character never seen before is put through a
``unicode61`` table in memory (the same SQLite library the store uses), so the forms cannot drift
from what the tokenizer would have made, whatever Unicode version either side knows. A database
made before version 14 keeps its ``unicode61`` word index; reading the folded forms gives it the
same tokens (``tests/test_word_index.py`` checks both on every character of the BMP).
"""

from __future__ import annotations

import sqlite3
import threading

__all__ = ["index_form", "unicode61_tokens"]

#: character → its folded form ("" when the tokenizer drops it, e.g. a combining accent), or
#: ``None`` for a separator
_forms: dict[str, str | None] = {}
#: the characters a word may hold as they are: ASCII (the ascii tokenizer cuts and lowercases it
#: as unicode61 does) and the characters unicode61 keeps unchanged (Chinese ones among them)
_unchanged: set[str] = {chr(code) for code in range(128)}
_lock = threading.Lock()
_PROBE = "q"  # an ASCII letter around a probed character: one token, or two around a separator


def index_form(token: str) -> str:
    """``token`` as the word index holds it: its ``unicode61`` tokens, joined by spaces (``""``
    when it has none). ASCII, and Chinese words, come back unchanged."""
    if _unchanged.issuperset(token):
        return token
    missing = {c for c in token if c not in _forms}
    if missing:
        _learn(missing)
        if _unchanged.issuperset(token):
            return token
    return " ".join(unicode61_tokens(token))


def unicode61_tokens(text: str) -> list[str]:
    """``text`` cut and folded as FTS5's ``unicode61 remove_diacritics 2`` does."""
    missing = {c for c in text if c not in _forms}
    if missing:
        _learn(missing)
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        form = _forms[char]
        if form is None:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(form)
    if current:
        tokens.append("".join(current))
    return [t for t in tokens if t]


def _learn(chars: set[str]) -> None:
    """Put ``chars``, and every other character of their blocks of 256, through SQLite's
    ``unicode61`` tokenizer, one probe row each: a process learns the characters of its texts a
    block at a time (Chinese text touches a few dozen blocks), not a token at a time."""
    ordered = [
        chr(code)
        for block in sorted({ord(c) >> 8 for c in chars})
        for code in range(block << 8, (block + 1) << 8)
        if not 0xD800 <= code <= 0xDFFF  # surrogates: no tokenizer ever sees one
    ]
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, 'instance')")
        conn.executemany(
            "INSERT INTO probe (rowid, x) VALUES (?, ?)",
            ((i, _PROBE + char + _PROBE) for i, char in enumerate(ordered)),
        )
        terms: dict[int, list[str]] = {}
        for doc, term in conn.execute("SELECT doc, term FROM probe_terms ORDER BY doc, offset"):
            terms.setdefault(int(doc), []).append(str(term))
    finally:
        conn.close()
    learnt: dict[str, str | None] = dict.fromkeys(chars)  # a lone surrogate: a separator
    for i, char in enumerate(ordered):
        found = terms.get(i, [])
        if len(found) == 1 and found[0].startswith(_PROBE) and found[0].endswith(_PROBE):
            learnt[char] = found[0][len(_PROBE) : -len(_PROBE)]
        else:  # cut in two: a separator
            learnt[char] = None
    with _lock:
        _forms.update(learnt)
        _unchanged.update(char for char, form in learnt.items() if form == char)
