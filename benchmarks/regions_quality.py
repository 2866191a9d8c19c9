"""Region tagging quality on the labelled articles of ``tests/data/regions/``, beside the peers.

Run ``python -m benchmarks.regions_quality [--json] [--no-peers]`` from the repository root.
Each article lists every place it mentions (gazetteer codes) and trap strings that must not
be tagged (see ``tests/data/regions/README.md``). A tagger's output for an article is the set
of codes of the places it found in the text (not their ancestors); precision, recall and F1 are
micro-averaged over the articles of a split (``dev``: tuned on; ``unseen``: held out).

Peers (the ``bench`` extra, never needed by the tests): ``cpca`` (its adcodes are the MCA codes
the gazetteer uses), jieba ``posseg`` words tagged ``ns`` (resolved through the gazetteer, first
candidate; unresolvable words are not counted) and ``jionlp.recognize_location`` (its domestic
province/city/county names). A peer's inferred parent (cpca fills in 新疆 for 皮山县) counts
only when its name is in the text. Peers cannot know the XPCC, which costs them recall.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from digests.regions import Gazetteer, load_gazetteer

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "regions"
SPLITS = ("dev", "unseen")

Tagger = Callable[[str], set[str]]


def load_split(split: str) -> list[dict]:
    """The labelled articles of ``split`` (``dev`` or ``unseen``)."""
    path = DATA_DIR / f"{split}.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def trap_hits(g: Gazetteer, row: dict) -> list[str]:
    """Trap strings of ``row`` on which the gazetteer put a forbidden tag."""
    text = row["text"]
    mentions = g.mentions(text)
    hits = []
    for trap in row["traps"]:
        surface, wrong = trap["surface"], trap["wrong"]
        start = text.find(surface)
        while start >= 0:
            end = start + len(surface)
            for s, e, code in mentions:
                if s < end and e > start and (not wrong or code == wrong):
                    hits.append(f"{surface}→{code}")
            start = text.find(surface, start + 1)
    return hits


def score(tagger: Tagger, rows: Iterable[dict]) -> dict:
    """Micro precision/recall/F1 of ``tagger`` over ``rows``, with the wrong and missed codes."""
    tp = fp = fn = 0
    errors: list[str] = []
    for row in rows:
        expected = set(row["expected"])
        found = tagger(row["text"])
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        if found != expected:
            errors.append(f"{row['id']}: +{sorted(found - expected)} -{sorted(expected - found)}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "errors": errors,
    }


def ours(g: Gazetteer) -> Tagger:
    return lambda text: {code for _s, _e, code in g.mentions(text)}


def _named_in_text(g: Gazetteer, code: str, text: str) -> bool:
    place = g.get(code)
    return place is not None and (place.name in text or place.short in text)


def _with_parents(g: Gazetteer, code: str, text: str) -> set[str]:
    """``code`` plus those of its ancestors whose name appears in ``text``."""
    if g.get(code) is None:
        return set()
    return {code} | {a for a in g.ancestors(code) if _named_in_text(g, a, text)}


def cpca_tagger(g: Gazetteer) -> Tagger:
    import cpca  # bench extra

    def tag(text: str) -> set[str]:
        try:
            frame = cpca.transform_text_with_addrs(text, pos_sensitive=False)
        except KeyError:  # cpca 0.5.5 fails on a text with no address at all
            return set()
        out: set[str] = set()
        for adcode in frame["adcode"]:
            if isinstance(adcode, str) and adcode:
                out |= _with_parents(g, adcode, text)
        return out

    return tag


def jieba_ns_tagger(g: Gazetteer) -> Tagger:
    import jieba.posseg  # the reference segmenter's part-of-speech mode

    def tag(text: str) -> set[str]:
        out: set[str] = set()
        for pair in jieba.posseg.cut(text):
            if pair.flag == "ns":
                places = g.resolve(pair.word).places
                if places:
                    out.add(places[0].code)
        return out

    return tag


def jionlp_tagger(g: Gazetteer) -> Tagger:
    import jionlp  # bench extra

    def tag(text: str) -> set[str]:
        found = jionlp.recognize_location(text).get("domestic") or []
        out: set[str] = set()
        for loc, _count in found:
            code = None
            for level in ("province", "city", "county"):
                name = loc.get(level)
                if not name:
                    continue
                cands = [p.code for p in g.resolve(name).places]
                inside = [c for c in cands if code is None or code in g.ancestors(c)]
                if inside:
                    code = inside[0]
            if code:
                out |= _with_parents(g, code, text)
        return out

    return tag


PEERS: dict[str, Callable[[Gazetteer], Tagger]] = {
    "cpca": cpca_tagger,
    "jieba ns": jieba_ns_tagger,
    "jionlp": jionlp_tagger,
}


def ms_per_article(g: Gazetteer, rows: list[dict], repeat: int = 50) -> float:
    """Median-free simple mean of ``repeat`` passes of ``g.tag`` over ``rows``, in ms/article."""
    texts = [row["text"] for row in rows]
    for text in texts:
        g.tag(text)
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            g.tag(text)
    return (time.perf_counter() - start) * 1000 / (repeat * len(texts))


def run(with_peers: bool = True) -> dict:
    g = load_gazetteer()
    data = {split: load_split(split) for split in SPLITS}
    report: dict = {"articles": {s: len(r) for s, r in data.items()}, "methods": {}}
    taggers: dict[str, Tagger] = {"digestbot": ours(g)}
    if with_peers:
        for name, make in PEERS.items():
            try:
                taggers[name] = make(g)
            except ImportError as exc:  # the bench extra is not installed
                print(f"skipping {name}: {exc}", file=sys.stderr)
    for name, tagger in taggers.items():
        report["methods"][name] = {split: score(tagger, rows) for split, rows in data.items()}
    report["traps"] = {
        split: {
            "total": sum(len(r["traps"]) for r in rows),
            "hit": [h for r in rows for h in trap_hits(g, r)],
        }
        for split, rows in data.items()
    }
    all_rows = [r for rows in data.values() for r in rows]
    report["ms_per_article"] = round(ms_per_article(g, all_rows), 3)
    report["chars_per_article"] = round(sum(len(r["text"]) for r in all_rows) / len(all_rows))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--errors", action="store_true", help="list each article's wrong codes")
    args = ap.parse_args(argv)
    report = run(with_peers=not args.no_peers)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    print(f"articles: {report['articles']}")
    print("| method | split | P | R | F1 | FP | FN |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, splits in report["methods"].items():
        for split, s in splits.items():
            print(
                f"| {name} | {split} | {s['precision']:.3f} | {s['recall']:.3f} | "
                f"{s['f1']:.3f} | {s['fp']} | {s['fn']} |"
            )
    for split, t in report["traps"].items():
        print(f"traps {split}: {len(t['hit'])} of {t['total']} tagged {t['hit']}")
    print(
        f"digestbot: {report['ms_per_article']} ms per article "
        f"({report['chars_per_article']} characters)"
    )
    if args.errors:
        for name, splits in report["methods"].items():
            for split, s in splits.items():
                for err in s["errors"]:
                    print(f"{name} {split} {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
