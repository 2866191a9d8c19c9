"""Keyword and region search on PostgreSQL: tests/test_search.py again (its SQLite half runs
there), and the same queries compared across both backends.

Ranking: SQLite ranks by bm25, PostgreSQL by ``ts_rank`` (title 10:1 over body, normalised by
length); both return the same set of matches and the same total. Where scores tie, SQLite keeps
FTS5's order and PostgreSQL the older article first, so the comparison below compares sets per
query and exact order only for the engine's own ranking tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digests.ingest import ingest
from digests.search import keyword_search

from .conftest import CORPUS
from .pgkit import BACKENDS, open_backend, requires_pg
from .test_search import *  # noqa: F403  (every test and fixture, collected again here)
from .test_search import ARTICLES

QUERIES = [
    "棉花", "棉花 丰收", "研究", '"驻村工作队"', "棉花 -丰收", "“农民 增收”", "兵团职工",
    "農業技術", "棉花豐收", "书记", "村工", "新疆", "技术 -培训", "第一书记", "增收 OR 致富",
    'NEAR("a" "b")', "-棉花 报告", "c++", "兵团",
]  # fmt: skip


@pytest.fixture(params=["postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock):
    with open_backend(request.param, tmp_path, clock) as s:
        yield s


@pytest.fixture
def seeded(tmp_path: Path, clock):
    with open_backend("postgresql", tmp_path, clock) as s:
        report = ingest(s, [CORPUS], workers=1)
        assert len(report.added) == 2 and report.ok
        yield s


def _fill(store, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for i, (title, text) in enumerate(ARTICLES):
        (folder / f"{i}.json").write_text(
            json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8"
        )
    assert len(ingest(store, [folder, CORPUS], workers=1).added) == len(ARTICLES) + 2


def _answer(store, query: str) -> tuple[int, set[str]] | str:
    from digests.errors import QueryError

    try:
        results = keyword_search(store, query, limit=20)
    except QueryError as exc:
        return f"refused: {exc}"
    return results.total, {h.article.title for h in results.hits}


@requires_pg
def test_both_backends_give_the_same_results(tmp_path: Path, clock) -> None:
    answers = {}
    for kind in ("sqlite", "postgresql"):
        with open_backend(kind, tmp_path, clock) as s:
            _fill(s, tmp_path / "in")
            answers[kind] = {q: _answer(s, q) for q in QUERIES}
    assert answers["postgresql"] == answers["sqlite"]
    assert sum(1 for a in answers["sqlite"].values() if isinstance(a, tuple) and a[0]) >= 12


@pytest.mark.parametrize("kind", BACKENDS)
def test_region_search_on_either_backend(kind: str, tmp_path: Path, clock) -> None:
    from digests.regions import load_gazetteer
    from digests.search import region_search

    with open_backend(kind, tmp_path, clock) as s:
        assert len(ingest(s, [CORPUS], workers=1).added) == 2
        found = region_search(s, load_gazetteer(), "新疆")
        assert found.results.total >= 1 and found.results.hits


@requires_pg
def test_the_title_tier_finds_title_matches_only_on_both_backends(tmp_path: Path, clock) -> None:
    found = {}
    for kind in ("sqlite", "postgresql"):
        with open_backend(kind, tmp_path, clock) as s:
            _fill(s, tmp_path / "in")
            seqs = s.fts_newest('"报告"', 10, in_title='"报告"')  # in a body, in no title
            titled = s.fts_newest('"研究"', 10, in_title='"研究"')
            found[kind] = (seqs, [s.get_many(titled)[q].title for q in titled])
    assert found["postgresql"] == found["sqlite"] == ([], ["新疆棉花研究"])


COUNTED = [  # (table, expression, filters): phrases, exclusions, a title filter, another table
    ("articles_grams", '"棉花"', []),
    ("articles_grams", '"兵团 团职 职工"', []),
    ("articles_grams", '"棉花" NOT ("丰收")', []),
    ("articles_grams", '"棉花" NOT ("丰收 收季")', []),  # sure without both pairs, else checked
    ("articles_grams", '"新疆" NOT ("棉花 花研")', []),
    ("articles_grams", '"棉花" AND {title} : ("棉花")', []),
    ("articles_fts", '"棉花"', [("articles_grams", '"丰收"', False)]),
    ("articles_fts", '"技术" NOT "培训"', []),
]


@requires_pg
def test_counts_in_ranges_match_counts_one_range_at_a_time(tmp_path: Path, clock) -> None:
    """PostgreSQL counts the sample's ranges in one query, from GIN candidates checked by
    number: the sum of its counts range by range, and SQLite's totals (the two number the
    articles differently, so only whole-history counts compare across them)."""
    counts = {}
    for kind in ("sqlite", "postgresql"):
        with open_backend(kind, tmp_path, clock) as s:
            _fill(s, tmp_path / "in")
            newest = s.max_seq()
            ranges = [(1, newest // 3), (newest // 2, newest - 1)]
            for table, match, filters in COUNTED:
                parts = [s.fts_count(match, a, b, table=table, filters=filters) for a, b in ranges]
                in_one = s.fts_count_ranges(match, ranges, table=table, filters=filters)
                assert in_one == sum(parts), (kind, match)
            counts[kind] = [
                (
                    s.fts_count_ranges(match, [(1, newest)], table=table, filters=filters),
                    s.fts_count(match, table=table, filters=filters),
                    s.fts_count(match, table=table, filters=filters, cap=1),
                )
                for table, match, filters in COUNTED
            ]
    assert counts["postgresql"] == counts["sqlite"]
    assert all(a == b >= c for a, b, c in counts["sqlite"])
    assert sum(1 for total, _, _ in counts["sqlite"] if total) >= 4


def test_gin_bounds_hold_the_matches_between_them() -> None:
    from digests.pgtext import ascii_tokens, fts5_to_bounds, fts5_to_tsquery

    expression = '("甲乙 乙丙" OR "丁") NOT "戊 己" AND {title} : ("庚")'
    assert fts5_to_tsquery(expression, ascii_tokens) == (
        "(((((('甲乙' <-> '乙丙')) | (('丁'))) & !('戊' <-> '己')) & ((('庚':A)))))"
    )
    assert fts5_to_bounds(expression, ascii_tokens) == (
        "((((('甲乙' & '乙丙')) | (('丁'))) & ((('庚')))))",  # the exclusion may not hold
        None,  # a column filter: nothing is sure
    )
    assert fts5_to_bounds('"丁" NOT "戊 己"', ascii_tokens) == (
        "((('丁')))",
        "(((('丁') & !('戊' & '己'))))",  # without both pairs, not the phrase
    )
    assert fts5_to_bounds('"甲"', ascii_tokens) == (fts5_to_tsquery('"甲"', ascii_tokens),) * 2
