"""MinHash signatures in a lean process (the bot): the plain-Python path gives numpy's integers,
band keys and stored rows, and linking an article there never imports numpy."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from array import array

import numpy as np
import pytest

from benchmarks.stories_quality import labelled_set
from digests import numeric, stories
from digests.store import Store

from .conftest import ROOT
from .pgkit import BACKENDS, open_backend

_rng = random.Random(15)
EDGE_TEXTS = {
    "nothing": [],
    "empty": [""],
    "punctuation only": ["。，！？……“”《》 ——", "  \n\t", "!?.,;:-_()[]"],
    "one character": ["疆"],
    "two characters": ["新疆"],
    "three characters": ["新疆好"],
    "four characters": ["新疆好，好！"],
    "traditional": ["喀什地區今冬農村供暖改造惠及三萬戶，記者從住房和城鄉建設局了解到。"],
    "latin and digits": ["Urumqi 2026: GDP +5.3%, 第1师 123 km"],
    "astral and emoji": ["𠀀𠀁𠀂😀😀😀新疆"],
    "one repeated": ["长" * 5000 + "。"],
    "long random": ["".join(chr(_rng.randint(0x4E00, 0x4E00 + 3000)) for _ in range(6000))],
    "random with punctuation": [
        "".join(_rng.choice("新疆喀什，。 a1！") for _ in range(_rng.randint(0, 80)))
        for _ in range(12)
    ],
}
EDGE_HASHES = {
    "zero": [0],
    "largest": [0xFFFFFFFF],
    "both ends": [0, 1, 0xFFFFFFFE, 0xFFFFFFFF],
    "random": [_rng.getrandbits(32) for _ in range(3000)],
}


@pytest.fixture(scope="module")
def docs() -> list[tuple[str, str, list[str]]]:
    """The labelled set (slow to build: OpenCC makes the traditional reposts)."""
    return labelled_set()


def _signed(values: stories.Signature) -> tuple[list[int], list[int], bytes]:
    return [int(v) for v in values], stories.band_keys(values), stories.to_blob(values)


def _both(paragraphs: list[str]) -> tuple[tuple, tuple]:
    """(numpy's, plain) integers, band keys and blob of one body's signature."""
    fast = stories.signature(paragraphs)
    numeric.set_lean(True)
    try:
        plain = stories.signature(paragraphs)
    finally:
        numeric.set_lean(False)
    assert isinstance(fast, np.ndarray) and isinstance(plain, array)  # two paths were compared
    return _signed(fast), _signed(plain)


def test_the_written_out_coefficients_are_numpys_draws():
    rng = np.random.RandomState(stories.SEED)
    a = rng.randint(1, 2**32, stories.NUM_PERM, dtype=np.uint64)
    b = rng.randint(0, 2**32, stories.NUM_PERM, dtype=np.uint64)
    assert list(stories._A) == a.tolist() and list(stories._B) == b.tolist()


def test_plain_signatures_are_numpys_on_the_labelled_set(docs):
    assert len(docs) >= 100
    for label, title, paragraphs in docs:
        fast, plain = _both(paragraphs)
        assert plain == fast, (label, title)


@pytest.mark.parametrize("name", EDGE_TEXTS)
def test_plain_signatures_are_numpys_on_edge_texts(name):
    fast, plain = _both(EDGE_TEXTS[name])
    assert plain == fast


@pytest.mark.parametrize("name", EDGE_HASHES)
def test_plain_minima_are_numpys(name):
    hashes = EDGE_HASHES[name]
    assert stories.plain_minima(hashes).tolist() == stories.numpy_minima(hashes).tolist()


def test_a_minimum_past_two_to_the_32_wraps_the_same_way():
    """(a·x + b) mod p can be in [2³², p): both paths keep the minimum's low 32 bits."""
    a, b, p = stories._A[0], stories._B[0], stories._PRIME
    wraps, small = ((value - b) * pow(a, -1, p) % p for value in (2**32 + 7, 100))
    assert max(wraps, small) < 2**32 and (a * wraps + b) % p == 2**32 + 7
    alone = stories.plain_minima([wraps])
    assert alone[0] == 7 and alone.tolist() == stories.numpy_minima([wraps]).tolist()
    both = stories.plain_minima([wraps, small])  # the least is 100, not 7: the wrap comes after
    assert both[0] == 100 and both.tolist() == stories.numpy_minima([wraps, small]).tolist()


def test_empty_bodies_have_the_all_ones_signature(lean):
    assert stories.signature([]).tolist() == [0xFFFFFFFF] * stories.NUM_PERM


def test_plain_similarity_reads_numpys_blobs(docs, lean):
    """A lean process compares its signatures with blobs a numpy process stored, and back."""
    plain = [stories.signature(p) for _, _, p in docs[:10]]
    numeric.set_lean(False)
    fast = [stories.signature(p) for _, _, p in docs[:10]]
    fast_sims = [stories.similarity(s, stories.from_blob(stories.to_blob(t))) for s in fast for t in plain]
    numeric.set_lean(True)
    plain_sims = [stories.similarity(s, stories.from_blob(stories.to_blob(t))) for s in plain for t in fast]
    assert plain_sims == fast_sims
    assert any(0 < s < 1 for s in plain_sims) and any(s == 1 for s in plain_sims)
    blob = stories.to_blob(fast[0])
    assert stories.from_blob(memoryview(blob)).tolist() == fast[0].tolist()


def _link_all(docs: list, store: Store) -> dict[str, list[tuple]]:
    """Link the labelled set into ``store`` (shuffled); its story and band rows."""
    order = list(range(len(docs)))
    random.Random(1).shuffle(order)
    for n, i in enumerate(order, 1):
        stories.link_article(store, n, docs[i][1], docs[i][2], now=1_000_000.0 + n)
    queries = {
        "article_stories": "SELECT seq, story, sig, added FROM article_stories ORDER BY seq",
        "article_bands": "SELECT band, seq FROM article_bands ORDER BY band, seq",
    }
    if not hasattr(store, "connection"):  # SQLite
        return {table: store.conn.execute(sql).fetchall() for table, sql in queries.items()}
    with store.connection() as conn:  # PostgreSQL's pool
        return {table: [tuple(row) for row in conn.execute(sql)] for table, sql in queries.items()}


@pytest.mark.parametrize("kind", BACKENDS)
def test_linking_lean_writes_numpys_rows(docs, tmp_path, kind):
    with open_backend("sqlite", tmp_path) as store:
        fast = _link_all(docs, store)
    numeric.set_lean(True)
    try:
        with open_backend(kind, tmp_path) as store:
            plain = _link_all(docs, store)
    finally:
        numeric.set_lean(False)
    assert len(fast["article_stories"]) == len(docs)
    assert len({row[1] for row in fast["article_stories"]}) < len(fast["article_stories"])
    assert plain == fast


def test_linking_an_article_in_a_lean_process_never_imports_numpy(tmp_path):
    """The bot's case, in a new database: making it (the migrations import sqlite-utils, which
    imports numpy when it is installed) and linking articles into it leave numpy unloaded."""
    script = textwrap.dedent(
        """
        import sys
        from digests import numeric
        numeric.set_lean()
        from digests import stories
        from digests.store import Store
        body = ["喀什地区今冬农村供暖改造惠及三万户。" * 20, "记者从住建局了解到。"]
        with Store(sys.argv[1]) as store:
            assert "sqlite_utils" in sys.modules  # the migrations ran here
            print("numpy" in sys.modules)
            first = stories.link_article(store, 1, "供暖", body, now=1000.0)
            second = stories.link_article(store, 2, "供暖", body[:1], now=1001.0)
        print("numpy" in sys.modules)
        assert (first.story, second.story) == (1, 1), (first, second)
        assert type(stories.signature(body)).__module__ == "array"
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "s.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.stdout.split() == ["False", "False"], done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
    with Store(tmp_path / "s.db") as store:  # a database a numpy process opens as usual
        assert store.stories_of([1, 2]) == {1: 1, 2: 1}
