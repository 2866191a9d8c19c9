"""The learnt IDF's saved document frequencies (``learnt_df``), on SQLite and PostgreSQL: a new
process reads them instead of scanning the word index, they are counted again once the corpus has
grown, they give the same keywords as a scan, and two processes saving at once both succeed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from digests import ingest as ingest_module
from digests.formats import RawArticle, read_file
from digests.ingest import IDF_TERM_MIN_DOCS, corpus_idf, ingest
from digests.keywords import Idf
from digests.pipeline import analyze
from digests.store import Store

from .conftest import SEEDS
from .pgkit import BACKENDS, open_backend, two_stores
from .test_ingest import write_articles

MIN_DOCS = 10  # corpus_idf's threshold in these tests (40 articles are enough)


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with open_backend(request.param, tmp_path) as store:
        yield store


@pytest.fixture
def new_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has not built the IDF yet (the in-process table is emptied)."""
    monkeypatch.setattr(ingest_module, "_learnt_idf", {})
    yield


def fresh_idf(store: Store) -> Idf:
    """corpus_idf as a newly started process sees it."""
    ingest_module._learnt_idf.clear()
    idf = corpus_idf(store, min_docs=MIN_DOCS)
    assert idf is not None
    return idf


def saved(store: Store) -> tuple[int, dict[str, int]]:
    with store.stored_vocabulary() as found:
        assert found is not None
        return found[0], dict(found[1].items())


def add(store: Store, folder: Path, n: int, seed: int) -> None:
    write_articles(folder, n, seed=seed)
    ingest(store, [folder], workers=1)


def test_a_new_process_reads_the_saved_frequencies_not_the_index(
    any_store: Store, tmp_path: Path, new_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(any_store, tmp_path / "in", 40, seed=7)
    first = corpus_idf(any_store, min_docs=MIN_DOCS)
    assert first is not None
    assert saved(any_store) == (40, dict(any_store.vocabulary(min_docs=IDF_TERM_MIN_DOCS).items()))
    # what only the saved table says: 工作 (in every article) is said to be in one
    any_store._write(f"UPDATE learnt_df SET df = 1 WHERE term = {any_store._MARK}", ["工作"])

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the word index was scanned")

    monkeypatch.setattr(any_store, "vocabulary", no_scan)
    monkeypatch.setattr(any_store, "save_vocabulary", no_scan)
    again = fresh_idf(any_store)
    assert again is not first
    assert again("工作") > first("工作") + 1.0  # read from the table
    assert [again(w) for w in ("兵团", "棉花", "不在词表")] == [
        first(w) for w in ("兵团", "棉花", "不在词表")
    ]
    assert corpus_idf(any_store, min_docs=MIN_DOCS) is again  # then kept in the process


def test_the_saved_frequencies_are_counted_again_once_the_corpus_grew(
    any_store: Store, tmp_path: Path, new_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(any_store, tmp_path / "a", 40, seed=7)
    fresh_idf(any_store)
    assert saved(any_store)[0] == 40
    saves: list[int] = []
    save = any_store.save_vocabulary
    monkeypatch.setattr(any_store, "save_vocabulary", lambda n, **kw: saves.append(n) or save(n, **kw))
    add(any_store, tmp_path / "b", 3, seed=8)  # 43 < 40 × 1.1: still fresh
    fresh_idf(any_store)
    assert saves == [] and saved(any_store)[0] == 40
    add(any_store, tmp_path / "c", 7, seed=9)  # 50: a quarter more
    grown = fresh_idf(any_store)
    assert saves == [50]
    then, frequencies = saved(any_store)
    assert then == 50 and frequencies["工作"] == 50
    assert frequencies == dict(any_store.vocabulary(min_docs=IDF_TERM_MIN_DOCS).items())
    assert grown("工作") == pytest.approx(Idf.from_document_frequencies({"工作": 50}, 50)("工作"))
    assert fresh_idf(any_store)("工作") == grown("工作") and saves == [50]


def test_keywords_are_the_same_from_the_index_or_the_saved_table(
    any_store: Store, tmp_path: Path, new_process: None
) -> None:
    add(any_store, tmp_path / "in", 40, seed=7)
    ingest(any_store, SEEDS, workers=1)
    n = any_store.count()
    vocabulary = any_store.vocabulary(min_docs=IDF_TERM_MIN_DOCS)
    scanned = Idf.from_document_frequencies(vocabulary, n, fallback=Idf.default())
    fresh_idf(any_store)  # scans and saves
    from_table = fresh_idf(any_store)  # reads the table
    assert saved(any_store)[0] == n
    assert [from_table(t) for t in vocabulary] == [scanned(t) for t in vocabulary]
    articles = [a for path in SEEDS for a in read_file(path) if isinstance(a, RawArticle)]
    assert articles
    for raw in articles:
        expected = analyze(raw, scanned).keywords
        assert expected and analyze(raw, from_table).keywords == expected


@pytest.mark.parametrize("kind", BACKENDS)
def test_two_processes_saving_at_once_both_succeed(kind: str, tmp_path: Path) -> None:
    with two_stores(kind, tmp_path) as (one, other):
        add(one, tmp_path / "in", 40, seed=7)
        ingest(one, SEEDS, workers=1)
        expected = dict(one.vocabulary(min_docs=IDF_TERM_MIN_DOCS).items())
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def save(store: Store, articles: int) -> None:
            try:
                for _ in range(5):
                    start.wait(timeout=30)
                    store.save_vocabulary(articles, min_docs=IDF_TERM_MIN_DOCS)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(s, a)) for s, a in ((one, 42), (other, 43))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        then, frequencies = saved(other)
        assert then in (42, 43) and frequencies == expected
