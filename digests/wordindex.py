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

The folding of a character is SQLite's own: a character never seen before, with the rest of its
block of 256 code points, is put through a ``unicode61`` table in memory (the same SQLite library
the store uses), so the forms cannot drift from what the tokenizer would have made, whatever
Unicode version either side knows. A database made before version 14 keeps its ``unicode61``
word index; reading the folded forms gives it the same tokens (``tests/test_word_index.py``
checks both on every character of the BMP).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable

__all__ = ["index_form", "unicode61_tokens"]

UNCHANGED, SEPARATOR, FOLDED = 0, 1, 2  # what unicode61 does with a character
#: block of 256 code points → the kind of each of its characters (learnt blocks only: a few
#: dozen for Chinese text, 256 bytes each, so that a bot's memory hardly notices them)
_blocks: dict[int, bytes] = {}
#: a FOLDED character → its form ("" when the tokenizer drops it, e.g. a combining accent)
_folded: dict[str, str] = {}
_lock = threading.Lock()
_PROBE = "q"  # an ASCII letter around a probed character: one token, or two around a separator


def index_form(token: str) -> str:
    """``token`` as the word index holds it: its ``unicode61`` tokens, joined by spaces (``""``
    when it has none). ASCII (which the ascii tokenizer cuts and lowercases as unicode61 does),
    and words of characters unicode61 keeps as they are (Chinese ones), come back unchanged."""
    if token.isascii():
        return token
    blocks = _blocks
    for char in token:
        code = ord(char)
        if code < 128:
            continue
        kinds = blocks.get(code >> 8)
        if kinds is None:
            _learn(ord(c) >> 8 for c in token)
            kinds = blocks[code >> 8]
        if kinds[code & 255] != UNCHANGED:
            return " ".join(unicode61_tokens(token))
    return token


def unicode61_tokens(text: str) -> list[str]:
    """``text`` cut and folded as FTS5's ``unicode61 remove_diacritics 2`` does."""
    _learn(ord(c) >> 8 for c in text)
    blocks, folded = _blocks, _folded
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        code = ord(char)
        kind = blocks[code >> 8][code & 255]
        if kind == SEPARATOR:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char if kind == UNCHANGED else folded[char])
    if current:
        tokens.append("".join(current))
    return [t for t in tokens if t]


def _learn(blocks: Iterable[int]) -> None:
    """Put every character of ``blocks`` (of 256 code points) not learnt yet through SQLite's
    ``unicode61`` tokenizer, one probe row each: a process learns the characters of its texts
    a block at a time (Chinese text touches a few dozen blocks), not a word at a time."""
    wanted = sorted(set(blocks).difference(_blocks))
    if not wanted:
        return
    codes = [code for block in wanted for code in range(block << 8, (block + 1) << 8)]
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, 'instance')")
        conn.executemany(
            "INSERT INTO probe (rowid, x) VALUES (?, ?)",
            (
                (code, _PROBE + chr(code) + _PROBE)
                for code in codes
                if not 0xD800 <= code <= 0xDFFF  # a lone surrogate: no tokenizer sees one
            ),
        )
        terms: dict[int, list[str]] = {}
        for doc, term in conn.execute("SELECT doc, term FROM probe_terms ORDER BY doc, offset"):
            terms.setdefault(int(doc), []).append(str(term))
    finally:
        conn.close()
    kinds = bytearray(len(codes))
    folded: dict[str, str] = {}
    for i, code in enumerate(codes):
        found = terms.get(code, [])
        if len(found) != 1 or not (found[0].startswith(_PROBE) and found[0].endswith(_PROBE)):
            kinds[i] = SEPARATOR  # cut in two (or a surrogate, never inserted)
            continue
        form = found[0][len(_PROBE) : -len(_PROBE)]
        if form != chr(code):
            kinds[i] = FOLDED
            folded[chr(code)] = form
    with _lock:
        _folded.update(folded)
        for n, block in enumerate(wanted):
            _blocks[block] = bytes(kinds[n << 8 : (n + 1) << 8])
