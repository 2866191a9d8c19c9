"""Ingest runs: parallel analysis, batch transactions, interruption, corpus-learnt IDF."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from digests import ingest as ingest_module
from digests.ingest import corpus_idf, ingest
from digests.store import Store

from .conftest import SEEDS

WORDS = [
    "兵团",
    "新疆",
    "棉花",
    "职工",
    "连队",
    "党建",
    "乡村",
    "振兴",
    "教育",
    "医疗",
    "交通",
    "工业",
    "旅游",
    "文化",
    "科技",
    "农业",
    "牧区",
    "水利",
]


def write_articles(folder: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "many.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            body = "".join(
                f"{rng.choice(WORDS)}{rng.choice(WORDS)}工作取得新进展。" for _ in range(12)
            )
            fh.write(
                json.dumps(
                    {"title": f"第{i}篇 {rng.choice(WORDS)}", "text": body}, ensure_ascii=False
                )
                + "\n"
            )


def test_parallel_and_serial_ingest_store_the_same(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 80)
    results = {}
    for workers in (1, 2, 3):  # no pool; one worker and this process; two and this process
        with Store(tmp_path / f"w{workers}.db") as store:
            report = ingest(store, [tmp_path / "in"], workers=workers)
            assert len(report.added) == 80 and report.ok
            results[workers] = [
                (a.seq, a.title, a.keywords, a.summary, a.regions) for a in store.latest(100)
            ]
    assert results[1] == results[2] == results[3]
    assert [title.split()[0] for _, title, *_ in reversed(results[1])] == [
        f"第{i}篇" for i in range(80)
    ]  # numbered in input order


def _slow_double(task: list[int]) -> list[int]:
    time.sleep(0.05)
    return [x * 2 for x in task]


def test_the_ingesting_process_runs_the_tasks_no_worker_has_started() -> None:
    """While the oldest task is still running in the pool, the caller analyses the newest one
    not started (work stealing); the results still come in input order, each exactly once."""
    ran_here: list[int] = []

    def here(task: list[int]) -> list[int]:
        ran_here.extend(task)
        return [x * 2 for x in task]

    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        out = list(
            ingest_module._in_order(pool, iter(range(40)), 2, 10, _slow_double, here)  # type: ignore[arg-type]
        )
    assert out == [x * 2 for x in range(40)]
    assert 0 < len(ran_here) < 40  # both the worker and this process ran tasks
    assert len(set(ran_here)) == len(ran_here)


def test_duplicates_within_one_run_and_across_runs(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_bytes(SEEDS[0].read_bytes())
    report = ingest(store, [SEEDS[0], copy], workers=1)
    assert len(report.added) == 1 and len(report.duplicates) == 1
    report = ingest(store, [SEEDS[0]], workers=1)
    assert report.added == [] and report.duplicates[0].duplicate_of == report.duplicates[0].id


def test_interrupted_ingest_keeps_whole_batches_only(tmp_path: Path, monkeypatch) -> None:
    write_articles(tmp_path / "in", 30)
    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 10)
    calls = []

    def interrupt(results) -> None:
        calls.append(len(results))
        if len(calls) == 2:
            raise KeyboardInterrupt

    with Store(tmp_path / "i.db") as store:
        with pytest.raises(KeyboardInterrupt):
            ingest(store, [tmp_path / "in"], workers=1, on_batch=interrupt)
        # the second batch committed before the interrupt: 20 whole articles, index in step
        assert store.count() == 20
        assert store.fts_count('"工作"') == 20
        report = ingest(store, [tmp_path / "in"], workers=1)  # resuming adds the rest
        assert len(report.added) == 10 and len(report.duplicates) == 20


def test_bad_files_do_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00garbage")
    report = ingest(store, [bad, *SEEDS], workers=1)
    assert len(report.added) == 2 and len(report.rejected) == 1


def test_corpus_idf_takes_over_once_the_corpus_is_large(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 40)
    with Store(tmp_path / "idf.db") as store:
        ingest(store, [tmp_path / "in"], workers=1)
        assert corpus_idf(store, min_docs=1000) is None
        idf = corpus_idf(store, min_docs=10)
        assert idf is not None
        # a word in every article is worth less than one in a few
        assert idf("工作") < min(idf(w) for w in WORDS)


def test_learnt_idf_is_read_again_only_after_the_corpus_grew(tmp_path: Path, monkeypatch) -> None:
    write_articles(tmp_path / "in", 40)
    with Store(tmp_path / "idf-memo.db") as store:
        ingest(store, [tmp_path / "in"], workers=1)
        reads: list[int] = []  # scans of the word index (saved to learnt_df)
        save = store.save_vocabulary
        monkeypatch.setattr(store, "save_vocabulary", lambda n, **kw: reads.append(n) or save(n, **kw))
        first = corpus_idf(store, min_docs=10)
        assert corpus_idf(store, min_docs=10) is first and len(reads) == 1
        write_articles(tmp_path / "more", 10, seed=8)
        ingest(store, [tmp_path / "more"], workers=1)  # 40 → 50 articles: 25 % more
        assert corpus_idf(store, min_docs=10) is not first and len(reads) >= 2


def test_a_bulk_load_leaves_the_learnt_idf_saved(tmp_path: Path) -> None:
    """A bulk load ends by counting and saving the document frequencies, so the first article a
    bot analyses after it does not wait for a scan of the whole index; a small load leaves them."""
    write_articles(tmp_path / "few", 40)
    write_articles(tmp_path / "many", 80, seed=9)  # PARALLEL_MIN articles or more: a bulk load
    with Store(tmp_path / "saved.db") as store:
        ingest(store, [tmp_path / "few"], workers=1, idf_min_docs=10)
        with store.stored_vocabulary() as saved:
            assert saved is None
        ingest(store, [tmp_path / "many"], workers=1, idf_min_docs=10)
        with store.stored_vocabulary() as saved:
            assert saved is not None
            articles, vocabulary = saved
            assert articles == 120 and vocabulary.get("工作") == 120


def test_the_pool_pipes_hold_a_whole_task() -> None:
    """A worker's results go down its pipe in one write (64 KB pipes made it wait after each)."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux's")
    with ProcessPoolExecutor(1) as pool:
        ingest_module._widen_pipes(pool)
        for queue in (pool._call_queue, pool._result_queue):  # type: ignore[attr-defined]
            size = fcntl.fcntl(queue._reader.fileno(), fcntl.F_GETPIPE_SZ)
            assert size >= ingest_module.PIPE_BYTES


def test_a_pooled_load_on_the_main_thread_quiets_the_collector_and_restores_it(
    tmp_path: Path, monkeypatch
) -> None:
    """While a pool analyses, the objects alive before it are frozen and the youngest generation
    is collected every GC_YOUNG_THRESHOLD containers; after it, the collector is as it was. A
    load run in a thread (a bot's corpus poll) leaves the collector alone."""
    import gc
    import threading

    monkeypatch.setattr(ingest_module, "BULK_BATCH_SIZE", 20)  # batches stored while it runs
    write_articles(tmp_path / "in", 80)
    before = gc.get_threshold()
    seen: dict[str, tuple[int, int]] = {}

    def load(name: str) -> None:
        def look(_: object) -> None:
            seen.setdefault(name, (gc.get_threshold()[0], gc.get_freeze_count()))

        with Store(tmp_path / f"{name}.db") as store:
            report = ingest(store, [tmp_path / "in"], workers=2, on_batch=look)
            assert len(report.added) == 80

    load("main")
    assert seen["main"][0] == ingest_module.GC_YOUNG_THRESHOLD != before[0]
    assert seen["main"][1] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    thread = threading.Thread(target=load, args=("thread",))
    thread.start()
    thread.join()
    assert seen["thread"] == (before[0], 0)
