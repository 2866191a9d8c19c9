"""Engine benchmarks: ingest (with a jieba baseline and a per-stage breakdown), keyword search
and region search, all through the engine's public functions."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from itertools import cycle
from pathlib import Path

from .common import CACHE, engine_fingerprint, latency_stats, quiet_jieba
from .corpus import GEN_VERSION, CorpusMeta


def db_path(size: int, seed: int) -> Path:
    """The cached database of a corpus, keyed by size, seed, generator and engine version."""
    return CACHE / f"db-n{size}-s{seed}-v{GEN_VERSION}-e{engine_fingerprint()}.db"


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def warm_engine() -> None:
    """Load jieba, OpenCC and the gazetteer once, so no timing includes it (forked ingest
    workers inherit them)."""
    quiet_jieba()
    from digests.regions import load_gazetteer
    from digests.text import _tokenizer, to_simplified

    _tokenizer()
    load_gazetteer()
    to_simplified("預熱")


def read_texts(folder: Path, limit: int | None = None) -> list[str]:
    """Title + body of the generated articles (straight from the .jsonl, no engine code)."""
    texts: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    texts.append(obj["title"] + "\n" + obj["text"])
                    if limit is not None and len(texts) >= limit:
                        return texts
    return texts


def jieba_baseline(folder: Path, limit: int | None = None) -> dict[str, float]:
    """Plain ``jieba.lcut`` of the same texts, one process (texts read beforehand)."""
    import jieba

    warm_engine()
    texts = read_texts(folder, limit)
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    seconds = time.perf_counter() - start
    return {
        "articles": len(texts),
        "seconds": round(seconds, 3),
        "articles_per_s": round(len(texts) / seconds, 1),
        "chars_per_s": round(sum(map(len, texts)) / seconds, 0),
    }


def ingest_bench(folder: Path, size: int, seed: int) -> dict[str, object]:
    """``ingest()`` of the whole corpus into a new database (the code path of
    ``digestbot ingest``: all cores, batches of 200, FTS index, commits). The database is kept
    as the cache for the query benchmarks."""
    from digests.ingest import ingest
    from digests.store import Store

    warm_engine()
    path = db_path(size, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"db-n{size}-s{seed}-v*.db"):  # other engine versions
        _remove_db(stale)
    _remove_db(path)
    start = time.perf_counter()
    with Store(path) as store:
        report = ingest(store, [folder], progress=False)
    seconds = time.perf_counter() - start
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stats = store.stats()
    db_bytes = int(stats["db_bytes"])  # type: ignore[call-overload]
    return {
        "articles": size,
        "added": len(report.added),
        "duplicates": len(report.duplicates),
        "rejected": len(report.rejected),
        "workers": os.cpu_count(),
        "seconds": round(seconds, 2),
        "articles_per_s": round(size / seconds, 1),
        "db_mb": round(db_bytes / 2**20, 1),
        "db_mb_per_1k": round(db_bytes / 2**20 / size * 1000, 2),
        "region_tags": stats["region_tags"],
        "db": str(path),
    }


def ensure_db(folder: Path, size: int, seed: int, *, any_engine: bool = False) -> Path:
    """The cached database of the corpus, built (untimed) when missing. With ``any_engine`` a
    database built by another version of ``digests/`` is reused too (the newest one)."""
    path = db_path(size, seed)
    if path.is_file():
        return path
    if any_engine:
        others = sorted(
            path.parent.glob(f"db-n{size}-s{seed}-v{GEN_VERSION}-e*.db"),
            key=lambda p: p.stat().st_mtime,
        )
        if others:
            return others[-1]
    ingest_bench(folder, size, seed)
    return path


# -- per-stage breakdown -----------------------------------------------------------------------
def stage_breakdown(folder: Path, sample: int = 500) -> dict[str, object]:
    """Time a sample of articles through the analysis stages separately (one process).

    The stages mirror :func:`digests.pipeline.analyze` (sentence split, OpenCC, jieba, region
    tagging, keywords, summary, index terms) plus reading/parsing and the store's insert and
    commit; ``analyze_total`` is the real ``analyze`` on the same sample for comparison.
    """
    from digests.formats import read_file
    from digests.keywords import extract_keywords
    from digests.pipeline import Sentences, analyze, choose_summary, content_hash
    from digests.regions import load_gazetteer
    from digests.store import Store
    from digests.text import (
        ends_with_terminal,
        index_terms,
        is_subheading,
        split_sentences,
        sub_terms,
        to_simplified,
        tokenize,
    )

    warm_engine()
    gazetteer = load_gazetteer()
    t: dict[str, float] = dict.fromkeys(
        [
            "read/parse",
            "sentence split",
            "to_simplified",
            "tokenize",
            "regions tag",
            "keywords",
            "summary",
            "index terms",
            "content hash",
            "FTS insert/commit",
        ],
        0.0,
    )
    clock = time.perf_counter
    raws = []
    for path in sorted(folder.glob("*.jsonl")):
        start = clock()
        items = [a for a in read_file(path) if not isinstance(a, Exception)]
        t["read/parse"] += clock() - start
        raws += items
        if len(raws) >= sample:
            break
    per_article_parse = t["read/parse"] / len(raws)
    raws = raws[:sample]
    for raw in raws[:10]:  # warm-up: jieba's IDF table, stop words, caches
        analyze(raw)
    t["read/parse"] = per_article_parse * len(raws)
    for raw in raws:
        s0 = clock()
        pieces: list[tuple[str, bool]] = []  # (sentence, skip)
        for paragraph in raw.paragraphs:
            if is_subheading(paragraph):
                pieces.append((paragraph, True))
                continue
            for sentence in split_sentences(paragraph):
                pieces.append((sentence, not ends_with_terminal(sentence)))
        s1 = clock()
        simple_title = to_simplified(raw.title)
        simple_sents = [to_simplified(s) for s, _ in pieces]
        simplified = to_simplified(raw.title + "\n" + "\n".join(raw.paragraphs))
        s2 = clock()
        title_tokens = tokenize(simple_title)
        tokens = [tokenize(s) for s in simple_sents]
        s3 = clock()
        gazetteer.tag(simplified)
        s4 = clock()
        body_tokens = [tok for toks in tokens for tok in toks]
        extract_keywords(body_tokens, None, title_tokens=title_tokens)
        s5 = clock()
        sents = Sentences(
            [s for s, _ in pieces], tokens, frozenset(i for i, (_, k) in enumerate(pieces) if k)
        )
        choose_summary(title_tokens, sents)
        s6 = clock()
        index_terms(title_tokens), index_terms(body_tokens)
        sub_terms(title_tokens), sub_terms(body_tokens)
        s7 = clock()
        content_hash(raw.title, raw.paragraphs)
        s8 = clock()
        t["sentence split"] += s1 - s0
        t["to_simplified"] += s2 - s1
        t["tokenize"] += s3 - s2
        t["regions tag"] += s4 - s3
        t["keywords"] += s5 - s4
        t["summary"] += s6 - s5
        t["index terms"] += s7 - s6
        t["content hash"] += s8 - s7
    start = clock()
    analyzed = [analyze(raw) for raw in raws]
    analyze_total = clock() - start
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "stages.db") as store:
        start = clock()
        for i in range(0, len(analyzed), 200):  # ingest's batch size
            store.add(analyzed[i : i + 200])
        t["FTS insert/commit"] = clock() - start
    n = len(raws)
    total = sum(t.values())
    stages = {
        name: {
            "ms_per_article": round(sec * 1000 / n, 3),
            "share_pct": round(100 * sec / total, 1),
        }
        for name, sec in t.items()
    }
    return {
        "sample": n,
        "stages": stages,
        "sum_ms_per_article": round(total * 1000 / n, 3),
        "analyze_ms_per_article": round(analyze_total * 1000 / n, 3),
        "single_process_articles_per_s": round(n / total, 1),
    }


# -- queries -----------------------------------------------------------------------------------
def keyword_classes(meta: CorpusMeta) -> dict[str, list[str]]:
    """The query strings of each keyword class (cycled through by the benchmark)."""
    medium, rare = meta.medium_words, meta.rare_words
    return {
        "rare word": rare,
        "medium word": medium,
        f">90% word ({meta.common_word})": [meta.common_word],
        f"~30% word ({meta.thirty_word})": [meta.thirty_word],
        "two words": [f"{m} {meta.thirty_word}" for m in medium],
        "phrase": [f'"{p}"' for p in meta.phrases],
        "negation": [f"{meta.thirty_word} -{m}" for m in medium],
    }


def _run_class(
    call: Callable[[str], int],
    queries: list[str],
    n: int,
    budget_s: float,
    warmup: int = 5,
) -> tuple[list[float], list[int]]:
    it = cycle(queries)
    for _ in range(min(warmup, n)):
        call(next(it))
    samples: list[float] = []
    totals: list[int] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < n:
        q = next(it)
        start = time.perf_counter()
        total = call(q)
        samples.append((time.perf_counter() - start) * 1000.0)
        totals.append(total)
        if time.perf_counter() > deadline and len(samples) >= 20:
            break
    return samples, totals


def search_bench(
    db: Path, meta: CorpusMeta, size: int, n: int = 100, budget_s: float = 20.0
) -> dict[str, dict[str, object]]:
    """p50/p95/p99 of ``keyword_search`` (5 hits with snippets) per query class."""
    from digests.search import keyword_search
    from digests.store import Store

    warm_engine()
    out: dict[str, dict[str, object]] = {}
    with Store(db) as store:
        for name, queries in keyword_classes(meta).items():

            def call(q: str, store: Store = store) -> int:
                return keyword_search(store, q, limit=5).total

            samples, totals = _run_class(call, queries, n, budget_s)
            df = sum(totals) / len(totals)
            out[name] = {
                **latency_stats(samples),
                "df": round(df, 1),
                "df_pct": round(100 * df / size, 2),
                "queries": len(set(queries)),
                "example": queries[0],
            }
    return out


def region_bench(
    db: Path, meta: CorpusMeta, size: int, n: int = 100, budget_s: float = 20.0
) -> dict[str, dict[str, object]]:
    """p50/p95/p99 of ``region_search`` (5 hits with snippets) per region level."""
    from digests.regions import load_gazetteer
    from digests.search import region_search
    from digests.store import Store

    warm_engine()
    gazetteer = load_gazetteer()
    out: dict[str, dict[str, object]] = {}
    with Store(db) as store:
        for level, name in meta.region_queries.items():

            def call(q: str, store: Store = store) -> int:
                return region_search(store, gazetteer, q, limit=5).results.total

            samples, totals = _run_class(call, [name], n, budget_s)
            df = totals[0] if totals else 0
            out[f"{level} ({name})"] = {
                **latency_stats(samples),
                "df": df,
                "df_pct": round(100 * df / size, 2),
                "example": name,
            }
    return out


def copy_db(src: Path, dest: Path) -> Path:
    """Copy a (checkpointed) database file."""
    _remove_db(dest)
    shutil.copyfile(src, dest)
    return dest
