"""Near-duplicate stories: the same news reposted by several sources is one story.

Each article from a source gets a MinHash signature (datasketch, ``NUM_PERM`` permutations) of the
character ``SHINGLE``-grams of its body (OpenCC-simplified, without spaces and punctuation: a
repost with an edited headline, a different byline or a dropped paragraph keeps most of them).
Locality-sensitive hashing is done in SQL: the signature is cut into ``BANDS`` bands and each band's
hash is a row of ``article_bands``, so the candidates of a new article are the recent articles
(``WINDOW_DAYS``) sharing a band, whatever the process or the size of the corpus. A candidate
whose estimated Jaccard similarity reaches ``THRESHOLD`` makes the new article a member of its
story (``article_stories.story`` = the first article's seq); otherwise the article starts one.

The threshold and shingle size come from the labelled set in ``tests/data/stories/`` (precision and
recall in docs/sources.md). Delivery planning sends a story once per chat; the article card lists
the other sources as "also reported by"; keyword search shows one result per story.
"""

from __future__ import annotations

import hashlib
import re
import struct
import time
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

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
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED)  # permutations built once, copied per use


def shingles(paragraphs: list[str], k: int = SHINGLE) -> set[bytes]:
    text = _NOT_TEXT.sub("", to_simplified("".join(paragraphs)))
    if len(text) <= k:
        return {text.encode("utf-8")} if text else set()
    return {text[i : i + k].encode("utf-8") for i in range(len(text) - k + 1)}


def signature(paragraphs: list[str], k: int = SHINGLE) -> MinHash:
    m = MinHash(
        num_perm=NUM_PERM, seed=SEED, permutations=_TEMPLATE.permutations, scheme=_TEMPLATE.scheme
    )
    grams = shingles(paragraphs, k)
    if grams:
        m.update_batch(list(grams))
    return m


def band_keys(m: MinHash) -> list[int]:
    """One 63-bit key per band (band number mixed in, so equal values in different bands differ)."""
    values = m.hashvalues.astype(np.uint32)
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=struct.pack("<Q", band)).digest()
        keys.append(struct.unpack("<q", digest)[0] >> 1)
    return keys


def to_blob(m: MinHash) -> bytes:
    return m.hashvalues.astype(np.uint32).tobytes()


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
    store: Store, seq: int, title: str, paragraphs: list[str], *, now: float | None = None
) -> Link:
    """Put article ``seq`` into the story of its nearest recent near-duplicate, or a new one."""
    now = time.time() if now is None else now
    m = signature(paragraphs)
    keys = band_keys(m)
    mine = m.hashvalues.astype(np.uint32)
    best, best_sim = seq, 0.0
    for other, story, blob in store.story_candidates(keys, since=now - WINDOW_DAYS * 86400):
        if other == seq:
            continue
        sim = similarity(mine, from_blob(blob))
        if sim >= THRESHOLD and sim > best_sim:
            best, best_sim = story, sim
    store.save_story(seq, best, to_blob(m), keys, now)
    return Link(seq, best, best_sim)
