"""Tests for the per-article analysis glue (digests.pipeline): sentences and their tokens, and the
one pass over the tokens (index text, keyword candidates, the summarizer's term counts)."""

from __future__ import annotations

import pytest

from digests import terms
from digests.keywords import is_candidate_term, load_stopwords
from digests.pipeline import sentences_of, token_streams
from digests.summarizer import content_term
from digests.text import index_terms, split_sentences, to_simplified, tokenize

from .conftest import SEEDS, read_seed

PARAGRAPHS = [
    "兵团职工积极参加各类培训活动，学习现代农业技术和管理经验。",
    "小标题",
    "第六师 五家渠市的COVID-19防控工作，取得了明显成效！居民说：“我们很满意。”",
    "北京时间2024年 10月，ABC公司在喀什设立办事处。",
]


def _as_alone(paragraphs: list[str]) -> list[list[str]]:
    """Each sentence segmented on its own, whitespace dropped (what the offsets must give)."""
    return [
        tokenize(to_simplified(s))
        for p in paragraphs
        for s in ([p] if p == "小标题" else split_sentences(p))
    ]


@pytest.mark.parametrize(
    "paragraphs",
    [PARAGRAPHS, [p.replace(" ", "") for p in PARAGRAPHS], ["无空格的一段话。第二句！"]],
    ids=["spaces", "no-spaces", "one-paragraph"],
)
def test_sentence_tokens_are_the_sentences_own_without_whitespace(paragraphs: list[str]) -> None:
    body = "\n".join(paragraphs)
    sents = sentences_of(paragraphs, to_simplified(body), "标题 有空格")
    assert sents.tokens == _as_alone(paragraphs)
    assert sents.title_tokens == tokenize("标题 有空格")
    assert "".join(sents.all_tokens) == "标题 有空格\n" + to_simplified(body)
    assert not any(t.isspace() for tokens in sents.tokens for t in tokens)
    assert sentences_of(paragraphs).tokens == sents.tokens  # no title, simplified here


@pytest.mark.parametrize("path", SEEDS[:5], ids=lambda p: p.name)
def test_seed_sentences_get_their_own_tokens(path) -> None:
    _, paragraphs = read_seed(path)
    sents = sentences_of(paragraphs, to_simplified("\n".join(paragraphs)), "")
    assert sum(map(len, sents.tokens)) == sum(map(len, _as_alone(paragraphs)))
    assert [t for tokens in sents.tokens for t in tokens] == [
        t for tokens in _as_alone(paragraphs) for t in tokens
    ]


def _reference(token_lists: list[list[str]]) -> tuple[str, dict[str, int], list[dict[str, int]]]:
    """The three streams computed token by token from the owners' rules (no memo)."""
    stopwords = load_stopwords()
    flat = [t for tokens in token_lists for t in tokens]
    candidates: dict[str, int] = {}
    for t in flat:
        if is_candidate_term(t, stopwords):
            candidates[t] = candidates.get(t, 0) + 1
    bags = []
    for tokens in token_lists:
        bag: dict[str, int] = {}
        for t in tokens:
            if term := content_term(t, stopwords):
                bag[term] = bag.get(term, 0) + 1
        bags.append(bag)
    return index_terms(flat), candidates, bags


@pytest.mark.parametrize("memo_size", [terms.MEMO_SIZE, 3], ids=["memo", "memo-often-full"])
def test_token_streams_follow_the_owners_rules(memo_size: int, monkeypatch) -> None:
    """New and known tokens alike (and a memo that starts afresh mid-article) give what the
    rules give: the index text, keyword candidates with counts in first-occurrence order, and
    the content-term counts of each sentence."""
    monkeypatch.setattr(terms, "MEMO_SIZE", memo_size)
    monkeypatch.setattr(terms, "facts", {})
    sents = sentences_of([*PARAGRAPHS, "Apple apple APPLE 的 的 了，１２３ 四十七 covid-19。"])
    for _ in range(2):  # unseen tokens, then remembered ones
        streams = token_streams(sents.tokens)
        index, candidates, bags = _reference(sents.tokens)
        assert streams.index == index
        assert list(streams.candidates.items()) == list(candidates.items())
        assert [list(b.items()) for b in streams.bags] == [list(b.items()) for b in bags]
        assert len(terms.facts) <= max(memo_size, 1)


@pytest.mark.parametrize("memo_size", [terms.MEMO_SIZE, 7], ids=["memo", "memo-full-mid-article"])
def test_token_streams_on_generated_token_lists(memo_size: int, monkeypatch) -> None:
    """Random token lists (repeats within and across lists, stop words, numbers, punctuation,
    case variants of one term, whitespace, empty lists) give what the rules give, also when the
    memo starts afresh in the middle of a list."""
    import random

    monkeypatch.setattr(terms, "MEMO_SIZE", memo_size)
    monkeypatch.setattr(terms, "facts", {})
    words = (
        "兵团|职工|的|了|，|。|Apple|apple|APPLE|四十七|１２３|2024|covid-19|喀什|新|办事处|“|在"
    )
    pool = [*words.split("|"), " ", "\u3000"]
    rng = random.Random(5)
    for _ in range(200):
        token_lists = [
            [rng.choice(pool) for _ in range(rng.randint(0, 25))] for _ in range(rng.randint(1, 6))
        ]
        streams = token_streams(token_lists)
        index, candidates, bags = _reference(token_lists)
        assert streams.index == index
        assert list(streams.candidates.items()) == list(candidates.items())
        assert [list(b.items()) for b in streams.bags] == [list(b.items()) for b in bags]
        assert len(terms.facts) <= memo_size


def test_token_starts_are_the_running_sums_of_the_lengths() -> None:
    """_token_starts (lengths as bytes, summed by numpy) is [0, *accumulate(lengths)], also with
    a token of 256 characters or more (the lengths then go through numpy directly)."""
    import random
    from itertools import accumulate

    import numpy

    from digests.pipeline import _token_starts

    rng = random.Random(2)
    for size in (0, 1, 5, 300):
        tokens = ["词" * rng.choice([1, 1, 2, 3, 255]) for _ in range(size)]
        for extra in ([], ["长" * 256], ["长" * 300, "词"]):
            both = tokens + extra
            expected = list(accumulate(map(len, both), initial=0))
            assert _token_starts(numpy, both).tolist() == expected


def _analyses(raws: list) -> list:
    from digests.pipeline import analyze

    return [analyze(raw) for raw in raws]


def test_a_lean_process_analyses_alike(monkeypatch) -> None:
    """The plain-Python paths of a lean process (digests.numeric: the bot's) give the analysis
    numpy's give, every field: on the generated articles, the seeds, the region test texts, and
    long articles (the CJK pairs' numpy path starts at 256 characters, the summary graph's kept
    per-size arrays stop at 64 sentences)."""
    import json
    from pathlib import Path

    from digests import numeric
    from digests.formats import RawArticle, read_file

    data = Path(__file__).parent / "data"
    raws = [raw for raw in read_file(data / "generated_articles.jsonl") if isinstance(raw, RawArticle)]
    raws += [RawArticle(*read_seed(path)) for path in SEEDS]
    for name in ("dev.jsonl", "unseen.jsonl"):
        for line in (data / "regions" / name).read_text(encoding="utf-8").splitlines():
            raws.append(RawArticle("", [json.loads(line)["text"]]))
    long_paragraphs = [p for raw in raws[:12] for p in raw.paragraphs]
    raws.append(RawArticle("长文：" + raws[0].title, long_paragraphs))
    assert sum(len("\n".join(raw.paragraphs)) >= 256 for raw in raws) > 50
    assert len(sentences_of(long_paragraphs).texts) > 64
    expected = _analyses(raws)
    monkeypatch.setattr(numeric, "_lean", True)
    got = _analyses(raws)
    assert got == expected
    assert len({a.summary[0] for a in got if a.summary}) > 100  # summaries were made
