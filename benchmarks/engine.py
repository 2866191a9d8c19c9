"""Engine benchmarks: ingest (with a jieba baseline and a per-stage breakdown), keyword search
and region search, all through the engine's public functions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import cycle
from pathlib import Path

from .common import CACHE, ROOT, engine_fingerprint, latency_stats, quiet_jieba, repo_path
from .corpus import GEN_VERSION, CorpusMeta


def db_path(size: int, seed: int) -> Path:
    """The cached database of a corpus, keyed by size, seed, generator and engine version."""
    return CACHE / f"db-n{size}-s{seed}-v{GEN_VERSION}-e{engine_fingerprint()}.db"


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def warm_engine() -> None:
    """Load the segmenter, OpenCC and the gazetteer once, so no timing includes it."""
    quiet_jieba()
    from digests.regions import load_gazetteer
    from digests.text import raw_tokens, to_simplified

    raw_tokens("预热")
    load_gazetteer()
    to_simplified("預熱")


def read_texts(folder: Path, limit: int | None = None, skip: int = 0) -> list[str]:
    """Title + body of the generated articles (straight from the .jsonl, no engine code): the
    ``limit`` articles after the first ``skip``."""
    texts: list[str] = []
    seen = 0
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    seen += 1
                    if seen <= skip:
                        continue
                    obj = json.loads(line)
                    texts.append(obj["title"] + "\n" + obj["text"])
                    if limit is not None and len(texts) >= limit:
                        return texts
    return texts


def jieba_baseline(folder: Path, limit: int | None = None, skip: int = 0) -> dict[str, float]:
    """Plain ``jieba.lcut`` of the same texts, one process (texts read beforehand)."""
    import jieba

    warm_engine()
    texts = read_texts(folder, limit, skip)
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


def rjieba_baseline(folder: Path, limit: int | None = None, skip: int = 0) -> dict[str, float]:
    """Plain ``rjieba.cut`` (jieba-rs, the segmenter the engine runs) of the same texts, one
    process: the physical limit of segmentation."""
    import rjieba

    warm_engine()
    texts = read_texts(folder, limit, skip)
    start = time.perf_counter()
    for text in texts:
        rjieba.cut(text)
    seconds = time.perf_counter() - start
    return {
        "articles": len(texts),
        "seconds": round(seconds, 3),
        "articles_per_s": round(len(texts) / seconds, 1),
        "chars_per_s": round(sum(map(len, texts)) / seconds, 0),
    }


#: the baseline's halves differing by more than this: its ratio is flagged as not trustworthy
DRIFT_WARNING_PCT = 10.0


def combined_baseline(before: dict[str, float], after: dict[str, float]) -> dict[str, object]:
    """The baseline runs before and after the ingest taken together: on a machine whose speed
    drifts (shared CPUs), bracketing the measured run keeps the ratio fair. ``drift_pct`` says by
    how much the two halves differ (the slower one's speed the base): past ``DRIFT_WARNING_PCT``
    the machine's speed during the measured run is not known well enough for a ratio to mean
    much, and the run says so."""
    articles = before["articles"] + after["articles"]
    seconds = before["seconds"] + after["seconds"]
    slow, fast = sorted([before["articles_per_s"], after["articles_per_s"]])
    return {
        "articles": articles,
        "seconds": round(seconds, 3),
        "articles_per_s": round(articles / seconds, 1),
        "before_articles_per_s": before["articles_per_s"],
        "after_articles_per_s": after["articles_per_s"],
        "drift_pct": round(100 * (fast - slow) / slow, 1) if slow > 0 else 0.0,
    }


def ingest_bench(folder: Path, size: int, seed: int) -> dict[str, object]:
    """``digestbot ingest`` of the whole corpus into a new database, run as a user runs it: the
    console script's code in a process of its own (all cores, bulk batches, FTS index, commits;
    on Linux it runs itself again with huge pages for malloc, :mod:`digests.hugepages`). The
    time includes its start-up. The database is kept as the cache for the query benchmarks."""
    from digests.store import Store

    path = db_path(size, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"db-n{size}-s{seed}-v*.db"):  # other engine versions
        _remove_db(stale)
    _remove_db(path)
    command = [sys.executable, "-m", "bot.cli", "--db", str(path), "ingest", "--json", str(folder)]
    env = {**os.environ, "DIGESTBOT_LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"digestbot ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stats = store.stats()
    db_bytes = int(stats["db_bytes"])  # type: ignore[call-overload]
    return {
        "articles": size,
        "added": len(report["added"]),
        "duplicates": len(report["duplicates"]),
        "rejected": report["rejected_count"],
        "workers": os.cpu_count(),
        "seconds": round(seconds, 2),
        "articles_per_s": round(size / seconds, 1),
        "db_mb": round(db_bytes / 2**20, 1),
        "db_mb_per_1k": round(db_bytes / 2**20 / size * 1000, 2),
        "region_tags": stats["region_tags"],
        "db": repo_path(path),
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
    """Time a sample of articles through the analysis stages (one process).

    The real :func:`digests.pipeline.analyze` runs on every article, with its steps wrapped in
    timers (OpenCC, jieba, sentence splitting, the one pass over the tokens, keywords, summary,
    region tagging, content hash); "other" is what ``analyze`` spends around them. Reading and
    parsing, and the store's insert and commit, are timed on the same sample. The memos are
    warmed on the sample first, as a long ingest has them.
    """
    from digests import pipeline
    from digests.formats import read_file
    from digests.ingest import BULK_BATCH_SIZE
    from digests.regions import load_gazetteer
    from digests.store import Store

    warm_engine()
    clock = time.perf_counter
    t: dict[str, float] = {}
    raws = []
    start = clock()
    for path in sorted(folder.glob("*.jsonl")):
        raws += [a for a in read_file(path) if not isinstance(a, Exception)]
        if len(raws) >= sample:
            break
    parse = (clock() - start) / len(raws)
    raws = raws[:sample]
    for raw in raws:  # warm-up: memos, stop words, IDF table
        pipeline.analyze(raw)

    gazetteer = load_gazetteer()
    wrapped = {
        "to_simplified": (pipeline, "to_simplified"),
        "tokenize (jieba-rs)": (pipeline, "raw_tokens"),
        "sentence split": (pipeline, "sentence_spans"),
        "index terms + token facts": (pipeline, "token_streams"),
        "keywords": (pipeline, "rank_keywords"),
        "summary": (pipeline, "summarize"),
        "regions (scan)": (gazetteer, "mentions"),
        "regions (tags)": (gazetteer, "tag_mentions"),
        "keyword place fragments": (pipeline, "place_fragments"),
        "CJK pairs": (pipeline, "cjk_grams"),
        "content hash": (pipeline, "content_hash"),
    }
    originals = {name: getattr(owner, attr) for name, (owner, attr) in wrapped.items()}

    def timer(name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            began = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                t[name] = t.get(name, 0.0) + clock() - began

        return timed

    for name, (owner, attr) in wrapped.items():
        setattr(owner, attr, timer(name, originals[name]))
    try:
        start = clock()
        analyzed = [pipeline.analyze(raw) for raw in raws]
        analyze_total = clock() - start
    finally:
        for name, (owner, attr) in wrapped.items():
            if owner is gazetteer:
                delattr(gazetteer, attr)
            else:
                setattr(owner, attr, originals[name])
    t["other (analyze glue)"] = analyze_total - sum(t.values())
    t = {"read/parse": parse * len(raws), **t}
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "stages.db") as store:
        start = clock()
        with store.bulk_load():
            for i in range(0, len(analyzed), BULK_BATCH_SIZE):  # as `digestbot ingest` does
                store.add(analyzed[i : i + BULK_BATCH_SIZE])
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
    db: Path | str, meta: CorpusMeta, size: int, n: int = 100, budget_s: float = 20.0
) -> dict[str, dict[str, object]]:
    """p50/p95/p99 of ``keyword_search`` (5 hits with snippets) per query class; ``db`` is a
    SQLite file or a PostgreSQL URL."""
    from digests.backends import open_store
    from digests.search import keyword_search
    from digests.store import Store

    warm_engine()
    out: dict[str, dict[str, object]] = {}
    with open_store(db) as store:
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
    db: Path | str, meta: CorpusMeta, size: int, n: int = 100, budget_s: float = 20.0
) -> dict[str, dict[str, object]]:
    """p50/p95/p99 of ``region_search`` (5 hits with snippets) per region level; ``db`` is a
    SQLite file or a PostgreSQL URL."""
    from digests.backends import open_store
    from digests.regions import load_gazetteer
    from digests.search import region_search
    from digests.store import Store

    warm_engine()
    gazetteer = load_gazetteer()
    out: dict[str, dict[str, object]] = {}
    with open_store(db) as store:
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


COPY_MAX_BYTES = 4 * 2**30  # larger databases (1M articles: ~13 GB) are used in place


def copy_db(src: Path, dest: Path) -> Path:
    """Copy a (checkpointed) database file; above ``COPY_MAX_BYTES`` the database itself (the
    bot benchmarks add chats, subscriptions and one article, which no query class counts)."""
    if src.stat().st_size > COPY_MAX_BYTES:
        return src
    _remove_db(dest)
    shutil.copyfile(src, dest)
    return dest
