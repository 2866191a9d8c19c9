"""Keyword search: segmentation, phrases, exclusions, ranking, snippets and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digests.errors import QueryError
from digests.ingest import ingest
from digests.search import keyword_search, parse_query
from digests.store import Store

from .conftest import GRASSROOTS_TITLE, PARTY_TITLE

ARTICLES = [
    (
        "驻村工作队助力乡村振兴",
        "驻村工作队深入田间地头，帮助农民增收致富。第一书记带领村民发展特色产业。",
    ),
    ("棉花丰收季", "今年新疆棉花喜获丰收，机采棉比例持续提高。农民的收入明显增长。"),
    ("新疆棉花研究", "研究人员发布报告，分析棉花品种改良的最新进展。报告认为技术进步很快。"),
    ("傳統字新聞", "兵團職工積極參加培訓，學習農業技術。培訓內容豐富多彩。"),
]


@pytest.fixture
def corpus_store(store: Store, tmp_path: Path) -> Store:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, (title, text) in enumerate(ARTICLES):
        (folder / f"{i}.json").write_text(
            json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8"
        )
    report = ingest(store, [folder], workers=1)
    assert len(report.added) == len(ARTICLES)
    return store


def titles(store: Store, query: str, **kw) -> list[str]:
    return [h.article.title for h in keyword_search(store, query, **kw).hits]


def test_seed_search_ranks_grassroots_article_first(seeded: Store) -> None:
    results = keyword_search(seeded, "第一书记")
    assert results.hits[0].article.title == GRASSROOTS_TITLE
    assert any(marked and "第一书记" in text for text, marked in results.hits[0].snippet)


def test_several_words_mean_all(corpus_store: Store) -> None:
    assert titles(corpus_store, "棉花 丰收") == ["棉花丰收季"]
    assert set(titles(corpus_store, "棉花")) == {"棉花丰收季", "新疆棉花研究"}


def test_title_weighs_more_than_body(corpus_store: Store) -> None:
    assert titles(corpus_store, "研究")[0] == "新疆棉花研究"


def test_phrase_and_exclusion(corpus_store: Store) -> None:
    assert titles(corpus_store, '"驻村工作队"') == ["驻村工作队助力乡村振兴"]
    assert titles(corpus_store, "棉花 -丰收") == ["新疆棉花研究"]
    assert titles(corpus_store, "“农民 增收”") == ["驻村工作队助力乡村振兴"]


def test_traditional_and_simplified_fold(corpus_store: Store) -> None:
    assert titles(corpus_store, "兵团职工") == ["傳統字新聞"]
    assert titles(corpus_store, "農業技術") == ["傳統字新聞"]
    assert titles(corpus_store, "棉花豐收") == ["棉花丰收季"]


def test_parts_of_words_are_found(corpus_store: Store) -> None:
    assert titles(corpus_store, "书记") == ["驻村工作队助力乡村振兴"]  # in 第一书记
    assert titles(corpus_store, "村工") == ["驻村工作队助力乡村振兴"]  # across 驻村/工作队


def test_pagination_and_total(corpus_store: Store) -> None:
    first = keyword_search(corpus_store, "棉花", limit=1)
    second = keyword_search(corpus_store, "棉花", limit=1, offset=1)
    assert first.total == second.total == 2
    assert first.hits[0].article.id != second.hits[0].article.id
    assert keyword_search(corpus_store, "棉花", limit=1, offset=5).hits == []


COTTON = {"棉花丰收季", "新疆棉花研究"}
NO_WORDS = "nothing to search for"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"', NO_WORDS),
        ('"棉花', COTTON),
        ("棉花 *", COTTON),
        ("(棉花", COTTON),
        ("棉花)", COTTON),
        ("title:棉花", set()),  # every word counts: no article has "title"
        ("^棉花", COTTON),
        ("棉花 NEAR 丰收", set()),
        ("棉花 OR", COTTON),
        ("AND", "only very common words"),
        ("NOT 棉花", COTTON),
        ("- 棉花", COTTON),
        ("--棉花", "not only -exclusions"),
        ("棉花 -", COTTON),
        ("{title body}:棉花", set()),
        ("棉花\x00", COTTON),
        ("棉\u200b花", COTTON),  # invisible characters are dropped, as in the documents
        ("🌾棉花🌾", COTTON),
        ("<b>&amp;棉花", set()),
        ("'; DROP TABLE articles; --", set()),
        ("棉花" * 3000, COTTON),
    ],
)
def test_hostile_queries_never_raise_fts_errors(
    corpus_store: Store, query: str, expected: set[str] | str
) -> None:
    """FTS5 syntax in user text is plain characters: results as for the words, or a clear
    refusal, never an sqlite error."""
    try:
        results = keyword_search(corpus_store, query)
    except QueryError as exc:
        assert isinstance(expected, str) and expected in str(exc), exc
        return
    assert {hit.article.title for hit in results.hits} == expected
    assert results.total == len(expected)
    assert corpus_store.count() == len(ARTICLES)


@pytest.mark.parametrize("query", ["", "   ", "的", "的 了 和", "？！。", "-棉花", "***"])
def test_empty_stopword_and_symbol_queries_get_a_message(corpus_store: Store, query: str) -> None:
    with pytest.raises(QueryError) as info:
        keyword_search(corpus_store, query)
    assert str(info.value)


def test_parse_query_structure() -> None:
    parsed = parse_query('棉花 "驻村 工作队" -研究 G7 "G7 峰会" -iPhone 第六师')
    assert parsed.grams == ["棉花", "驻村工作队", "第六师"]  # strings: 第六师 is 第六 / 师
    assert parsed.words == ["G7"]
    assert parsed.phrases == [["G7", "峰会"]]
    assert parsed.excluded_grams == ["研究"]
    assert parsed.excluded_words == [["iPhone"]]
    plan = parsed.plan()
    assert plan.table == "articles_grams"
    assert plan.match == '"棉花" AND "驻村 村工 工作 作队" AND "第六 六师" NOT ("研究")'
    assert plan.filters == [
        ("articles_fts", '"G7" AND "G7 峰会"', True),
        ("articles_fts", '"iPhone"', False),
    ]
    words_only = parse_query("G7 -兵团").plan()
    assert (words_only.table, words_only.match) == ("articles_fts", '"G7"')
    assert words_only.filters == [("articles_grams", '"兵团"', False)]


def test_snippet_marks_terms_and_keeps_original_text(corpus_store: Store) -> None:
    hit = keyword_search(corpus_store, "农业技术").hits[0]
    marked = [text for text, is_match in hit.snippet if is_match]
    assert marked and all(m in ("農業", "技術", "農業技術") for m in marked)


def test_seed_search_json_shape(seeded: Store) -> None:
    results = keyword_search(seeded, "兵团")
    assert {h.article.title for h in results.hits} >= {PARTY_TITLE}


def test_common_words_rank_the_newest_candidates(corpus_store: Store, monkeypatch) -> None:
    """When every query word is very common, only a window of the newest articles is ranked."""
    from digests import search

    exact = keyword_search(corpus_store, "棉花", limit=5)
    monkeypatch.setattr(search, "CANDIDATES", 1)
    monkeypatch.setattr(search, "PHRASE_CANDIDATES", 1)
    windowed = keyword_search(corpus_store, "棉花", limit=1)
    assert windowed.total == 2 and not windowed.approximate  # few matches: counted exactly
    newest = max(h.article.seq for h in exact.hits)
    assert windowed.hits[0].article.seq == newest  # the window holds the newest match
    page = keyword_search(corpus_store, "棉花", limit=5)  # the window widens to fill a page
    assert {h.article.id for h in page.hits} == {h.article.id for h in exact.hits}
    two = keyword_search(corpus_store, "棉花 研究", limit=1)
    assert [h.article.title for h in two.hits] == ["新疆棉花研究"]
