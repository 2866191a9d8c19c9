"""A deterministic generator of realistic synthetic articles for the benchmarks.

Each article (about 1,000 characters, title plus 4–7 paragraphs) mixes

* real sentences drawn from the shipped corpus articles (``corpus/*.txt``);
* synthetic sentences of words drawn with Zipf frequencies (s = 1) from a vocabulary of
  :data:`VOCAB_SIZE` real words — jieba's own dictionary, most frequent first, without stop words
  and without gazetteer names;
* place names from the gazetteer (all of Xinjiang: prefectures, counties, townships, XPCC
  divisions and regiments/farms) with Zipf frequencies, in the forms a news feed uses
  (``第六师一〇二团``, ``莎车县恰热克镇``);
* two planted words: :data:`COMMON_WORD` in more than 90 % of the articles and a ~30 % word.

Articles are written as ``.jsonl`` files of :data:`PER_FILE` records (``{"title", "text"}``, one
paragraph per line): the files ``digestbot ingest`` reads. ``PER_FILE`` is 500 rather than 1,000
because the readers reject files over 2 MB and 1,000 such articles take about 3 MB.

Everything is seeded per file, so the first N articles of every corpus with the same seed are the
same and a corpus of any size generates in parallel. Corpora are cached under
``benchmarks/.cache/corpus-n<size>-s<seed>-v<version>/`` (``corpus-….meta.json`` beside it is
written last and marks a complete corpus).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
GEN_VERSION = 1
VOCAB_SIZE = 60_000
PER_FILE = 500
ARTICLE_CHARS = 1000
ZIPF_S = 1.0
POOL_SHARE = 0.25  # share of sentences taken verbatim from the corpus articles
COMMON_WORD = "兵团"
COMMON_P = 0.92
THIRTY_P = 0.30
WORDS_PER_ARTICLE = 330  # Zipf draws per article (approximately; used for the expected df)

_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_SENTENCE = re.compile(r"[^。！？]*[。！？]+[”’」]?")


@dataclass
class CorpusMeta:
    """What a generated corpus holds and which words were planted for each query class."""

    size: int
    seed: int
    version: int
    files: int
    vocabulary: int
    places: int
    pool_sentences: int
    common_word: str
    thirty_word: str
    rare_words: list[str]
    medium_words: list[str]
    phrases: list[str]
    region_queries: dict[str, str] = field(default_factory=dict)
    generate_seconds: float = 0.0


# -- inputs ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _gazetteer_data() -> dict:
    return json.loads((ROOT / "digests" / "data" / "gazetteer.json").read_text("utf-8"))


def _stopwords() -> set[str]:
    path = ROOT / "digests" / "data" / "stopwords.txt"
    return {w.strip() for w in path.read_text("utf-8").splitlines() if w.strip()}


def pool_sentences() -> list[str]:
    """Sentences of the shipped corpus articles (title excluded), in file order."""
    out: list[str] = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        parts = [p.strip() for p in path.read_text("utf-8").strip().split("\u3000\u3000")]
        for paragraph in parts[1:]:
            out += [s for s in _SENTENCE.findall(paragraph) if 8 <= len(s) <= 120]
    return out


@lru_cache(maxsize=1)
def vocabulary() -> list[str]:
    """:data:`VOCAB_SIZE` jieba dictionary words of 2–4 CJK characters, most frequent first."""
    import jieba

    names = {n[0] for n in _gazetteer_data()["names"]}
    stop = _stopwords()
    words: list[tuple[int, str]] = []
    dict_path = Path(jieba.__file__).resolve().parent / "dict.txt"
    with dict_path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            if _CJK_WORD.match(word) and word not in stop and word not in names:
                words.append((-freq, word))
    words.sort()
    return [w for _, w in words[: VOCAB_SIZE + 200]]


def places() -> list[tuple[str, str, str]]:
    """(code, surface form, level) of the Xinjiang places, in Zipf rank order (deterministic)."""
    data = _gazetteer_data()
    levels = data["levels"]
    by_code = {p[0]: p for p in data["places"]}
    out: list[tuple[int, str, str, str]] = []
    for code, name, level_no, parents, _short in data["places"]:
        level = levels[level_no]
        if not (code.startswith("65") or code.startswith("X")) or level in ("province", "xpcc"):
            continue
        surface = name
        if level == "unit":  # 第六师一〇二团: regiments below 100 need their division
            division = by_code.get(parents[0])
            surface = (division[1] if division else "") + name
        elif level == "township":
            county = by_code.get(parents[0])
            surface = (county[1] if county else "") + name
        prior = {"prefecture": 0, "division": 0, "county": 1, "unit": 2, "township": 3}[level]
        # a stable pseudo-random order inside each level (crc of the code)
        out.append((prior * 10**10 + zlib.crc32(code.encode()), code, surface, level))
    out.sort()
    return [(c, s, lvl) for _, c, s, lvl in out]


def _zipf_cdf(n: int, s: float = ZIPF_S) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _rank_for_df(df: float, n: int, words_per_article: int = WORDS_PER_ARTICLE) -> int:
    """Zipf rank whose expected document frequency is about ``df``."""
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1) ** ZIPF_S))
    expected = -math.log(1.0 - df)  # occurrences per article for that df (Poisson)
    return max(1, round((words_per_article / harmonic / expected) ** (1.0 / ZIPF_S)))


@dataclass
class _Plan:
    vocab: list[str]
    places: list[tuple[str, str, str]]
    pool: list[str]
    common: str
    thirty: str
    seed: int


def plan(seed: int) -> tuple[_Plan, dict]:
    """The vocabulary, places and planted words for ``seed`` (independent of the size)."""
    pool = pool_sentences()
    joined = "".join(pool)
    candidates = vocabulary()
    rng = np.random.default_rng(seed)
    # the ~30 % word: an ordinary, fairly frequent word that no pool sentence contains
    band = [w for w in candidates[1500:3000] if w not in joined and w != COMMON_WORD]
    thirty = band[int(rng.integers(len(band)))]
    vocab = [w for w in candidates if w not in (thirty, COMMON_WORD)][:VOCAB_SIZE]
    medium_rank = _rank_for_df(0.03, len(vocab))
    rare_rank = _rank_for_df(0.002, len(vocab))
    medium = [w for w in vocab[medium_rank - 10 : medium_rank + 30] if w not in joined][:20]
    rare = [w for w in vocab[rare_rank - 10 : rare_rank + 60] if w not in joined][:20]
    phrases = _phrases(pool, rng)
    extra = {"medium": medium, "rare": rare, "phrases": phrases}
    return _Plan(vocab, places(), pool, COMMON_WORD, thirty, seed), extra


def _phrases(pool: Sequence[str], rng: np.random.Generator, n: int = 10) -> list[str]:
    """Quoted two-word phrases (both words of 2+ characters) from the pool sentences."""
    import jieba

    stop = _stopwords()
    seen: dict[str, None] = {}
    for sentence in pool:
        tokens = [t for t in jieba.lcut(sentence) if t.strip()]
        for a, b in itertools.pairwise(tokens):
            if (
                len(a) >= 2
                and len(b) >= 2
                and _CJK_WORD.match(a)
                and _CJK_WORD.match(b)
                and a not in stop
                and b not in stop
            ):
                seen[a + b] = None
    items = list(seen)
    picks = rng.choice(len(items), size=min(n, len(items)), replace=False)
    return [items[i] for i in sorted(picks)]


# -- generation --------------------------------------------------------------------------------
_PLAN: _Plan | None = None


def _set_plan(p: _Plan) -> None:
    global _PLAN
    _PLAN = p


def _write_file(args: tuple[Path, int, int]) -> int:
    """Write articles ``[start, start + count)`` to ``path``; seeded by the file index."""
    path, index, count = args
    p = _PLAN
    assert p is not None
    rng = np.random.default_rng([p.seed, index])
    vocab, pool, place_list = p.vocab, p.pool, p.places
    wcdf = _zipf_cdf(len(vocab))
    pcdf = _zipf_cdf(len(place_list))
    draws = np.searchsorted(wcdf, rng.random(count * 420)).tolist()
    place_draws = np.searchsorted(pcdf, rng.random(count * 8)).tolist()
    u = rng.random(count * 200).tolist()
    pool_draws = rng.integers(len(pool), size=count * 12).tolist()
    wi = pi = ui = qi = 0
    lines: list[str] = []
    for _ in range(count):
        paragraphs: list[list[str]] = []
        chars = 0
        current: list[str] = []
        n_places = 2 + int(u[ui] * 5)
        ui += 1
        place_slots = set()
        while chars < ARTICLE_CHARS:
            if u[ui] < POOL_SHARE and qi < len(pool_draws):
                sentence = pool[pool_draws[qi]]
                qi += 1
                ui += 1
            else:
                ui += 1
                clauses = []
                for _c in range(1 + int(u[ui] * 3)):
                    ui += 1
                    k = 3 + int(u[ui] * 5)
                    ui += 1
                    clauses.append("".join(vocab[d] for d in draws[wi : wi + k]))
                    wi += k
                if n_places > len(place_slots) and pi < len(place_draws):
                    place_slots.add(len(place_slots))
                    clauses[0] = place_list[place_draws[pi]][1] + clauses[0]
                    pi += 1
                sentence = "，".join(clauses) + "。"
            current.append(sentence)
            chars += len(sentence)
            if len(current) >= 2 + int(u[ui] * 3):
                paragraphs.append(current)
                current = []
            ui += 1
            if ui > len(u) - 40 or wi > len(draws) - 40:  # refill (rare)
                u = rng.random(count * 200).tolist()
                draws = np.searchsorted(wcdf, rng.random(count * 420)).tolist()
                ui = wi = 0
        if current:
            paragraphs.append(current)
        # planted words, inside a synthetic-looking clause of their own
        if u[ui] < COMMON_P:
            target = paragraphs[int(u[ui + 1] * len(paragraphs))]
            target.insert(0, p.common + vocab[draws[wi]] + vocab[draws[wi + 1]] + "。")
            wi += 2
        if u[ui + 2] < THIRTY_P:
            target = paragraphs[int(u[ui + 3] * len(paragraphs))]
            target.append(vocab[draws[wi]] + p.thirty + vocab[draws[wi + 1]] + "。")
            wi += 2
        ui += 4
        place = place_list[place_draws[pi % len(place_draws)]][1]
        pi += 1
        title_words = "".join(vocab[d] for d in draws[wi : wi + 3])
        wi += 3
        title = place + title_words
        text = "\n".join("".join(par) for par in paragraphs)
        lines.append(json.dumps({"title": title, "text": text}, ensure_ascii=False))
    tmp = path.with_suffix(".part")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.rename(path)
    return count


def corpus_dir(size: int, seed: int) -> Path:
    return CACHE / f"corpus-n{size}-s{seed}-v{GEN_VERSION}"


def generate(size: int, seed: int = 1, *, workers: int | None = None) -> tuple[Path, CorpusMeta]:
    """The folder of a corpus of ``size`` articles (generated unless cached) and its meta."""
    import time

    folder = corpus_dir(size, seed)
    meta_path = folder.with_name(folder.name + ".meta.json")
    if meta_path.is_file():
        return folder, CorpusMeta(**json.loads(meta_path.read_text("utf-8")))
    start = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    p, extra = plan(seed)
    _set_plan(p)
    jobs = []
    for index, first in enumerate(range(0, size, PER_FILE)):
        jobs.append((folder / f"part-{index:05d}.jsonl", index, min(PER_FILE, size - first)))
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(jobs) > 2:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            written = sum(pool.map(_write_file, jobs, chunksize=4))
    else:
        written = sum(map(_write_file, jobs))
    assert written == size
    meta = CorpusMeta(
        size=size,
        seed=seed,
        version=GEN_VERSION,
        files=len(jobs),
        vocabulary=len(p.vocab),
        places=len(p.places),
        pool_sentences=len(p.pool),
        common_word=p.common,
        thirty_word=p.thirty,
        rare_words=extra["rare"],
        medium_words=extra["medium"],
        phrases=extra["phrases"],
        region_queries=region_queries(p.places),
        generate_seconds=round(time.perf_counter() - start, 2),
    )
    meta_path.write_text(json.dumps(asdict(meta), ensure_ascii=False, indent=1), "utf-8")
    return folder, meta


def region_queries(place_list: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """One query per region class: the province, the most frequent prefecture, a mid-rank
    county and an XPCC division (queried by its usual short name)."""
    data = _gazetteer_data()
    by_code = {p[0]: p for p in data["places"]}
    prefecture = next(c for c, _, lvl in place_list if lvl == "prefecture")
    counties = [c for c, _, lvl in place_list if lvl == "county"]
    county = counties[len(counties) // 4]
    return {
        "province": "新疆",
        "prefecture": by_code[prefecture][1],
        "county": by_code[county][1],
        "division": "六师",
    }


def main() -> None:  # pragma: no cover - a manual helper
    import argparse
    import time

    parser = argparse.ArgumentParser(description="generate a benchmark corpus")
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    folder, meta = generate(args.size, args.seed)
    print(folder, f"{time.perf_counter() - start:.1f} s")
    print(json.dumps(asdict(meta), ensure_ascii=False, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()
