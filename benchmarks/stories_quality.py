"""Precision and recall of the near-duplicate story grouping on a labelled set.

The set: the 21 page articles and 6 hard negatives (``tests/data/stories/negatives.py``: another
story on the same topic, in the same templated style) are the originals; each page article also
has four reposts made with the edits Chinese reposts show — a new headline, a "据…报道" lead,
a dropped last paragraph and a source line; merged paragraphs, a sentence cut, wording changes;
traditional characters; an abridged repost (the first half). Reposts of one original are one story; everything else is apart.

Pairs are scored directly (estimated Jaccard ≥ threshold), and end to end: every document goes
through :func:`digests.stories.link_article` into a fresh store in a shuffled order, and the
groups found are compared pair by pair with the truth.
``python -m benchmarks.stories_quality`` prints the sweep that docs/sources.md records.
"""

from __future__ import annotations

import random
import sys
import tempfile
from itertools import combinations
from pathlib import Path

from .common import ROOT

DATA = ROOT / "tests" / "data"
SWAPS = [("近日", "日前"), ("表示", "说"), ("目前", "眼下"), ("介绍", "说明"), ("今年", "今年以来")]


def _load() -> tuple[list, list]:
    sys.path.insert(0, str(DATA / "pages"))
    sys.path.insert(0, str(DATA / "stories"))
    try:
        from articles import ARTICLES, HELD_OUT
        from negatives import HARD_NEGATIVES
    finally:
        sys.path[:2] = []
    return ARTICLES + HELD_OUT, HARD_NEGATIVES


def reposts(title: str, paragraphs: list[str]) -> list[tuple[str, list[str]]]:
    from opencc import OpenCC

    a = [f"据新疆日报报道，{paragraphs[0]}", *paragraphs[1:]]
    if len(a) >= 4:
        a = a[:-1]
    a.append("（来源：新疆日报 编辑：李明）")
    b = list(paragraphs)
    if len(b) >= 3:
        b = [b[0] + b[1], *b[2:]]
    sentences = b[-1].split("。")
    if len(sentences) > 2:
        b[-1] = "。".join(sentences[:1] + sentences[2:])
    text = "\n".join(b)
    for old, new in SWAPS:
        text = text.replace(old, new)
    b = text.split("\n")
    c = [OpenCC("s2t").convert(p) for p in paragraphs]
    d = paragraphs[: max(2, len(paragraphs) // 2 + 1)]  # an abridged repost: the first half
    return [
        ("快讯｜" + title, a), (title.replace("市", "").replace("地区", "") + "（组图）", b),
        (OpenCC("s2t").convert(title), c), (title + "（摘编）", d),
    ]  # fmt: skip


def labelled_set() -> list[tuple[str, str, list[str]]]:
    """(story label, title, paragraphs) for every document."""
    originals, negatives = _load()
    docs = []
    for i, (title, paragraphs) in enumerate(originals):
        label = f"p{i:02d}"
        docs.append((label, title, paragraphs))
        docs += [(label, t, p) for t, p in reposts(title, paragraphs)]
    for j, (_page, title, paragraphs) in enumerate(negatives):
        docs.append((f"n{j}", title, paragraphs))
    return docs


def _prf(pred: set, truth: set, n_pairs: int) -> dict:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "false_merges": len(pred - truth), "missed": len(truth - pred), "pairs": n_pairs}  # fmt: skip


def pairwise(docs, k: int, threshold: float) -> dict:
    from digests import stories

    sigs = [stories.signature(p, k) for _, _, p in docs]
    truth, pred = set(), set()
    pairs = list(combinations(range(len(docs)), 2))
    lowest_same, highest_apart = 1.0, 0.0
    for i, j in pairs:
        sim = stories.similarity(sigs[i], sigs[j])
        if docs[i][0] == docs[j][0]:
            truth.add((i, j))
            lowest_same = min(lowest_same, sim)
        else:
            highest_apart = max(highest_apart, sim)
        if sim >= threshold:
            pred.add((i, j))
    result = _prf(pred, truth, len(pairs))
    result.update(lowest_same=round(lowest_same, 3), highest_apart=round(highest_apart, 3))
    return result


def end_to_end(docs, seed: int = 1) -> dict:
    from digests import stories
    from digests.store import Store

    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    group: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s.db") as store:
        for n, i in enumerate(order, 1):
            link = stories.link_article(store, n, docs[i][1], docs[i][2], now=1_000_000.0 + n)
            group[i] = link.story
    truth = {(i, j) for i, j in combinations(range(len(docs)), 2) if docs[i][0] == docs[j][0]}
    pred = {(i, j) for i, j in combinations(range(len(docs)), 2) if group[i] == group[j]}
    return _prf(pred, truth, len(docs) * (len(docs) - 1) // 2)


def stories_bench() -> dict:
    from digests import stories

    docs = labelled_set()
    sweep = {}
    for k in (2, 3, 4):
        for threshold in (0.3, 0.4, 0.45, 0.5, 0.6, 0.7):
            sweep[f"k={k} t={threshold}"] = pairwise(docs, k, threshold)
    return {
        "documents": len(docs),
        "stories": len({d[0] for d in docs}),
        "shipped": {"shingle": stories.SHINGLE, "threshold": stories.THRESHOLD, "num_perm": stories.NUM_PERM, "bands": stories.BANDS},
        "pairwise_shipped": pairwise(docs, stories.SHINGLE, stories.THRESHOLD),
        "end_to_end": [end_to_end(docs, seed) for seed in (1, 2, 3)],
        "sweep": sweep,
    }  # fmt: skip


def main() -> None:
    r = stories_bench()
    print(f"{r['documents']} documents, {r['stories']} stories; shipped {r['shipped']}")
    print("pairwise (shipped):", r["pairwise_shipped"])
    for e in r["end_to_end"]:
        print("end to end:", e)
    for name, s in r["sweep"].items():
        print(
            f"{name:12} P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}  false merges {s['false_merges']}, missed {s['missed']}"
        )


if __name__ == "__main__":
    main()
