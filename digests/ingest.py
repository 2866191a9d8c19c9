"""Ingesting files into the store: reading, analysis (on all cores for big inputs), batch commits.

``ingest(store, paths)`` returns an :class:`IngestReport`: what was added, what was a duplicate,
and every rejected file or record with its reason. Batches are committed in one transaction each,
so an interrupted ingest leaves whole articles only. Inputs of more than ``PARALLEL_MIN`` articles
are analysed in a process pool (the analysis holds the GIL).
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .errors import RejectedInput
from .formats import RawArticle, iter_paths, read_file
from .keywords import Idf, load_stopwords
from .models import AnalyzedArticle
from .pipeline import analyze
from .store import AddResult, Store

log = logging.getLogger(__name__)

BATCH_SIZE = 500
TASK_ARTICLES = 16  # articles per worker task
LOOKAHEAD = 4  # tasks in flight per worker
PARALLEL_MIN = 64
IDF_MIN_DOCS = 1000


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    added: list[AddResult] = field(default_factory=list)
    duplicates: list[AddResult] = field(default_factory=list)
    rejected: list[RejectedInput] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [{"id": r.id, "title": r.title, "file": r.source_path} for r in self.added],
            "duplicates": [
                {
                    "id": r.id,
                    "title": r.title,
                    "file": r.source_path,
                    "duplicate_of": r.duplicate_of,
                }
                for r in self.duplicates
            ],
            "rejected": [{"file": r.source, "reason": r.reason} for r in self.rejected],
        }


def read_inputs(paths: Iterable[Path], report: IngestReport) -> Iterator[RawArticle]:
    """Articles from ``paths``; rejections are logged and collected into ``report``."""
    for item in iter_paths(list(paths)):
        if isinstance(item, RejectedInput):
            _reject(report, item)
            continue
        for art in read_file(item):
            if isinstance(art, RejectedInput):
                _reject(report, art)
            else:
                yield art


def _reject(report: IngestReport, exc: RejectedInput) -> None:
    log.warning("rejected %s: %s", exc.source, exc.reason)
    report.rejected.append(exc)


def corpus_idf(store: Store, min_docs: int = IDF_MIN_DOCS) -> Idf | None:
    """IDF learnt from the stored corpus once it has ``min_docs`` articles, else ``None``
    (jieba's bundled IDF is used then)."""
    n = store.count()
    if n < min_docs:
        return None
    return Idf.from_document_frequencies(store.vocabulary(min_docs=2), n, fallback=Idf.default())


_worker_idf: Idf | None = None


def _load_shared(idf: Idf | None) -> None:
    """Load what every analysis needs (the segmenter's dictionary, the gazetteer, stop words, the IDF
    lookup tables). Done in the parent before the pool forks, so the workers inherit it instead
    of each loading it again (~1 s of CPU per worker)."""
    from .regions import load_gazetteer
    from .text import raw_tokens

    raw_tokens("预热")  # the segmenter's dictionary (jieba-rs loads it on import)
    load_gazetteer()
    load_stopwords()
    (idf or Idf.default()).warm()


def _init_worker(idf: Idf | None) -> None:
    global _worker_idf
    _worker_idf = idf
    _load_shared(idf)  # a no-op after a fork; loads everything under spawn


def _analyze_in_worker(raws: list[RawArticle]) -> list[AnalyzedArticle | RejectedInput]:
    return [_safe_analyze(raw, _worker_idf) for raw in raws]


def _in_order(
    pool: ProcessPoolExecutor, raws: Iterator[RawArticle], size: int, ahead: int
) -> Iterator[AnalyzedArticle | RejectedInput]:
    """Analyses of ``raws`` in input order, ``size`` articles per task and at most ``ahead``
    tasks in flight: the workers never wait for the reader or the writer (no barrier between
    chunks), and memory stays bounded however large the input."""
    pending: deque[Future[list[AnalyzedArticle | RejectedInput]]] = deque()
    while True:
        while len(pending) < ahead:
            task = list(islice(raws, size))
            if not task:
                break
            pending.append(pool.submit(_analyze_in_worker, task))
        if not pending:
            return
        yield from pending.popleft().result()


def _safe_analyze(raw: RawArticle, idf: Idf | None) -> AnalyzedArticle | RejectedInput:
    try:
        return analyze(raw, idf)
    except Exception as exc:  # an analysis bug must not lose the other articles
        logging.getLogger(__name__).exception("analysis failed for %s", raw.source_path)
        return RejectedInput(raw.source_path, f"analysis failed ({type(exc).__name__})")


def ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    on_batch: Callable[[list[AddResult]], None] | None = None,
    idf_min_docs: int = IDF_MIN_DOCS,
) -> IngestReport:
    """Read, analyse and store the articles in ``paths``."""
    report = IngestReport()
    reading = read_inputs(paths, report)
    first = list(islice(reading, PARALLEL_MIN))  # enough to choose between pool and loop
    idf = corpus_idf(store, idf_min_docs)
    if workers is None:
        workers = os.cpu_count() or 1
    use_pool = workers > 1 and len(first) >= PARALLEL_MIN
    if progress is None:
        progress = sys.stderr.isatty() and len(first) > 20
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="art", desc="ingest", file=sys.stderr)

    def analysed() -> Iterator[AnalyzedArticle | RejectedInput]:
        if not use_pool:
            for raw in chain(first, reading):
                yield _safe_analyze(raw, idf)
            return
        ctx = get_context("fork") if sys.platform.startswith("linux") else None
        if ctx is not None:
            _load_shared(idf)
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(idf,)
        ) as pool:
            yield from _in_order(pool, chain(first, reading), TASK_ARTICLES, workers * LOOKAHEAD)

    batch: list[AnalyzedArticle] = []

    def flush() -> None:
        results = store.add(batch)
        for result in results:
            (report.added if result.status == "added" else report.duplicates).append(result)
        if on_batch:
            on_batch(results)
        batch.clear()

    big = len(first) >= PARALLEL_MIN  # a bulk load: a larger page cache pays off
    try:
        with store.bulk_cache() if big else nullcontext():
            for item in analysed():
                if bar is not None:
                    bar.update(1)
                if isinstance(item, RejectedInput):
                    _reject(report, item)
                    continue
                batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    flush()
            if batch:
                flush()
    finally:
        if bar is not None:
            bar.close()
    return report
