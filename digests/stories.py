"""Near-duplicate stories: the same news reposted by several sources is one story.

Each article from a source gets a MinHash signature (``NUM_PERM`` hash functions, numpy) of the
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
a dozen lines of numpy. Delivery planning sends a story once per chat; the article card lists
the other sources as "also reported by"; keyword search shows one result per story.
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
import zlib
from dataclasses import dataclass

import numpy as np

from .store import Store
from .text import to_simplified

NUM_PERM = 64
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 3
THRESHOLD = 0.4
WINDOW_DAYS = 14.0
SEED = 1
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
_RNG = np.random.RandomState(SEED)
_A = _RNG.randint(1, 2**32, NUM_PERM, dtype=np.uint64)
_B = _RNG.randint(0, 2**32, NUM_PERM, dtype=np.uint64)
_PRIME = np.uint64(4294967311)


def shingles(paragraphs: list[str], k: int = SHINGLE) -> set[bytes]:
    text = _NOT_TEXT.sub("", to_simplified("".join(paragraphs)))
    if len(text) <= k:
        return {text.encode("utf-8")} if text else set()
    return {text[i : i + k].encode("utf-8") for i in range(len(text) - k + 1)}


def signature(paragraphs: list[str], k: int = SHINGLE) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32 minima) of the body's ``k``-shingles.

    Each shingle's CRC-32 goes through ``NUM_PERM`` universal hash functions
    ``(a·x + b) mod p`` (p = 2³² + 15, a prime; the products fit in 64 bits), and the minimum of each
    is kept: two bodies agree on a minimum with probability equal to their Jaccard similarity.
    """
    grams = shingles(paragraphs, k)
    if not grams:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    hashes = np.fromiter((zlib.crc32(g) for g in grams), dtype=np.uint64, count=len(grams))
    permuted = (np.outer(hashes, _A) + _B) % _PRIME
    minima: np.ndarray = (permuted.min(axis=0) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return minima


def band_keys(values: np.ndarray) -> list[int]:
    """One 63-bit key per band (band number mixed in, so equal values in different bands differ)."""
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=struct.pack("<Q", band)).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return keys


def to_blob(values: np.ndarray) -> bytes:
    return values.astype(np.uint32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal minima."""
    return float(np.count_nonzero(a == b)) / len(a)


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
