"""Chinese text handling: normalisation, simplified/traditional folding, sentences and tokens.

Everything that turns raw characters into the units the engine works with lives here:

* :func:`normalize` — NFC, no BOM/zero-width characters, collapsed whitespace;
* :func:`to_simplified` — OpenCC ``t2s`` so that traditional text is searchable from simplified
  queries and vice versa (the stored text stays as written);
* :func:`split_sentences` — splits after 。！？；… (and ASCII !?;) keeping closing quotes with their
  sentence and never splitting inside a balanced “quotation”, and :func:`sentence_spans` — the
  sentences of an article's paragraphs with where they lie in its body;
* :func:`is_subheading` — short paragraphs without final punctuation;
* :func:`tokenize` / :func:`raw_tokens` — word segmentation, done once per article and reused
  everywhere, and :func:`has_word` — dictionary look-ups; both on jieba-rs (``rjieba``), which
  gives jieba's tokens on Chinese text (``tests/test_segmentation.py`` holds it to that) without
  loading jieba's Python dictionary. Only runs of ASCII letters, digits and ``-./`` differ: jieba-rs
  keeps ``200-300`` or ``COVID-19`` whole where jieba cuts at the punctuation; the whole form is
  kept (a keyword reads better, and the word index's tokenizer splits it at the punctuation into
  adjacent parts, so ``300`` finds it and ``200-300`` finds it as a phrase);
* :func:`index_terms` — the words stored in the full-text index, and :func:`cjk_grams` — the
  character pairs stored beside them, so that any string of two or more CJK characters is found
  (``六师`` inside ``第六/师``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import numeric
from .once import once
from .wordindex import index_form

if TYPE_CHECKING:
    import opencc

FULLWIDTH_SPACE = "\u3000"
PARAGRAPH_SEPARATOR = FULLWIDTH_SPACE * 2

_INVISIBLE_CHARS = "\ufeff\u200b\u200c\u200d\u2060\u00ad"  # dropped by normalize()
_OTHER_SPACES = "\t\u00a0\u2002-\u200a\u202f\u205f"  # made plain spaces (a class's ranges)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]+")
_HSPACE = re.compile(f"[ {_OTHER_SPACES}]+")
#: what :func:`normalize` removes or replaces besides plain spaces, as one character class: a
#: search for it runs re's fast scan for a set (the two substitutions scan the text twice)
_TO_CHANGE = re.compile(f"[{_INVISIBLE_CHARS}\r{_OTHER_SPACES}]")
_ENDER_CHARS = "。！？；…!?;"  # end a sentence
_CLOSER_CHARS = "”’」』）)》\"'"  # stay with the sentence they follow
_ENDERS = set(_ENDER_CHARS)
_CLOSERS_AND_SPACE = _CLOSER_CHARS + " "
_OPEN_CLOSE = {"“": "”", "「": "」", "『": "』", "‘": "’"}
_QUOTE_CLOSERS = "".join(_OPEN_CLOSE.values())
_OPENER_OF = {v: k for k, v in _OPEN_CLOSE.items()}
_ENDER_CLASS = f"[{re.escape(_ENDER_CHARS)}]"
_NOT_ENDER_CLASS = f"[^{re.escape(_ENDER_CHARS)}]"
_CLOSER_CLASS = f"[{re.escape(_CLOSER_CHARS)}]"
# a quotation mark, or a run of enders and the closers after it (group 1): the same matches as
# ``quote|ender+(closer*)``, written to start with one character class so that re skips to the
# next quotation mark or ender in C (an alternation tries a match at every position: ~3× the cost)
_QUOTE_OR_ENDER_RUN = re.compile(
    f"[{''.join(_OPEN_CLOSE)}{_QUOTE_CLOSERS}{re.escape(_ENDER_CHARS)}]"
    f"(?:(?<={_ENDER_CLASS}){_ENDER_CLASS}*({_CLOSER_CLASS}*))?"
)
_PLAIN_SENTENCE = re.compile(
    f"{_NOT_ENDER_CLASS}*{_ENDER_CLASS}+{_CLOSER_CLASS}*|{_NOT_ENDER_CLASS}+$"
)
# split_sentences' plain split with every piece stripped, read in place: a piece starts at a
# non-space character (re's \s is str.strip's whitespace) and ends after a run of enders (and
# the closers after it) or, with no ender left, at the paragraph's last non-space character
_STRIPPED_SENTENCE = re.compile(
    f"(?=\\S)(?:{_NOT_ENDER_CLASS}*{_ENDER_CLASS}+{_CLOSER_CLASS}*"
    f"|{_NOT_ENDER_CLASS}*[^{re.escape(_ENDER_CHARS)}\\s](?=\\s*\\Z))"
)
_CJK_RANGES = ((0x3007, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_CJK_CLASS = "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in _CJK_RANGES) + "]"
_VECTORISED_GRAMS = 256  # texts this long take cjk_grams' numpy path
_CJK_RUN = re.compile(f"{_CJK_CLASS}+")
_UINT32 = next(code for code in "IL" if array(code).itemsize == 4)  # an array of code points
_UTF32 = f"utf-32-{sys.byteorder[0]}e"  # their encoding, in the machine's byte order
_SPACES_UTF32 = array(_UINT32, [ord(" ")])
_HAS_CJK_OR_ALNUM = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str) -> str:
    """NFC-normalise ``text``, drop invisible characters and collapse runs of spaces.

    Full-width spaces are kept: they separate paragraphs in the corpus format and are handled by
    the format readers. Line breaks are unified to ``\\n``.
    """
    text = unicodedata.normalize("NFC", text)
    if (  # nothing else to change (most texts): one scan for the characters that would be
        _TO_CHANGE.search(text) is None  # changed, and substring searches for the spaces
        and "  " not in text
        and "\n " not in text
        and " \n" not in text
        and not text.startswith(" ")
        and not text.endswith(" ")
    ):
        return text
    text = _INVISIBLE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # the spaces are collapsed in one pass over the whole text (no run spans a line break)
    return "\n".join(line.strip(" ") for line in _HSPACE.sub(" ", text).split("\n"))


def clean_paragraph(text: str) -> str:
    """A paragraph without surrounding (full-width) whitespace and with single inner spaces.

    Spaces between Chinese characters are kept: titles use them as separators
    (``党建引领发展 忠实履行使命``).
    """
    text = normalize(text).replace("\n", " ")
    return text.strip(" " + FULLWIDTH_SPACE)


@once
def _t2s() -> opencc.OpenCC:  # pragma: no cover - trivial
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``); other characters unchanged.

    A text holding nothing ``t2s`` can change (no character it converts, no phrase it converts,
    nothing past the BMP: :mod:`digests.t2sdata`) is returned as it is without asking OpenCC,
    which is most texts; OpenCC is loaded when a text first needs it. Not in a lean process
    (:mod:`digests.numeric`: the bot), which analyses an article now and then and whose memory
    budget the two searches (~0.7 MB once compiled) would strain."""
    if not text:
        return text
    if not numeric.is_lean():
        changes_alone, changing_phrases = _t2s_changes()
        if changes_alone.search(text) is None and changing_phrases.search(text) is None:
            return text
    simplified: str = _t2s().convert(text)
    return simplified


@once
def _t2s_changes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Searches for what ``t2s`` can change: one character class, one alternation of phrases.
    Every character past the BMP is in the class as one range (listed one by one, they kept re
    from holding the class as a bitmap, and its scan was far slower: docs/benchmarks.md)."""
    from .t2sdata import load

    changes_alone, changing_phrases = load()
    bmp = "".join(c for c in changes_alone if ord(c) <= 0xFFFF)
    alone = re.compile(f"[{re.escape(bmp)}\U00010000-\U0010ffff]")
    return alone, re.compile("|".join(map(re.escape, changing_phrases)) or "(?!)")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, verbatim (their concatenation is the paragraph).

    A sentence ends after a run of terminal punctuation (。！？；… !?;) plus any closing quotes or
    brackets that follow it. Inside a balanced quotation (“…”, 「…」) the paragraph is not split, so
    quoted speech stays whole; if the paragraph's quotes are unbalanced, quotes are ignored.
    """
    if not paragraph:
        return []
    if _has_quote_mark(paragraph):
        quoted = _split_quoted(paragraph)
        if quoted is not None:
            return quoted
    return list(filter(None, map(str.strip, _PLAIN_SENTENCE.findall(paragraph))))


def _has_quote_mark(text: str) -> bool:
    """True if ``text`` holds one of the quotation marks of ``_OPEN_CLOSE`` (eight substring
    searches cost a third of one regex scan over the text)."""
    return (
        "“" in text
        or "”" in text
        or "「" in text
        or "」" in text
        or "『" in text
        or "』" in text
        or "‘" in text
        or "’" in text
    )


def _split_quoted(paragraph: str) -> list[str] | None:
    """:func:`split_sentences` of a paragraph with quotation marks, or None if they do not nest.

    One scan over the quotation marks and the runs of enders (+ closers), in text order, keeps
    the stack of open quotations: a run ends a sentence outside any quotation, or when its first
    closer is the one that closes the outermost quotation (“……。”).
    """
    open_quotes: list[str] = []
    sentences: list[str] = []
    start = 0
    for match in _QUOTE_OR_ENDER_RUN.finditer(paragraph):
        closers = match.group(1)
        if closers is None:  # a quotation mark between the runs
            mark = match.group()
            if mark in _OPEN_CLOSE:
                open_quotes.append(mark)
                continue
            closers = mark  # a closing one, checked as the closers after a run are
        elif not open_quotes or (
            len(open_quotes) == 1 and closers and closers[0] in _QUOTE_CLOSERS
        ):
            sentences.append(paragraph[start : match.end()])
            start = match.end()
        for closer in closers:  # the quotations closed here must be the innermost open ones
            opener = _OPENER_OF.get(closer)
            if opener is not None and (not open_quotes or open_quotes.pop() != opener):
                return None
    if open_quotes:
        return None
    sentences.append(paragraph[start:])
    return list(filter(None, map(str.strip, sentences)))


def sentence_spans(paragraphs: list[str], body: str) -> tuple[list[str], list[int], list[int]]:
    """The sentences of ``paragraphs``, where they lie in ``body`` (the paragraphs joined by line
    breaks) and which have no final punctuation.

    A subheading (:func:`is_subheading`) is one sentence, whole; other paragraphs are cut as
    :func:`split_sentences` cuts them, those without quotation marks read in place (one regex
    pass, stripped by it). Returns the sentences, their offsets in ``body`` (start, end, start,
    end …) and the indices of the sentences without final punctuation (subheadings included):
    a piece ends after a run of enders unless it is the last of its paragraph.
    """
    texts: list[str] = []
    bounds: list[int] = []
    unfinished: list[int] = []
    start = 0
    for paragraph in paragraphs:
        end = start + len(paragraph)
        if is_subheading(paragraph):
            pieces = [paragraph]
        else:
            quoted = _split_quoted(paragraph) if _has_quote_mark(paragraph) else None
            pieces = _STRIPPED_SENTENCE.findall(body, start, end) if quoted is None else quoted
        if pieces:
            cursor = start
            for piece in pieces:
                cursor = body.find(piece, cursor)
                bounds.append(cursor)
                cursor += len(piece)
                bounds.append(cursor)
            texts += pieces
            if not ends_with_terminal(pieces[-1]):
                unfinished.append(len(texts) - 1)
        start = end + 1
    return texts, bounds, unfinished


def ends_with_terminal(text: str) -> bool:
    """True when ``text`` ends with sentence-final punctuation (closing quotes ignored)."""
    stripped = text.rstrip(_CLOSERS_AND_SPACE)
    return bool(stripped) and stripped[-1] in _ENDERS


def is_subheading(paragraph: str, max_chars: int = 30) -> bool:
    """A short paragraph with no final punctuation, e.g. ``当好“贴心人”``."""
    return 0 < len(paragraph) <= max_chars and not ends_with_terminal(paragraph)


@lru_cache(maxsize=1)
def _segmenter() -> Any:  # pragma: no cover - trivial
    """jieba-rs, imported on first use: the import builds its dictionary (~33 MB, ~60 ms), which
    a process that never segments (the bot until its first search) need not pay for."""
    import rjieba

    return rjieba


def tokenize(text: str) -> list[str]:
    """Tokens of ``text`` (jieba's precise mode with HMM, via jieba-rs), whitespace dropped."""
    return [t for t in _segmenter().cut(text) if t.strip()]


def raw_tokens(text: str) -> list[str]:
    """Tokens of ``text`` including whitespace: they concatenate back to ``text``."""
    tokens: list[str] = _segmenter().cut(text)
    return tokens


def has_word(word: str) -> bool:
    """True if ``word`` is in the segmentation dictionary with a positive frequency (jieba's
    ``FREQ.get(word)``, which is 0 for the prefixes it also stores)."""
    return bool(_segmenter().has_word(word))


def is_word(token: str) -> bool:
    """Tokens worth indexing: they contain a CJK character, a letter or a digit."""
    return bool(_HAS_CJK_OR_ALNUM.search(token))


def index_terms(tokens: Iterable[str]) -> str:
    """The space-joined token stream stored in the full-text index (punctuation dropped, each
    word as :func:`digests.wordindex.index_form` gives it)."""
    return " ".join(index_form(t) for t in tokens if is_word(t))


def cjk_grams(text: str) -> str:
    """The CJK runs of ``text`` as overlapping character pairs, each run closed by its last
    character alone: ``第六师，兵团`` → ``第六 六师 师 兵团 团``.

    Stored beside the words in the search index, they make every string of two or more CJK
    characters findable whatever the segmentation did to it (``六师`` inside ``第六/师``): a
    string is the phrase of its pairs (:func:`gram_phrase`). The closing character keeps the
    pairs of two runs from being adjacent, so no phrase matches across punctuation.

    Built without one string object per pair, run by run for a short text (a title) and with
    numpy for a longer one (:func:`_cjk_grams_vectorised`, whose fixed cost a body repays) unless
    the process is lean (:mod:`digests.numeric`).
    """
    if len(text) >= _VECTORISED_GRAMS and not numeric.is_lean():
        return _cjk_grams_vectorised(text)
    return _cjk_grams_by_runs(text)


def _cjk_grams_by_runs(text: str) -> str:
    """:func:`cjk_grams`: every CJK character is followed by its right neighbour in the run (a
    NUL placeholder after a run's last character) and a space, the three columns laid out in one
    UTF-32 array by strided assignment; the placeholders are then deleted."""
    runs = _CJK_RUN.findall(text)
    if not runs:
        return ""
    lefts = "".join(runs)  # every CJK character, in order
    rights = "\0".join([run[1:] for run in runs]) + "\0"  # the character after each, or NUL
    out = _SPACES_UTF32 * (3 * len(lefts))  # columns: left, right, space
    out[0::3] = array(_UINT32, lefts.encode(_UTF32))
    out[1::3] = array(_UINT32, rights.encode(_UTF32))
    return out.tobytes().decode(_UTF32)[:-1].replace("\0", "")


def _cjk_grams_vectorised(text: str) -> str:
    """:func:`cjk_grams` over the code points as a numpy array, in a fixed number of passes:
    every character gets a row (itself, the next character, a space), a row is kept for a CJK
    character and its middle cell only when the next character is CJK too, and the kept cells,
    read in order, are the pairs (the last space dropped)."""
    np, is_cjk_point = _cjk_table()
    points = np.frombuffer(f"{text}\0".encode(_UTF32, "surrogatepass"), np.uint32)
    cjk = is_cjk_point.take(points, mode="clip").view(bool)  # past the BMP: the last, 0
    n = len(text)
    rows = np.empty((n, 3), np.uint32)
    rows[:, 0] = points[:-1]
    rows[:, 1] = points[1:]
    rows[:, 2] = ord(" ")
    keep = np.empty((n, 3), bool)
    keep[:, 0] = keep[:, 2] = cjk[:-1]
    np.logical_and(cjk[:-1], cjk[1:], out=keep[:, 1])
    kept = rows.ravel()[keep.ravel()]
    return kept[:-1].tobytes().decode(_UTF32) if len(kept) else ""


@lru_cache(maxsize=1)
def _cjk_table() -> tuple[Any, Any]:
    """numpy (imported on first use) and a table of the BMP: 1 for the code points of
    ``_CJK_CLASS``, 0 for the others."""
    numpy = numeric.numpy()
    table = numpy.zeros(0x10000, numpy.uint8)
    for first, last in _CJK_RANGES:
        table[first : last + 1] = 1
    return numpy, table


def gram_phrase(text: str) -> list[str]:
    """The character pairs of a CJK string of two or more characters (its phrase over
    :func:`cjk_grams`)."""
    return list(map(str.__add__, text[:-1], text[1:]))


def is_cjk(text: str) -> bool:
    """True if ``text`` is one run of CJK characters (what :func:`cjk_grams` indexes)."""
    return _CJK_RUN.fullmatch(text) is not None
