"""Search finds every string that appears in an article, and estimated totals stay within ±5 %.

Both on generated corpora where the truth is counted with ``in`` on the stored text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from digests import search
from digests.ingest import ingest
from digests.models import AnalyzedArticle, Results
from digests.search import keyword_search
from digests.store import Store
from digests.text import cjk_grams, index_terms, to_simplified, tokenize

FILLER = [
    "职工群众积极参加培训。",
    "棉花长势喜人，丰收在望。",
    "驻村工作队深入田间地头。",
    "基层党组织凝聚力不断增强。",
    "塔里木河畔的胡杨林金黄一片。",
]
PLACES = ["第六师", "六师", "兵团第六师", "六师五家渠市", "第十六师范学校", "第一书记", "一书"]


@pytest.fixture(scope="module")
def recall_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    rng = random.Random(13)
    folder = tmp_path_factory.mktemp("recall")
    texts = []
    with (folder / "a.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(240):
            parts = rng.sample(FILLER, 3) + rng.sample(PLACES, rng.randint(0, 3))
            rng.shuffle(parts)
            text = "".join(p if p.endswith("。") else f"{p}的同志来了。" for p in parts)
            title = f"新闻{i}：" + rng.choice(["第六师动态", "基层新闻", "一书记访谈", "连队见闻"])
            texts.append(title + "\n" + text)
            fh.write(json.dumps({"title": title, "text": text}, ensure_ascii=False) + "\n")
    store = Store(folder / "recall.db")
    assert len(ingest(store, [folder], workers=1).added) == 240
    yield store, texts
    store.close()


def _truth(texts: list[str], *strings: str) -> int:
    return sum(all(s in to_simplified(t) for s in strings) for t in texts)


@pytest.mark.parametrize(
    "query, strings",
    [
        ("六师", ["六师"]),  # inside 第六师 (第六 / 师) and 第十六师范 too: the string is there
        ("第六师", ["第六师"]),
        ("第一书记 六师", ["第一书记", "六师"]),
        ("一书", ["一书"]),  # inside 第一书记
        ("书记", ["书记"]),
        ("五家渠", ["五家渠"]),
        ("师五", ["师五"]),  # across 六师/五家渠市
    ],
)
def test_every_string_that_appears_is_found(recall_store, query: str, strings: list[str]) -> None:
    store, texts = recall_store
    truth = _truth(texts, *strings)
    assert truth > 0
    results = keyword_search(store, query, limit=300)
    assert results.total == truth and not results.approximate
    assert len(results.hits) == truth
    for hit in results.hits:
        text = to_simplified(hit.article.title + "\n" + "\n".join(hit.article.paragraphs))
        assert all(s in text for s in strings)


def test_a_string_is_not_matched_across_punctuation(recall_store) -> None:
    store, texts = recall_store
    # "…喜人，丰收…": 人丰 never appears as written
    assert _truth(texts, "人丰") == 0
    assert keyword_search(store, "人丰").total == 0


def test_exclusion_removes_every_article_holding_the_string(recall_store) -> None:
    store, texts = recall_store
    truth = sum("棉花" in t and "六师" not in t for t in texts)
    assert keyword_search(store, "棉花 -六师").total == truth


def test_title_matches_rank_first(recall_store) -> None:
    store, _ = recall_store
    hits = keyword_search(store, "第六师", limit=5).hits
    assert all("第六师" in hit.article.title for hit in hits)


def _article(n: int, body: str) -> AnalyzedArticle:
    title = f"标题{n}"
    return AnalyzedArticle(
        id=f"id{n:06d}",
        content_hash=f"hash{n:06d}",
        title=title,
        paragraphs=[body],
        summary=[],
        keywords=[],
        regions={},
        title_index=index_terms(tokenize(title)),
        body_index=index_terms(tokenize(body)),
        title_grams=cjk_grams(title),
        body_grams=cjk_grams(body),
        chars=len(body),
    )


def test_estimated_totals_are_within_five_percent(tmp_path: Path) -> None:
    """20,000 articles; 兵团's share drifts from 20 % (oldest) to 80 % (newest), so the newest
    articles alone would overestimate it by half; 棉花 is in 30 %, G7 in 50 %."""
    rng = random.Random(5)
    n = 20_000
    articles = []
    for i in range(n):
        words = ["新闻"]
        if rng.random() < 0.2 + 0.6 * i / n:
            words.append("兵团")
        if rng.random() < 0.3:
            words.append("棉花")
        if rng.random() < 0.5:
            words.append("G7")
        articles.append(_article(i, "，".join(words) + "。"))
    with Store(tmp_path / "big.db") as store:
        with store.bulk_load():
            store.add(articles)
        for query, test in [
            ("兵团", lambda b: "兵团" in b),
            ("棉花", lambda b: "棉花" in b),
            ("兵团 棉花", lambda b: "兵团" in b and "棉花" in b),
            ("G7", lambda b: "G7" in b),
            ("兵团 G7", lambda b: "兵团" in b and "G7" in b),
            ("兵团 -棉花", lambda b: "兵团" in b and "棉花" not in b),
        ]:
            truth = sum(test(a.paragraphs[0]) for a in articles)
            results = keyword_search(store, query)
            assert results.approximate or query != "兵团"  # > COUNT_CAP matches: estimated
            assert abs(results.total - truth) <= 0.05 * truth, (query, results.total, truth)
            assert len(results.hits) == 5


def test_few_matches_are_counted_exactly(recall_store, monkeypatch) -> None:
    store, texts = recall_store
    monkeypatch.setattr(search, "COUNT_CAP", 10_000)
    assert keyword_search(store, "棉花").total == _truth(texts, "棉花")


def test_common_queries_rank_title_matches_then_the_newest(recall_store, monkeypatch) -> None:
    store, texts = recall_store
    monkeypatch.setattr(search, "CANDIDATES", 10)  # "六师" matches more: the two tiers
    results = keyword_search(store, "六师", limit=40)
    assert results.total == _truth(texts, "六师")
    seqs = [hit.article.seq for hit in results.hits]
    tiers = [hit.score for hit in results.hits]
    n = tiers.count(search.TITLE_SCORE)
    assert 0 < n < len(tiers) and set(tiers[n:]) == {search.BODY_SCORE}  # title tier first
    assert all("六师" in hit.article.title for hit in results.hits[:n])
    assert seqs[:n] == sorted(seqs[:n], reverse=True)  # newest first in each tier
    assert seqs[n:] == sorted(seqs[n:], reverse=True)
    assert len(set(seqs)) == len(seqs)
    page2 = keyword_search(store, "六师", limit=5, offset=5)
    assert [h.article.seq for h in page2.hits] == seqs[5:10]


def test_a_very_common_term_skips_bm25_even_in_a_rare_query(recall_store, monkeypatch) -> None:
    store, texts = recall_store
    monkeypatch.setattr(search, "BM25_MAX_DF", 50)  # 职工 is in more than 50 of 240
    monkeypatch.setattr(search, "FIRST_SAMPLE", 16)
    results = keyword_search(store, "一书 职工", limit=300)
    assert results.total == _truth(texts, "一书", "职工")
    assert {hit.score for hit in results.hits} <= {search.TITLE_SCORE, search.BODY_SCORE}


def _search_recording_samples(
    path: Path, articles: list[AnalyzedArticle], monkeypatch
) -> tuple[Results, list[int]]:
    """Search 兵团 over ``articles`` with small estimate constants (cap 100, 400 hits, a first
    sample of 64 articles); return the results and the window of every sample read."""
    monkeypatch.setattr(search, "COUNT_CAP", 100)
    monkeypatch.setattr(search, "ESTIMATE_HITS", 400)
    monkeypatch.setattr(search, "FIRST_SAMPLE", 64)
    windows: list[int] = []
    sample = search._sample

    def recorded(store, table, match, filters, newest, window):  # type: ignore[no-untyped-def]
        windows.append(window)
        return sample(store, table, match, filters, newest, window)

    monkeypatch.setattr(search, "_sample", recorded)
    with Store(path) as store:
        store.add(articles)
        windows.clear()
        return keyword_search(store, "兵团"), windows


def test_an_estimate_sizes_its_next_sample_from_the_first(tmp_path: Path, monkeypatch) -> None:
    """The sample after the first is as large as the first one's rate says the estimate needs
    (with a margin), not twice the first again and again: every sample is read anew."""
    rng = random.Random(11)
    articles = [
        _article(i, "新闻，兵团。" if rng.random() < 0.3 else "新闻。") for i in range(4_000)
    ]
    truth = sum("兵团" in a.paragraphs[0] for a in articles)
    results, windows = _search_recording_samples(tmp_path / "sized.db", articles, monkeypatch)
    assert results.approximate and abs(results.total - truth) <= 0.1 * truth
    # ~19 matches in the first 64 articles: the next sample ~2,000 articles (doubling: 5 more)
    assert len(windows) <= 3, windows
    assert windows[1] > 4 * windows[0], windows


def test_a_sample_over_half_the_history_is_not_read_the_whole_is_counted(
    tmp_path: Path, monkeypatch
) -> None:
    """When the first sample's rate asks for a second one covering half of the history or
    more, the whole history is counted instead (exact): that sample cost about as much, and
    could still hold too few matches, and then the whole count came after it anyway."""
    articles = [_article(i, "新闻，兵团。" if i % 25 == 0 else "新闻。") for i in range(4_000)]
    results, windows = _search_recording_samples(tmp_path / "whole.db", articles, monkeypatch)
    assert (results.total, results.approximate) == (160, False)
    assert windows == [64]  # a second sample would have read ~4,000 articles
