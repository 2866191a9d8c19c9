"""Ingesting files into the store: reading, analysis (on all cores for big inputs), batch commits.

``ingest(store, paths)`` returns an :class:`IngestReport`: what was added, what was a duplicate,
and every rejected file or record with its reason. Batches are committed in one transaction each,
so an interrupted ingest leaves whole articles only. Inputs of more than ``PARALLEL_MIN`` articles
are analysed in a process pool (the analysis holds the GIL) of one process fewer than ``workers``:
the ingesting process, between its commits, analyses the tasks no worker has started yet.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .errors import RejectedInput, StoreError
from .formats import RawArticle, iter_paths, read_file
from .keywords import Idf, load_stopwords
from .models import AnalyzedArticle, Article
from .pipeline import analyze
from .store import AddResult, Store

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # articles per transaction
#: … in a bulk load (an input of ``PARALLEL_MIN`` articles or more): with the store's bulk
#: settings each batch's index entries go to disk as one segment at commit, and larger segments
#: mean less merging later (docs/benchmarks.md)
BULK_BATCH_SIZE = 2000
TASK_ARTICLES = 16  # articles per worker task
LOOKAHEAD = 4  # tasks in flight per worker, and at least one and a half batches' worth (so
#: that the workers keep analysing while the writer commits a batch; with 4 per worker they ran
#: dry during every commit and sat idle a quarter of the time: docs/benchmarks.md)
IN_FLIGHT_BATCHES = 1.5
#: the pool's pipes widened to this (Linux): a task's results (~200 KB for 16 articles) then
#: go down in one write instead of one per 64 KB pipe buffer (see :func:`_widen_pipes`)
PIPE_BYTES = 2**20
PARALLEL_MIN = 64
#: new containers between two collections of the cyclic GC's youngest generation in a pooled
#: bulk load (Python's default: 700; see :func:`_collector_for_pool`)
GC_YOUNG_THRESHOLD = 20_000
IDF_MIN_DOCS = 1000
KEPT_REJECTIONS = 1000  # rejections listed in a report (all are counted)
LOGGED_REJECTIONS = 20  # rejections logged one by one per run (then one summary line)
Analysed = list[AnalyzedArticle | RejectedInput]  # one task's results, in input order
_RECORD_SUFFIX = re.compile(r"(?::\d+|\[\d+\])$")  # "file.jsonl:12", "file.json[3]"


@dataclass
class IngestStatus:
    """How far a running ingest is; read by other threads (``indexing: N of M``)."""

    files_total: int = 0
    files_done: int = 0
    added: int = 0
    running: bool = False
    rounds: int = 0  # corpus polls started

    def begin(self) -> None:
        self.files_total = self.files_done = self.added = 0
        self.rounds += 1
        self.running = True


@dataclass
class IngestReport:
    """The outcome of one ingest run. Every rejection is counted; the first
    ``KEPT_REJECTIONS`` are listed, and the first reason of every rejected file is kept."""

    added: list[AddResult] = field(default_factory=list)
    duplicates: list[AddResult] = field(default_factory=list)
    replaced: list[AddResult] = field(default_factory=list)
    rejected: list[RejectedInput] = field(default_factory=list)
    rejected_count: int = 0
    rejected_files: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected_count

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
            "replaced": [
                {"id": r.id, "title": r.title, "file": r.source_path} for r in self.replaced
            ],
            "rejected_count": self.rejected_count,
            "interrupted": self.interrupted,
        }

    def rejection_summary(self, first: int = 5) -> list[str]:
        """``source: reason`` for the first ``first`` rejections (a reply or a log line)."""
        return [f"{r.source}: {r.reason}" for r in self.rejected[:first]]


def read_inputs(
    paths: Iterable[Path],
    report: IngestReport,
    *,
    stop: threading.Event | None = None,
    status: IngestStatus | None = None,
) -> Iterator[RawArticle]:
    """Articles from ``paths``; rejections are logged (a bounded number) and collected into
    ``report``. A file that cannot be read for any reason is rejected alone."""
    items = list(iter_paths(list(paths)))
    if status is not None:
        status.files_total = sum(1 for item in items if not isinstance(item, RejectedInput))
    for item in items:
        if stop is not None and stop.is_set():
            return
        if isinstance(item, RejectedInput):
            _reject(report, item)
            continue
        try:
            for art in read_file(item):
                if isinstance(art, RejectedInput):
                    _reject(report, art)
                    if stop is not None and stop.is_set():
                        return
                else:
                    yield art
        except Exception as exc:  # no file may stop the others going in
            log.exception("reading %s failed", item)
            _reject(report, RejectedInput(str(item), f"unreadable ({type(exc).__name__})"))
        if status is not None:
            status.files_done += 1


def _reject(report: IngestReport, exc: RejectedInput) -> None:
    report.rejected_count += 1
    if report.rejected_count <= LOGGED_REJECTIONS:
        log.warning("rejected %s: %s", exc.source, exc.reason)
    if len(report.rejected) < KEPT_REJECTIONS:
        report.rejected.append(exc)
    report.rejected_files.setdefault(_RECORD_SUFFIX.sub("", exc.source), exc.reason)


IDF_REFRESH = 0.1  # the learnt IDF is read again once the corpus has grown by this share
IDF_TERM_MIN_DOCS = 2  # terms in fewer articles are left to jieba's IDF (the fallback)
_learnt_idf: dict[str, tuple[int, Idf]] = {}  # database path → (articles then, IDF)


def corpus_idf(store: Store, min_docs: int = IDF_MIN_DOCS) -> Idf | None:
    """IDF learnt from the stored corpus once it has ``min_docs`` articles, else ``None``
    (jieba's bundled IDF is used then).

    Reading the document frequencies from the word index scans all of it (seconds at 100,000
    articles), so they are saved in the database (``learnt_df``) and a process keeps the table
    it built: the saved frequencies are taken while the corpus has grown by less than
    ``IDF_REFRESH`` since they were counted (so a restarted bot does not scan), the index is
    scanned and the result saved again after that."""
    n = store.count()
    if n < min_docs:
        return None
    cached = _learnt_idf.get(store.path)
    if cached is not None and _fresh(cached[0], n):
        return cached[1]
    learnt = _saved_idf(store, n)
    if learnt is None:
        try:
            store.save_vocabulary(n, min_docs=IDF_TERM_MIN_DOCS)
            learnt = _saved_idf(store, n)
        except StoreError as exc:  # a read-only database, a lock held too long: scan, as before
            log.warning("the learnt IDF could not be saved: %s", exc)
    if learnt is None:
        vocabulary = store.vocabulary(min_docs=IDF_TERM_MIN_DOCS)
        learnt = (n, Idf.from_document_frequencies(vocabulary, n, fallback=Idf.default()))
    _learnt_idf[store.path] = learnt
    return learnt[1]


def _fresh(articles_then: int, articles: int) -> bool:
    """Whether frequencies counted at ``articles_then`` articles still serve ``articles``."""
    return articles_then <= articles < articles_then * (1 + IDF_REFRESH)


def _saved_idf(store: Store, n: int) -> tuple[int, Idf] | None:
    """(articles then, IDF) from the saved frequencies, if there are some still fresh at ``n``
    articles; the IDF is computed for the count they were taken at, as it was when saved."""
    with store.stored_vocabulary() as saved:
        if saved is None or not _fresh(saved[0], n):
            return None
        then, vocabulary = saved
        return then, Idf.from_document_frequencies(vocabulary, then, fallback=Idf.default())


_worker_idf: Idf | None = None


def _load_shared(idf: Idf | None) -> None:
    """Load what every analysis needs (the segmenter's dictionary, OpenCC, the gazetteer, stop
    words, the IDF lookup tables, numpy for the summary graph). Done in the parent before the pool
    forks, so the workers inherit it instead of each loading it again (~1 s of CPU per worker)."""
    from .regions import load_gazetteer
    from .summarizer import warm as warm_summarizer
    from .text import raw_tokens, to_simplified

    raw_tokens("预热")  # the segmenter's dictionary (jieba-rs loads it on import)
    to_simplified("預熱")  # OpenCC, and what tells the texts it would change
    warm_summarizer()
    load_gazetteer()
    load_stopwords()
    (idf or Idf.default()).warm()


@contextmanager
def _collector_for_pool(threshold: int = GC_YOUNG_THRESHOLD) -> Iterator[None]:
    """The cyclic garbage collector while a pool analyses: what is alive now (the segmenter's,
    the gazetteer's and the IDF's tables) frozen out of its generations, as the ``gc`` docs advise
    before a fork, and its youngest generation collected every ``threshold`` new containers
    instead of 700, so that an article's short-lived lists and dicts are freed by their
    reference counts before a collection walks them. Restored after (docs/benchmarks.md).

    Only on the main thread (``digestbot ingest``): the collector is the whole process's, and a
    bot's corpus poll, which runs in a thread, leaves it to the bot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _init_worker(idf: Idf | None) -> None:
    global _worker_idf
    _worker_idf = idf
    _load_shared(idf)  # a no-op after a fork; loads everything under spawn


def _analyze_task(raws: list[RawArticle], idf: Idf | None) -> Analysed:
    return [_safe_analyze(raw, idf) for raw in raws]


def _analyze_in_worker(raws: list[RawArticle]) -> Analysed:
    return _analyze_task(raws, _worker_idf)


def _in_order(
    pool: ProcessPoolExecutor,
    raws: Iterator[RawArticle],
    size: int,
    ahead: int,
    work: Callable[[list[RawArticle]], Analysed] = _analyze_in_worker,
    local: Callable[[list[RawArticle]], Analysed] | None = None,
) -> Iterator[AnalyzedArticle | RejectedInput]:
    """Analyses of ``raws`` in input order, ``size`` articles per task and at most ``ahead``
    tasks in flight: the workers never wait for the reader or the writer (no barrier between
    chunks), and memory stays bounded however large the input.

    With ``local``, the calling process works too: whenever the oldest task is not done yet, it
    takes the newest task no worker has started (work stealing) and runs ``local`` on it. The
    caller, which stores the results, then never sits idle waiting for the pool, and the pool
    needs one process fewer than there are cores (no third process contending for two cores).
    """
    pending: deque[tuple[Future[Analysed], list[RawArticle]]] = deque()
    try:
        while True:
            while len(pending) < ahead:
                task = list(islice(raws, size))
                if not task:
                    break
                pending.append((pool.submit(work, task), task))
            if not pending:
                return
            if local is not None:
                while not pending[0][0].done() and _steal(pending, local):
                    pass
            yield from pending.popleft()[0].result()
    finally:  # stopped early: the tasks not started yet are dropped, not run
        for future, _ in pending:
            future.cancel()


def _widen_pipes(pool: ProcessPoolExecutor, size: int = PIPE_BYTES) -> None:
    """Make the pipes that carry ``pool``'s tasks and results ``size`` bytes deep (Linux's
    ``F_SETPIPE_SZ``; elsewhere, or if the pool's queues are not where CPython keeps them,
    nothing changes but speed).

    With the default 64 KB, a worker sending a task's results (~200 KB) blocks until this
    process's result thread has read each 64 KB; that thread needs the GIL for every read, and
    this process holds it while it analyses (up to the 5 ms switch interval each time), so the
    worker sat blocked in ``write`` after almost every task."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is None:
        return
    for queue in (getattr(pool, "_call_queue", None), getattr(pool, "_result_queue", None)):
        reader = getattr(queue, "_reader", None)
        try:
            fcntl.fcntl(reader.fileno(), set_size, size)  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError):
            log.debug("could not widen a pool pipe", exc_info=True)


def _steal(
    pending: deque[tuple[Future[Analysed], list[RawArticle]]],
    local: Callable[[list[RawArticle]], Analysed],
) -> bool:
    """Run the newest task of ``pending`` that no worker has started here (its future, cancelled
    in the pool, is replaced by one holding the result); ``False`` when every task has started."""
    for i in range(len(pending) - 1, 0, -1):
        future, task = pending[i]
        if future.cancel():
            done: Future[Analysed] = Future()
            done.set_result(local(task))
            pending[i] = (done, task)
            return True
    return False


def _safe_analyze(raw: RawArticle, idf: Idf | None) -> AnalyzedArticle | RejectedInput:
    try:
        return analyze(raw, idf)
    except Exception as exc:  # an analysis bug must not lose the other articles
        logging.getLogger(__name__).exception("analysis failed for %s", raw.source_path)
        return RejectedInput(raw.source_path, f"analysis failed ({type(exc).__name__})")


def index_values(article: Article) -> tuple[str, str, str, str]:
    """What the full-text index holds for a stored article (it is analysed again: the index is
    contentless, and FTS5 removes a row by its values)."""
    raw = RawArticle(title=article.title, paragraphs=article.paragraphs)
    analysed = analyze(raw)
    return analysed.title_index, analysed.body_index, analysed.title_grams, analysed.body_grams


def store_batch(store: Store, batch: list[AnalyzedArticle]) -> list[AddResult]:
    """Store ``batch``: an article read from a file that an earlier, different article came
    from replaces that article (same id and number: an edited file is not a new article)."""
    before = store.articles_from_sources([a.source_path for a in batch if a.source_path])
    results: list[AddResult] = []
    fresh: list[AnalyzedArticle] = []
    for art in batch:
        old = before.get(art.source_path)
        if old is not None and old.content_hash != art.content_hash:
            results.append(store.replace_article(old, index_values(old), art))
        else:
            fresh.append(art)
    return results + store.add(fresh)


def remove(store: Store, article_id: str) -> Article | None:
    """Remove the article ``article_id`` (id or number); ``None`` if there is none."""
    article = store.get(article_id)
    if article is not None:
        store.remove_article(article, index_values(article))
    return article


def ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    on_batch: Callable[[list[AddResult]], None] | None = None,
    idf_min_docs: int = IDF_MIN_DOCS,
    stop: threading.Event | None = None,
    status: IngestStatus | None = None,
    short_transactions: bool = False,
) -> IngestReport:
    """Read, analyse and store the articles in ``paths``. Setting ``stop`` ends the run after the
    article in hand (what was analysed is committed; ``report.interrupted`` tells).

    A bulk load commits ``BULK_BATCH_SIZE`` articles at a time; with ``short_transactions`` (a
    process serving users) ``BATCH_SIZE``, so that its own writes (update journal, ledger) never
    wait behind a long transaction."""
    report = IngestReport()
    reading = read_inputs(paths, report, stop=stop, status=status)
    first = list(islice(reading, PARALLEL_MIN))  # enough to choose between pool and loop
    idf = corpus_idf(store, idf_min_docs)
    if workers is None:
        workers = os.cpu_count() or 1
    big = len(first) >= PARALLEL_MIN  # a bulk load
    use_pool = workers > 1 and big
    batch_size = BULK_BATCH_SIZE if big and not short_transactions else BATCH_SIZE
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
        with (
            _collector_for_pool(),
            ProcessPoolExecutor(  # this process is the last of ``workers`` (see _in_order)
                workers - 1, mp_context=ctx, initializer=_init_worker, initargs=(idf,)
            ) as pool,
        ):
            _widen_pipes(pool)
            ahead = max(workers * LOOKAHEAD, int(batch_size * IN_FLIGHT_BATCHES) // TASK_ARTICLES)
            here = partial(_analyze_task, idf=idf)  # the tasks this process takes (see _in_order)
            yield from _in_order(pool, chain(first, reading), TASK_ARTICLES, ahead, local=here)

    batch: list[AnalyzedArticle] = []

    def flush() -> None:
        results = store_batch(store, batch)
        for result in results:
            {"added": report.added, "replaced": report.replaced}.get(
                result.status, report.duplicates
            ).append(result)
        if status is not None:
            status.added = len(report.added)
        if on_batch:
            on_batch(results)
        batch.clear()

    try:
        with store.bulk_load() if big else nullcontext():
            for item in analysed():
                if stop is not None and stop.is_set():
                    report.interrupted = True
                    break
                if bar is not None:
                    bar.update(1)
                if isinstance(item, RejectedInput):
                    _reject(report, item)
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
    finally:
        if bar is not None:
            bar.close()
    if stop is not None and stop.is_set():
        report.interrupted = True
    if big and report.added and not report.interrupted:
        # the learnt IDF counted and saved now, while nobody waits for it: otherwise the first
        # article a bot analyses after the load waits for the scan of the whole word index
        # (~55 s at 1,000,000 articles; docs/benchmarks.md)
        corpus_idf(store, idf_min_docs)
    if report.rejected_count > LOGGED_REJECTIONS:
        log.warning(
            "%d more rejected (%d in all; the first %d are listed in the report)",
            report.rejected_count - LOGGED_REJECTIONS, report.rejected_count, len(report.rejected),
        )  # fmt: skip
    return report
