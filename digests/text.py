"""Chinese text handling: normalisation, simplified/traditional folding, sentences and tokens.

Everything that turns raw characters into the units the engine works with lives here:

* :func:`normalize` — NFC, no BOM/zero-width characters, collapsed whitespace;
* :func:`to_simplified` — OpenCC ``t2s`` so that traditional text is searchable from simplified
  queries and vice versa (the stored text stays as written);
* :func:`split_sentences` — splits after 。！？；… (and ASCII !?;) keeping closing quotes with their
  sentence and never splitting inside a balanced “quotation”;
* :func:`is_subheading` — short paragraphs without final punctuation;
* :func:`tokenize` — jieba segmentation, done once per article and reused everywhere;
* :func:`index_terms` / :func:`sub_terms` — the token streams stored in the full-text index.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

FULLWIDTH_SPACE = "\u3000"
PARAGRAPH_SEPARATOR = FULLWIDTH_SPACE * 2

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"), None)
_HSPACE = re.compile(r"[ \t\u00a0\u2002-\u200a\u202f\u205f]+")
_ENDERS = set("。！？；…!?;")
_CLOSERS = set("”’」』）)》\"'")
_OPEN_CLOSE = {"“": "”", "「": "」", "『": "』", "‘": "’"}
_WORDISH = re.compile(r"\w", re.UNICODE)
_QUOTE_CHARS = re.compile("[“”「」『』‘’]")
_PLAIN_SENTENCE = re.compile(r"[^。！？；…!?;]*[。！？；…!?;]+[”’」』）)》\"']*|[^。！？；…!?;]+$")
_HAS_CJK_OR_ALNUM = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str) -> str:
    """NFC-normalise ``text``, drop invisible characters and collapse runs of spaces.

    Full-width spaces are kept: they separate paragraphs in the corpus format and are handled by
    the format readers. Line breaks are unified to ``\\n``.
    """
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(_HSPACE.sub(" ", line).strip(" ") for line in text.split("\n"))


def clean_paragraph(text: str) -> str:
    """A paragraph without surrounding (full-width) whitespace and with single inner spaces.

    Spaces between Chinese characters are kept: titles use them as separators
    (``党建引领发展 忠实履行使命``).
    """
    text = normalize(text).replace("\n", " ")
    return text.strip(" " + FULLWIDTH_SPACE)


@lru_cache(maxsize=1)
def _t2s():  # pragma: no cover - trivial
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``); other characters unchanged."""
    if not text:
        return text
    return _t2s().convert(text)


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, verbatim (their concatenation is the paragraph).

    A sentence ends after a run of terminal punctuation (。！？；… !?;) plus any closing quotes or
    brackets that follow it. Inside a balanced quotation (“…”, 「…」) the paragraph is not split, so
    quoted speech stays whole; if the paragraph's quotes are unbalanced, quotes are ignored.
    """
    if not paragraph:
        return []
    if not _QUOTE_CHARS.search(paragraph):  # the common case, done by one regex
        return [s for s in (m.strip() for m in _PLAIN_SENTENCE.findall(paragraph)) if s]
    track_quotes = _quotes_balanced(paragraph)
    sentences: list[str] = []
    start = 0
    depth = 0
    i = 0
    n = len(paragraph)
    while i < n:
        ch = paragraph[i]
        if track_quotes and ch in _OPEN_CLOSE:
            depth += 1
        elif track_quotes and ch in _OPEN_CLOSE.values() and depth:
            depth -= 1
            # “……。”  closes a quoted sentence: split after the closer when back at top level.
            if depth == 0 and i > 0 and paragraph[i - 1] in _ENDERS:
                j = _skip_closers(paragraph, i + 1)
                sentences.append(paragraph[start:j])
                start = i = j
                continue
        elif ch in _ENDERS and depth == 0:
            j = i + 1
            while j < n and paragraph[j] in _ENDERS:
                j += 1
            j = _skip_closers(paragraph, j)
            sentences.append(paragraph[start:j])
            start = i = j
            continue
        i += 1
    if start < n:
        sentences.append(paragraph[start:])
    return [s for s in (s.strip() for s in sentences) if s]


def _skip_closers(text: str, j: int) -> int:
    while j < len(text) and text[j] in _CLOSERS:
        j += 1
    return j


def _quotes_balanced(text: str) -> bool:
    stack: list[str] = []
    closers = {v: k for k, v in _OPEN_CLOSE.items()}
    for ch in text:
        if ch in _OPEN_CLOSE:
            stack.append(ch)
        elif ch in closers:
            if not stack or stack[-1] != closers[ch]:
                return False
            stack.pop()
    return not stack


def ends_with_terminal(text: str) -> bool:
    """True when ``text`` ends with sentence-final punctuation (closing quotes ignored)."""
    stripped = text.rstrip("".join(_CLOSERS) + " ")
    return bool(stripped) and stripped[-1] in _ENDERS


def is_subheading(paragraph: str, max_chars: int = 30) -> bool:
    """A short paragraph with no final punctuation, e.g. ``当好“贴心人”``."""
    return 0 < len(paragraph) <= max_chars and not ends_with_terminal(paragraph)


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.dt.initialize()
    return jieba.dt


def tokenize(text: str) -> list[str]:
    """jieba tokens of ``text`` (precise mode, HMM on), whitespace dropped."""
    return [t for t in _tokenizer().lcut(text) if t.strip()]


def raw_tokens(text: str) -> list[str]:
    """jieba tokens of ``text`` including whitespace: they concatenate back to ``text``."""
    return _tokenizer().lcut(text)


def is_word(token: str) -> bool:
    """Tokens worth indexing: they contain a CJK character, a letter or a digit."""
    return bool(_HAS_CJK_OR_ALNUM.search(token))


def index_terms(tokens: Iterable[str]) -> str:
    """The space-joined token stream stored in the full-text index (punctuation dropped)."""
    return " ".join(t for t in tokens if is_word(t))


def sub_terms(tokens: Iterable[str]) -> str:
    """Dictionary sub-words of long tokens, as jieba's search mode emits them.

    ``第一书记`` also yields ``第一`` and ``书记``; indexing these separately lets a query segmented
    differently from the document still match, without re-segmenting the document.
    """
    freq = _tokenizer().FREQ
    out: list[str] = []
    for token in tokens:
        n = len(token)
        if n <= 2 or not is_word(token):
            continue
        for size in (2, 3):
            if n <= size:
                break
            for i in range(n - size + 1):
                gram = token[i : i + size]
                if freq.get(gram):
                    out.append(gram)
    return " ".join(out)
