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
#: ``None`` for a separator; ASCII is never looked up (the ascii tokenizer treats it the same)
_forms: dict[str, str | None] = {}
_lock = threading.Lock()
_PROBE = "q"  # an ASCII letter around a probed character: one token, or two around a separator


def index_form(token: str) -> str:
    """``token`` as the word index holds it: its ``unicode61`` tokens, joined by spaces (``""``
    when it has none). ASCII comes back unchanged."""
    if token.isascii():
        return token
    forms = _forms
    try:
        chars = [forms[c] if c >= "\x80" else c for c in token]
    except KeyError:
        _learn({c for c in token if c >= "\x80" and c not in forms})
        chars = [forms[c] if c >= "\x80" else c for c in token]
    if all(f == c for f, c in zip(chars, token, strict=True)):
        return token  # nothing folded, nothing cut (Chinese words)
    return " ".join(unicode61_tokens(token))


def unicode61_tokens(text: str) -> list[str]:
    """``text`` cut and folded as FTS5's ``unicode61 remove_diacritics 2`` does."""
    missing = {c for c in text if c >= "\x80" and c not in _forms}
    if missing:
        _learn(missing)
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        form = _forms[char] if char >= "\x80" else (char.lower() if char.isalnum() else None)
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
    """Put ``chars`` through SQLite's ``unicode61`` tokenizer, one probe row each."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, 'instance')")
        ordered = sorted(chars)
        for i, char in enumerate(ordered, 1):
            try:
                conn.execute("INSERT INTO probe (rowid, x) VALUES (?, ?)", [i, _PROBE + char + _PROBE])
            except (sqlite3.Error, UnicodeEncodeError):  # a lone surrogate: no tokenizer sees it
                continue
        terms: dict[int, list[str]] = {}
        for doc, term in conn.execute("SELECT doc, term FROM probe_terms ORDER BY doc, offset"):
            terms.setdefault(int(doc), []).append(str(term))
    finally:
        conn.close()
    learnt: dict[str, str | None] = {}
    for i, char in enumerate(ordered, 1):
        found = terms.get(i, [])
        if len(found) == 1 and found[0].startswith(_PROBE) and found[0].endswith(_PROBE):
            learnt[char] = found[0][len(_PROBE) : -len(_PROBE)]
        else:  # cut in two (a separator), or not insertable
            learnt[char] = None
    with _lock:
        _forms.update(learnt)
