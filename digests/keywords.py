"""TF-IDF keyword extraction over pre-segmented (jieba) tokens, with a memory-cheap IDF table.

`Idf.default()` reads jieba's bundled ``analyse/idf.txt`` (~270k terms) into one sorted UTF-8
blob + an ``array('I')`` of offsets + an ``array('f')`` of values and looks terms up in an
open-addressing hash table of 4-byte slots (an ``array('I')`` too, built on the first miss;
a lean process, which looks up few terms, searches the sorted blob instead and builds none),
instead of the ``dict[str, float]`` that ``jieba.analyse`` builds, a small fraction of its
memory (sizes in docs/benchmarks.md, "Figures behind the code"). ``jieba.analyse`` is
deliberately never imported: importing it loads that dict.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import operator
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from itertools import compress, repeat
from pathlib import Path
from typing import Any, BinaryIO
from zlib import crc32

from . import numeric
from .once import once

__all__ = [
    "Idf",
    "extract_keywords",
    "is_candidate_term",
    "is_numeral",
    "load_stopwords",
    "place_fragments",
    "rank_keywords",
]

STOPWORDS_PATH = Path(__file__).resolve().parent / "data" / "stopwords.txt"
CACHE_FORMAT = 1  # bump when the cached form of the IDF table changes
_CACHE_MAGIC = b"digestbot-idf\n"
_CACHE_HEADER = struct.Struct("<14sQQd")  # magic, terms, blob bytes, default value

log = logging.getLogger(__name__)

#: Multiplier for terms that also occur in the title ("modest boost").
TITLE_BOOST = 1.5
#: Longest token (in characters) that may become a keyword.
MAX_TERM_CHARS = 8
_MEMO_SIZE = 100_000  # terms remembered after their first lookup (~10 MB at most)
_CHILD_TIMEOUT = 120.0  # seconds for a child process to build jieba's table (~0.5 s)
_LEAN_MEMO_SIZE = 10_000  # the same in a lean process (the bot), which analyses now and then
#: A number, in digits or Chinese numerals, with what counts it: 十四, 第十四, 四十七, 千余座,
#: 3000万元, 数十. Not 十九大, 两会, 三农, 一带一路 (the last character is no measure word).
_NUMERAL = re.compile(
    "第?[数几]?[0-9０-９零〇一二三四五六七八九十百千万亿两.．点%％]+"
    "[余多个只名人位家座次条项件篇年月日天号岁元角分万亿届期批场所户亩吨米倍层页轮段级度]*"
)


@cache
def load_stopwords() -> frozenset[str]:
    """Stop words from ``digests/data/stopwords.txt`` (one per line; cached)."""
    text = STOPWORDS_PATH.read_text(encoding="utf-8")
    return frozenset(w for w in (line.strip() for line in text.splitlines()) if w)


def _jieba_idf_path() -> Path:
    """Path of jieba's bundled ``analyse/idf.txt``, found without importing jieba."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("jieba is not installed; cannot locate analyse/idf.txt")
    return Path(spec.origin).resolve().parent / "analyse" / "idf.txt"


class Idf:
    """Memory-cheap IDF table.

    Three layers are consulted in order: a small ``dict`` of overrides (used for corpus-learnt
    IDF), a compact sorted blob (used for jieba's 270k-term table), then ``fallback`` (another
    ``Idf``), and finally ``default_value`` (the median IDF of the table).
    """

    __slots__ = (
        "_blob",
        "_fallback",
        "_highest",
        "_memo",
        "_offsets",
        "_slots",
        "_table",
        "_values",
        "default_value",
    )

    def __init__(
        self,
        *,
        blob: bytes = b"",
        offsets: array[int] | None = None,
        values: array[float] | None = None,
        table: Mapping[str, float] | None = None,
        fallback: Idf | None = None,
        default_value: float = 0.0,
    ) -> None:
        self._blob = blob
        self._offsets = offsets if offsets is not None else array("I", [0])
        self._values = values if values is not None else array("f")
        if len(self._offsets) != len(self._values) + 1:
            raise ValueError("offsets must have exactly one more entry than values")
        self._table = dict(table) if table else {}
        self._fallback = fallback
        self.default_value = default_value
        self._memo = _Memo(self)
        self._slots: array[int] | None = None  # built on the first miss (or warm): _hash_slots
        self._highest: float | None = None  # computed on first use (or warm): highest

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, float]]) -> Idf:
        """Compact table from ``(term, idf)`` pairs; unknown terms get the median idf."""
        merged: dict[bytes, float] = {}
        for term, value in pairs:
            merged[term.encode("utf-8")] = float(value)
        return cls._from_bytes_items(sorted(merged.items()))

    @classmethod
    def from_file(cls, path: str | Path) -> Idf:
        """Compact table from a jieba-style ``term idf`` text file (one pair per line)."""
        # Sorting whole lines sorts by term: the separating space (0x20) is below every byte
        # a term can contain, so ``b"ab 1"`` < ``b"abc 1"``. The blob is then appended to in
        # place, so no 270k-entry dict or list of tuples is ever built (transient peak ~25 MB).
        lines = sorted(Path(path).read_bytes().splitlines())
        blob = bytearray()
        offsets = array("I", [0])
        values = array("f")
        previous = b""
        for line in lines:
            term, sep, value = line.strip().rpartition(b" ")
            term = term.strip()
            if not sep or not term:
                continue
            try:
                number = float(value)
            except ValueError:
                continue
            if term == previous:  # duplicate term: keep the last line, like dict() would
                values[-1] = number
                continue
            blob += term
            offsets.append(len(blob))
            values.append(number)
            previous = term
        del lines
        median = statistics.median(values) if values else 0.0
        return cls(blob=bytes(blob), offsets=offsets, values=values, default_value=float(median))

    @classmethod
    def _from_bytes_items(cls, items: list[tuple[bytes, float]]) -> Idf:
        offsets = array("I", [0])
        values = array("f")
        position = 0
        for term, value in items:
            position += len(term)
            offsets.append(position)
            values.append(value)
        blob = b"".join(term for term, _ in items)
        median = statistics.median(values) if values else 0.0
        return cls(blob=blob, offsets=offsets, values=values, default_value=float(median))

    @classmethod
    def default(cls) -> Idf:
        """jieba's bundled IDF table (built on first use, by one thread, kept compact), cached on
        disk in the system's temporary directory, next to jieba's own dictionary cache."""
        return _jieba_table()

    @classmethod
    def from_jieba(cls, cache_dir: Path) -> Idf:
        """jieba's bundled IDF table, through a cache file in ``cache_dir``.

        Building the table from the 270k-line text file takes ~0.4 s (in every ingest worker and
        every bot start), so the compact form is written to ``cache_dir``, keyed by the source
        file's size and mtime, and read back in a few milliseconds by later processes.
        """
        source = _jieba_idf_path()
        stat = source.stat()
        cached = cache_dir / f"digestbot.idf.{CACHE_FORMAT}.{stat.st_size}.{stat.st_mtime_ns}.cache"
        for attempt in (1, 2):
            try:
                with cached.open("rb") as fh:
                    return cls._read_cache(fh)
            except FileNotFoundError:
                pass
            except (ValueError, struct.error):  # damaged or foreign: rebuild it
                log.warning("ignoring the unreadable IDF cache %s", cached)
            if attempt == 2 or not numeric.is_lean():
                break
            _cache_in_child(cache_dir)  # then read what it wrote
        idf = cls.from_file(source)
        try:
            partial = cached.with_name(f"{cached.name}.{os.getpid()}.part")
            partial.write_bytes(idf._to_cache())
            partial.replace(cached)  # atomic: concurrent processes never read half a file
        except OSError as exc:
            log.info("cannot cache the IDF table in %s: %s", cached.parent, exc)
        return idf

    def _to_cache(self) -> bytes:
        """The compact table as bytes (data only: a header, the blob and the two arrays)."""
        header = _CACHE_HEADER.pack(
            _CACHE_MAGIC, len(self._values), len(self._blob), self.default_value
        )
        return header + self._blob + self._offsets.tobytes() + self._values.tobytes()

    @classmethod
    def _read_cache(cls, fh: BinaryIO) -> Idf:
        """The table from its cached form, read part by part into place (no copy of the whole
        file is held beside it)."""
        header = fh.read(_CACHE_HEADER.size)
        if len(header) != _CACHE_HEADER.size:
            raise ValueError("truncated IDF cache")
        magic, n, blob_len, default_value = _CACHE_HEADER.unpack(header)
        if magic != _CACHE_MAGIC:
            raise ValueError("not an IDF cache")
        offsets, values = array("I"), array("f")
        blob = fh.read(blob_len)
        try:
            offsets.fromfile(fh, n + 1)
            values.fromfile(fh, n)
        except EOFError as exc:
            raise ValueError("truncated IDF cache") from exc
        if len(blob) != blob_len or fh.read(1):
            raise ValueError("truncated IDF cache")
        if offsets[-1] != blob_len:
            raise ValueError("inconsistent IDF cache")
        return cls(blob=blob, offsets=offsets, values=values, default_value=default_value)

    @classmethod
    def from_document_frequencies(
        cls, df: Mapping[str, int], n_docs: int, fallback: Idf | None = None
    ) -> Idf:
        """IDF learnt from a corpus: ``log((N + 1) / (df + 1)) + 1`` (smoothed).

        Terms absent from ``df`` are looked up in ``fallback``; without a fallback they get
        the value of ``df = 0``. Note that jieba's table is on a different scale (≈ 2–14 vs
        ≈ 1–log N), so with a fallback, unseen terms rank as rarer than corpus terms.
        """
        if n_docs < 0:
            raise ValueError("n_docs must be >= 0")
        unseen = math.log(n_docs + 1) + 1.0
        # Compact like jieba's table, with double-precision values (a dict of every term would
        # hold ~130 bytes per term). Terms coming in byte order (the store's index gives them so,
        # one row at a time) are appended as they come; otherwise they are sorted first.
        blob, offsets, values = bytearray(), array("I", [0]), array("d")
        previous = b""
        for term, count in df.items():
            if count < 0:
                continue
            key = term.encode("utf-8")
            if key <= previous and len(values):
                break
            blob += key
            offsets.append(len(blob))
            values.append(math.log((n_docs + 1) / (count + 1)) + 1.0)
            previous = key
        else:
            return cls(
                blob=bytes(blob), offsets=offsets, values=values, fallback=fallback,
                default_value=unseen,
            )  # fmt: skip
        del blob, offsets, values
        merged = {
            t.encode("utf-8"): math.log((n_docs + 1) / (c + 1)) + 1.0 for t, c in df.items() if c >= 0
        }
        pairs = sorted(merged.items())
        del merged
        offsets, values = array("I", [0]), array("d")
        for key, value in pairs:
            offsets.append(offsets[-1] + len(key))
            values.append(value)
        blob_bytes = b"".join(key for key, _ in pairs)
        return cls(
            blob=blob_bytes, offsets=offsets, values=values, fallback=fallback, default_value=unseen
        )

    # -- lookup --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._values) + len(self._table)

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        return term in self._table or self._index(term.encode("utf-8")) >= 0

    def _index(self, key: bytes) -> int:
        """Position of ``key`` among the terms, or -1: a probe of :meth:`_hash_slots`, or in a
        lean process (:func:`numeric.is_lean`) a binary search (:meth:`_search`)."""
        if not key:  # the empty term sorts first; never looked up
            return -1
        if self._slots is None:
            if numeric.is_lean():
                return self._search(key)
            self._slots = self._hash_slots()
        slots, blob, offsets = self._slots, self._blob, self._offsets
        size = len(slots)
        slot = crc32(key) % size
        while entry := slots[slot]:
            index = entry - 1
            if blob[offsets[index] : offsets[index + 1]] == key:
                return index
            slot = slot + 1 if slot + 1 < size else 0
        return -1

    def _search(self, key: bytes) -> int:
        """Position of ``key`` among the terms, or -1, by a binary search of the sorted blob (the
        leftmost of duplicates, as :meth:`_index` finds it): about ten Python-level steps where a
        probe of the slots takes one or two, and no slots held (a lean process looks up few
        terms, and each once: :class:`_Memo`)."""
        blob, offsets = self._blob, self._offsets
        n = len(self._values)
        index = bisect_left(range(n), key, key=lambda i: blob[offsets[i] : offsets[i + 1]])
        if index < n and blob[offsets[index] : offsets[index + 1]] == key:
            return index
        return -1

    def _hash_slots(self) -> array[int]:
        """An open-addressing hash table of the terms: ``slots[crc32(term) % size]`` (or the
        first non-empty slot after it holding the term, wrapping round) is the term's index + 1;
        0 marks an empty slot, where a lookup stops.

        The table is at most 60 % full (:func:`_slot_count`), so a lookup compares one or two
        terms where a binary search compares about ten, each a Python-level step; it takes about
        the memory the per-first-character ranges of that binary search took. A duplicate term
        keeps its first index, as a binary search for the leftmost match would find it.
        """
        blob, offsets = self._blob, self._offsets
        size = _slot_count(len(self._values))
        slots = array("I", [0]) * size
        for index in range(len(self._values)):
            slot = crc32(blob[offsets[index] : offsets[index + 1]]) % size
            while slots[slot]:
                slot = slot + 1 if slot + 1 < size else 0
            slots[slot] = index + 1
        return slots

    def _lookup(self, term: str) -> float:
        value = self._table.get(term)
        if value is not None:
            return value
        if self._values:
            index = self._index(term.encode("utf-8"))
            if index >= 0:
                return float(self._values[index])
        if self._fallback is not None:
            return self._fallback(term)
        return self.default_value

    def __call__(self, term: str) -> float:
        return self._memo[term]

    def warm(self) -> None:
        """Build the lookup structures now rather than on the first lookup (a process pool's
        parent does this once and its forked workers share the result)."""
        if self._values and self._slots is None and not numeric.is_lean():
            self._slots = self._hash_slots()
        self.highest()
        if self._fallback is not None:
            self._fallback.warm()

    def highest(self) -> float:
        """No look-up returns more than this (``inf`` when a NaN leaves the values unordered);
        computed once."""
        if self._highest is None:
            reachable = [
                self.default_value if self._fallback is None else self._fallback.highest(),
                max(self._values, default=-math.inf),
                max(self._table.values(), default=-math.inf),
            ]
            total = sum(reachable) + sum(self._values) + sum(self._table.values())
            self._highest = max(reachable) if total == total else math.inf
        return self._highest

    def values_of(self, terms: Iterable[str]) -> list[float]:
        """The idf of each of ``terms``, in order (one C-level pass over the memo)."""
        return list(map(self._memo.__getitem__, terms))

    def nbytes(self) -> int:
        """Approximate bytes held by the compact blob and arrays (excluding the override dict)."""
        return (
            len(self._blob)
            + self._offsets.itemsize * len(self._offsets)
            + self._values.itemsize * len(self._values)
        )


@once
def _jieba_table() -> Idf:
    return Idf.from_jieba(Path(tempfile.gettempdir()))


def _cache_in_child(cache_dir: Path) -> None:
    """Have a child process build jieba's table and write its cache file in ``cache_dir``.

    A lean process (the bot) starting without the cache file does not build the table itself:
    building it leaves several times the table's size resident (memory freed in between, which
    the process keeps) and peaks higher still. Should the child fail, the caller builds it.
    """
    if not sys.executable:
        return
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from digests.keywords import Idf; Idf.from_jieba(Path(sys.argv[2]))"
    )
    root = str(Path(__file__).resolve().parents[1])  # where this package is imported from
    try:
        subprocess.run(
            [sys.executable, "-c", code, root, str(cache_dir)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=_CHILD_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("could not have a child process cache the IDF table: %s", exc)


def _slot_count(terms: int) -> int:
    """Size of the hash table of ``terms`` terms (:meth:`Idf._hash_slots`): at most 60 % full."""
    return terms * 5 // 3 + 1


class _Memo(dict[str, float]):
    """``memo[term]``: the idf of ``term``, looked up in the table on its first use (a plain dict
    lookup after that, also from C: ``map(memo.__getitem__, terms)``)."""

    __slots__ = ("idf",)

    def __init__(self, idf: Idf) -> None:
        super().__init__()
        self.idf = idf

    def __missing__(self, term: str) -> float:
        if len(self) >= (_LEAN_MEMO_SIZE if numeric.is_lean() else _MEMO_SIZE):
            self.clear()
        value = self[term] = self.idf._lookup(term)
        return value


def is_candidate_term(token: str, stopwords: frozenset[str]) -> bool:
    """True if ``token`` may be a keyword: 2..MAX_TERM_CHARS chars, a letter, no stop word,
    no number (:func:`is_numeral`)."""
    term = token.strip()
    if len(term) < 2 or len(term) > MAX_TERM_CHARS or term != token:
        return False
    if not (term.isalpha() or any(ch.isalpha() for ch in term)):  # numbers, punctuation
        return False
    if is_numeral(term):
        return False
    return term not in stopwords and term.lower() not in stopwords


def is_numeral(token: str) -> bool:
    """True for a number with its measure word (十四, 第十四, 四十七, 千余座, 3000万元)."""
    return _NUMERAL.fullmatch(token) is not None


def place_fragments(
    tokens: Sequence[str], starts: Any, mentions: Sequence[tuple[int, int, str]]
) -> set[str]:
    """Tokens that cut through a place name the gazetteer found (``mentions``: start, end,
    code): a part of one (图木 of 图木舒克市) or one that straddles its edge (师昆玉市 of
    第十四师 + 昆玉市). A token that is the whole name, or holds it whole with ordinary words
    around it (喀什古城), is no fragment. ``starts`` (a sequence or a numpy array) is where each
    token starts, then where the last ends: ``[0, *accumulate(map(len, tokens))]``.

    The tokens cover the text, so a name lies inside one token exactly when a single token
    overlaps it; when two or more do, each is a fragment. The overlapping tokens of every name
    are found by two searches over ``starts`` (numpy, all names at once; ``bisect`` name by name
    in a lean process).
    """
    np = numeric.numpy()
    if np is None:
        firsts = [bisect_right(starts, start) - 1 for start, _, _ in mentions]
        ends = [bisect_left(starts, end) for _, end, _ in mentions]
    else:
        points = np.asarray(starts)
        n = len(mentions)
        lefts = np.fromiter(map(operator.itemgetter(0), mentions), np.intp, n)
        rights = np.fromiter(map(operator.itemgetter(1), mentions), np.intp, n)
        # the token holding each start, and past the last token starting inside each name
        firsts = (points.searchsorted(lefts, "right") - 1).tolist()
        ends = points.searchsorted(rights).tolist()
    fragments: set[str] = set()
    for first, end in zip(firsts, ends, strict=True):
        if end - first > 1:  # more than one token overlaps the name
            fragments.update(tokens[first:end])
    return fragments


def extract_keywords(
    tokens: Sequence[str],
    idf: Idf | None = None,
    *,
    top_k: int = 8,
    stopwords: frozenset[str] | None = None,
    title_tokens: Iterable[str] = (),
) -> list[str]:
    """TF-IDF keywords over tokens already produced by jieba.lcut (no re-segmentation).

    Skips stop words, single characters, pure numbers/punctuation/whitespace and tokens longer
    than ``MAX_TERM_CHARS``; terms that also occur in ``title_tokens`` get a ``TITLE_BOOST``.
    Deterministic order: score descending, then first occurrence.
    """
    if top_k <= 0:
        return []
    if stopwords is None:
        stopwords = load_stopwords()
    counts: dict[str, int] = {}
    for token in tokens:
        if token in counts:
            counts[token] += 1
        elif is_candidate_term(token, stopwords):
            counts[token] = 1
    return rank_keywords(counts, idf, top_k=top_k, title_tokens=title_tokens)


def rank_keywords(
    counts: Mapping[str, int],
    idf: Idf | None = None,
    *,
    top_k: int = 8,
    title_tokens: Iterable[str] = (),
) -> list[str]:
    """The ``top_k`` terms of ``counts`` (candidate term → occurrences, in order of first
    occurrence) by TF-IDF, title terms boosted; ties keep the earlier term.

    Most candidates occur once (~85 % in news text): outside the title their score is their idf,
    never above the table's highest (:meth:`Idf.highest`). The others are ranked first; when the
    ``top_k``-th of them scores above that bound, no term seen once can enter the ``top_k`` and
    those need neither an idf look-up nor a place in the sort. Otherwise every term is ranked.
    """
    if top_k <= 0 or not counts:
        return []
    if idf is None:
        idf = Idf.default()
    titled = set(filter(counts.__contains__, title_tokens))
    if titled:
        others = [term for term, count in counts.items() if count != 1 or term in titled]
    else:
        others = list(compress(counts, map(operator.ne, counts.values(), repeat(1))))
    if top_k <= len(others) < len(counts):
        scores = _scores(others, map(counts.__getitem__, others), idf, titled)
        best = _best(scores, top_k)
        total = sum(scores)  # NaN if one is: a sort's order then is no ranking to shorten
        if scores[best[-1]] > idf.highest() and total == total:
            return [others[i] for i in best]
    terms = list(counts)
    scores = _scores(terms, counts.values(), idf, titled)
    return [terms[i] for i in _best(scores, top_k)]


def _scores(terms: list[str], counts: Iterable[int], idf: Idf, titled: set[str]) -> list[float]:
    """count × idf of each of ``terms``, × ``TITLE_BOOST`` for the terms in ``titled`` (C-level
    ``map`` passes instead of a dict built term by term)."""
    scores = list(map(operator.mul, idf.values_of(terms), counts))  # float × int: one call
    for term in titled:
        scores[terms.index(term)] *= TITLE_BOOST
    return scores


def _best(scores: list[float], top_k: int) -> list[int]:
    """The positions of the ``top_k`` highest scores, a stable sort (ties keep their order)."""
    return sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:top_k]
