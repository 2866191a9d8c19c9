"""Near-duplicate stories: the same news reposted by several sources is one story.

Each article from a source gets a MinHash signature (``NUM_PERM`` hash functions) of the
character ``SHINGLE``-grams of its body (OpenCC-simplified, without spaces and punctuation: a
repost with an edited headline, a different byline or a dropped paragraph keeps most of them).
Locality-sensitive hashing is done in SQL: the signature is cut into ``BANDS`` bands and each band's
hash is a row of ``article_bands``, so the candidates of a new article are the recent articles
(``WINDOW_DAYS``) sharing a band, whatever the process or the size of the corpus. A candidate
whose estimated Jaccard similarity reaches ``THRESHOLD`` makes the new article a member of its
story (``article_stories.story`` = the first article's seq); otherwise the article starts one.

The threshold and shingle size come from the labelled set in ``tests/data/stories/`` (precision and
recall in docs/sources.md). MinHash is written here rather than taken from datasketch: importing
datasketch loads scipy, +57 MB of RSS in the bot's process against its 200 MB target, for what is
a dozen lines of numpy; a lean process (the bot, :mod:`digests.numeric`) computes the same
signatures in plain Python. Delivery planning sends a story once per chat; the article card lists
the other sources as "also reported by"; keyword search shows one result per story.
"""

from __future__ import annotations

import hashlib
import operator
import re
import struct
import time
import zlib
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

from . import numeric
from .store import Store
from .text import to_simplified

if TYPE_CHECKING:
    import numpy

#: A signature: ``NUM_PERM`` uint32 minima, a numpy array or (in a lean process) an ``array("I")``.
Signature: TypeAlias = "numpy.ndarray | array[int]"

NUM_PERM = 64
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 3
THRESHOLD = 0.4
WINDOW_DAYS = 14.0
SEED = 1
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
# The hash functions' coefficients: the first draws of numpy.random.RandomState(SEED),
# ``randint(1, 2**32, NUM_PERM)`` then ``randint(0, 2**32, NUM_PERM)`` (uint64; tests check it),
# written out so that a lean process does not import numpy to get them.
# fmt: off
_A = (
    1791095846, 4282876140, 3093770125, 4005303369, 491264, 550290314, 1298508492,
    4290846342, 630311760, 1013994433, 396591249, 1703301250, 799981517, 1666063944,
    1484172014, 2876537341, 1704103303, 4018109722, 2314200243, 3634877717, 1800426751,
    1345499494, 2942995347, 2252917205, 878115724, 1904615677, 3771485675, 986026653,
    117628830, 2295290255, 2879636019, 3925436997, 1792310488, 1963679704, 2399554538,
    1849836274, 602957304, 4033523167, 850839393, 3343156311, 3439171726, 3075069930,
    4158651786, 3447817224, 1346146624, 398576446, 2973502999, 2225448250, 3764062722,
    3715233665, 3842306365, 3561158866, 365262089, 3563119321, 167739022, 1172740724,
    729416112, 254447595, 3771593338, 2879896009, 422396447, 2547197000, 1808643460,
    2884732359,
)
_B = (
    4114104213, 1768615473, 2289927481, 848474627, 2971589572, 1243949848, 1355129329,
    610401323, 2948499020, 3364310042, 3584689972, 1771840848, 78547565, 146764659,
    3221845289, 2680188370, 4247126031, 2837408832, 3213347012, 1282027545, 1204497775,
    1916133090, 3389928919, 954017671, 443352346, 315096729, 1923688040, 2015364118,
    3902387977, 413056707, 1261063143, 3879945342, 1235985687, 513207677, 558468452,
    2253996187, 83180453, 359158073, 2915576403, 3937889446, 908935816, 3910346016,
    1140514210, 1283895050, 2111290647, 2509932175, 229190383, 2430573655, 2465816345,
    2636844999, 630194419, 4108289372, 2531048010, 1120896190, 3005439278, 992203680,
    439523032, 2291143831, 1778356919, 4079953217, 2982425969, 2117674829, 1778886403,
    2321861504,
)
# fmt: on
_PRIME = 4294967311
_EMPTY = 0xFFFFFFFF


def shingles(paragraphs: list[str], k: int = SHINGLE) -> set[bytes]:
    text = _NOT_TEXT.sub("", to_simplified("".join(paragraphs)))
    if len(text) <= k:
        return {text.encode("utf-8")} if text else set()
    return {text[i : i + k].encode("utf-8") for i in range(len(text) - k + 1)}


def signature(paragraphs: list[str], k: int = SHINGLE) -> Signature:
    """The MinHash signature (``NUM_PERM`` uint32 minima) of the body's ``k``-shingles.

    Each shingle's CRC-32 goes through ``NUM_PERM`` universal hash functions
    ``(a·x + b) mod p`` (p = 2³² + 15, a prime; the products fit in 64 bits), and the minimum of each
    is kept: two bodies agree on a minimum with probability equal to their Jaccard similarity.
    numpy computes them, or :func:`plain_minima` in a lean process (the same integers).
    """
    hashes = [zlib.crc32(g) for g in shingles(paragraphs, k)]
    return plain_minima(hashes) if numeric.is_lean() else numpy_minima(hashes)


def numpy_minima(hashes: list[int]) -> numpy.ndarray:
    """:func:`plain_minima` with numpy, for bulk work."""
    np = numeric.numpy()
    minima: numpy.ndarray
    if not hashes:
        minima = np.full(NUM_PERM, _EMPTY, dtype=np.uint32)
        return minima
    a, b, prime = _numpy_coefficients()
    permuted = (np.outer(np.array(hashes, dtype=np.uint64), a) + b) % prime
    minima = (permuted.min(axis=0) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return minima


def plain_minima(hashes: list[int]) -> array[int]:
    """The signature of shingles hashed to ``hashes`` (CRC-32s), in plain Python: for each hash
    function, the least ``(a·x + b) mod p`` over the hashes, its low 32 bits kept (a value in
    [2³², p) wraps, as numpy's uint32 cast does); all ``0xFFFFFFFF`` when there are none."""
    if not hashes:
        return array("I", [_EMPTY] * NUM_PERM)
    p = _PRIME
    coefficients = zip(_A, _B, strict=True)
    minima = [min([(a * x + b) % p for x in hashes]) & 0xFFFFFFFF for a, b in coefficients]
    return array("I", minima)


@lru_cache(maxsize=1)
def _numpy_coefficients() -> tuple[Any, Any, Any]:
    np = numeric.numpy()
    return np.array(_A, dtype=np.uint64), np.array(_B, dtype=np.uint64), np.uint64(_PRIME)


def band_keys(values: Signature) -> list[int]:
    """One 63-bit key per band (band number mixed in, so equal values in different bands differ)."""
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=struct.pack("<Q", band)).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return keys


def to_blob(values: Signature) -> bytes:
    return values.tobytes()  # uint32s, native byte order: the layout stored since the first one


def from_blob(blob: bytes) -> Signature:
    np = numeric.numpy()
    if np is None:
        plain = array("I")
        plain.frombytes(blob)  # also from a memoryview (array("I", view) would take its bytes)
        return plain
    values: numpy.ndarray = np.frombuffer(blob, dtype=np.uint32)
    return values


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal minima (one path for
    numpy's arrays and plain ones: 64 comparisons)."""
    same = sum(map(operator.eq, a, b))
    return int(same) / len(a)


@dataclass
class Link:
    seq: int
    story: int
    similarity: float  # with the closest member (0 when it starts a story)


def link_article(
    store: Store,
    seq: int,
    title: str,
    paragraphs: list[str],
    *,
    now: float | None = None,
    commit: bool = True,
) -> Link:
    """Put article ``seq`` into the story of its nearest recent near-duplicate, or a new one
    (``commit=False`` inside the caller's transaction)."""
    now = time.time() if now is None else now
    mine = signature(paragraphs)
    keys = band_keys(mine)
    best, best_sim = seq, 0.0
    for other, story, blob in store.story_candidates(keys, since=now - WINDOW_DAYS * 86400):
        if other == seq:
            continue
        sim = similarity(mine, from_blob(blob))
        if sim >= THRESHOLD and sim > best_sim:
            best, best_sim = story, sim
    store.save_story(seq, best, to_blob(mine), keys, now, commit=commit)
    return Link(seq, best, best_sim)
