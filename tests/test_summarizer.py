"""Tests for the extractive summarizer (digests.summarizer)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jieba
import pytest

from digests.summarizer import (
    BUDGET_SLACK,
    eligible_indices,
    is_boilerplate,
    is_fragment,
    summarize,
)
from digests.text import split_sentences

from .conftest import ROOT, SEEDS, read_seed

SEED_FILES = SEEDS

ARTICLE = [
    "今年以来，某市大力推进老旧小区改造，全年计划改造老旧小区一百二十个。",
    "老旧小区改造",  # subheading: no final punctuation
    "改造内容包括更换供水管网、加装电梯、整治外墙和完善停车设施等多个方面。",
    "居民张先生说，小区供水管网更换以后，自来水再也没有出现浑浊的问题。",
    "好。",  # fragment
    "据了解，市里还将建立老旧小区改造长效管理机制，巩固改造成果。",
    "（记者 李四 摄）",
    "下一步，该市将继续推进老旧小区改造，让更多居民享受改造带来的便利。",
    "加装电梯工作得到了居民的普遍支持，目前已有三十部电梯投入使用。",
]


def tokens_of(sentences: list[str]) -> list[list[str]]:
    return [jieba.lcut(s) for s in sentences]


def run(sentences: list[str], title: str = "", **kwargs) -> list[int]:
    return summarize(jieba.lcut(title) if title else [], sentences, tokens_of(sentences), **kwargs)


def load_seed(path: Path) -> tuple[str, list[str]]:
    title, paragraphs = read_seed(path)
    return title, [s for p in paragraphs for s in split_sentences(p)]


def test_verbatim_in_order_and_within_limits() -> None:
    chosen = run(ARTICLE, "某市推进老旧小区改造")
    assert 1 <= len(chosen) <= 3
    assert chosen == sorted(set(chosen))
    assert all(0 <= i < len(ARTICLE) for i in chosen)
    assert sum(len(ARTICLE[i]) for i in chosen) <= 220 * (1 + BUDGET_SLACK)


def test_fragments_and_captions_never_chosen() -> None:
    for max_sentences in range(1, 9):
        chosen = run(ARTICLE, max_sentences=max_sentences, max_chars=1000)
        assert not {1, 4, 6} & set(chosen)
    assert is_fragment("老旧小区改造")
    assert is_fragment("好。")
    assert is_fragment("这是一个没有句末标点的很长的句子，它不应当被选中")
    assert not is_fragment("“这是一句完整的引语，而且以引号结束。”")
    assert is_boilerplate("（记者 李四 摄）")
    assert is_boilerplate("图为居民在新装的电梯前合影留念，大家都很开心。")
    assert is_boilerplate("本报讯（记者 张三）昨日，市政府召开新闻发布会。")
    assert not is_boilerplate("记者从市住建局获悉，今年全市计划改造老旧小区一百二十个。")


def test_caption_prefilter_covers_the_caption_pattern() -> None:
    """Every alternative of the caption pattern starts with a character of ``_CAPTION_FIRST``
    (the regex runs only on sentences starting with one), so the prefilter drops no caption."""
    from digests.summarizer import _CAPTION_FIRST, _CAPTION_START

    alternatives = _CAPTION_START.pattern.split("(?:", 1)[1].removesuffix(")").split("|")
    assert len(alternatives) >= 12
    for alternative in alternatives:
        first = alternative[1 : alternative.index("]")] if alternative[0] == "[" else alternative[0]
        assert set(first.replace("\\", "")) <= _CAPTION_FIRST, alternative


def test_eligibility_prefilters_change_nothing() -> None:
    """eligible_indices (one loop, regexes behind cheap checks) keeps exactly the sentences
    that is_fragment and is_boilerplate (every pattern on every sentence) let through."""
    crafted = [
        "\u3000\u3000本报讯（记者 张三）昨日，市政府召开新闻发布会。",
        " \t图为居民在新装的电梯前合影留念。",
        "【 记者 王五 】市里今天开会，讨论了很多问题。",
        "\u3000记者：赵六，实习生：孙七。",
        "  实习生 孙七报道。",
        "居民在新装的电梯前合影留念（王五 摄）。",
        "记者从市住建局获悉，今年全市计划改造老旧小区一百二十个。",
        "编辑：周八，校对：吴九，审核：郑十。",
    ]
    sentences = ARTICLE + crafted
    for path in SEED_FILES:
        sentences += load_seed(path)[1]
    for skip in (frozenset(), frozenset(range(0, len(sentences), 3))):
        expected = [
            i
            for i, sentence in enumerate(sentences)
            if i not in skip and not is_fragment(sentence) and not is_boilerplate(sentence)
        ]
        assert eligible_indices(sentences, skip) == expected
    assert sum(map(is_boilerplate, crafted)) == len(crafted) - 1


@pytest.mark.parametrize("past", [35, 300], ids=["past-the-table", "past-a-byte"])
def test_term_counts_past_the_tf_table(past: int) -> None:
    """A count past the tabulated tf weights gets 1 + ln(tf) all the same (also a count that
    does not fit the byte the counts usually reach numpy in)."""
    from digests.summarizer import _TF_WEIGHT, _tfidf_graph

    tf = len(_TF_WEIGHT) + past
    bags = [{"电梯": tf, "小区": 1}, {"电梯": 2, "改造": 1}, {"改造": 3}]
    graph = _tfidf_graph(bags)
    idf = {c: math.log(4 / (c + 0.5)) for c in (1, 2)}
    raw = [
        [(1.0 + math.log(tf)) * idf[2], idf[1]],
        [(1.0 + math.log(2)) * idf[2], idf[2]],
        [(1.0 + math.log(3)) * idf[2]],
    ]
    expected = [w / math.sqrt(sum(v * v for v in ws)) for ws in raw for w in ws]
    assert graph.weights.tolist() == pytest.approx(expected, rel=1e-15)
    assert graph.adjacency[0, 1] > 0.5


def test_skip_indices_never_chosen() -> None:
    full = run(ARTICLE, max_sentences=9, max_chars=10_000)
    skip = frozenset(full[:2])
    chosen = run(ARTICLE, skip=skip, max_sentences=9, max_chars=10_000)
    assert chosen and not skip & set(chosen)


def test_deterministic() -> None:
    tokens = tokens_of(ARTICLE)
    first = summarize([], ARTICLE, tokens)
    assert all(summarize([], ARTICLE, tokens) == first for _ in range(5))


def test_max_sentences_and_char_budget() -> None:
    assert len(run(ARTICLE, max_sentences=1)) == 1
    assert len(run(ARTICLE, max_sentences=2)) <= 2
    assert run(ARTICLE, max_sentences=0) == []
    chosen = run(ARTICLE, max_chars=50)
    # Budget of 50 chars: one 30-35-char sentence fits, two do not.
    assert len(chosen) == 1
    assert sum(len(ARTICLE[i]) for i in chosen) <= 50 * (1 + BUDGET_SLACK)


def test_at_least_one_sentence_even_over_budget() -> None:
    long_sentence = "这是一个非常长的句子，" * 30 + "结束。"
    chosen = run([long_sentence, "短句。"], max_chars=50)
    assert chosen == [0]


def test_few_eligible_sentences_all_returned() -> None:
    sentences = ["第一句话讲的是今天的天气很好。", "小标题", "第二句话讲的是明天可能会下雨。"]
    assert run(sentences) == [0, 2]


def test_mmr_drops_duplicates() -> None:
    dup = "市政府决定在全市范围内推广垃圾分类工作，提高资源回收利用率。"
    sentences = [
        dup,
        dup,
        "垃圾分类工作将从明年一月起在全市所有社区全面推开。",
        "市民可以通过手机应用查询各类垃圾的投放方式和时间。",
        "环保部门表示将加强对分类投放情况的监督检查。",
    ]
    chosen = run(sentences, "全市推广垃圾分类")
    assert not {0, 1} <= set(chosen)
    assert len(chosen) == 3


def test_no_eligible_sentence() -> None:
    assert run(["小标题", "短句。"]) == []
    assert summarize([], [], []) == []
    with pytest.raises(ValueError):
        summarize([], ["一句完整的话，长度也足够了。"], [])


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_seed_summaries(path: Path) -> None:
    title, sentences = load_seed(path)
    chosen = run(sentences, title)
    assert len(chosen) == 3
    assert chosen == sorted(chosen)
    assert sum(len(sentences[i]) for i in chosen) <= 220 * (1 + BUDGET_SLACK)
    assert all(not is_fragment(sentences[i]) for i in chosen)


def test_clts_quality_not_below_lead3() -> None:
    """Needs the CLTS samples, whose licence keeps them out of the repository: point
    ``DIGESTBOT_CLTS_SAMPLES`` at their ``samples.jsonl`` to run it."""
    if not os.environ.get("DIGESTBOT_CLTS_SAMPLES"):
        pytest.skip("DIGESTBOT_CLTS_SAMPLES is not set (CLTS samples are not in the repository)")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.summary_quality", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = json.loads(proc.stdout)
    for metric in ("rouge1", "rouge2", "rougeL"):
        assert scores["ours"][metric] >= scores["lead3"][metric], (metric, scores)


def test_one_sentence_paragraphs_are_summary_material() -> None:
    """A paragraph that is one whole sentence is not a subheading (regression)."""
    from digests.formats import RawArticle
    from digests.pipeline import analyze

    sentence = "兵团职工积极参加各类培训活动，学习现代农业技术和管理经验。"
    article = analyze(RawArticle(title="标题", paragraphs=[sentence, "小标题"]))
    assert article.summary == [sentence]


# -- the numpy graph against the loops it replaced ----------------------------------------------
GOLDEN = ROOT / "tests" / "data" / "summaries_golden.json"
GENERATED = ROOT / "tests" / "data" / "generated_articles.jsonl"


def _generated_bags() -> list[list[dict[str, int]]]:
    from digests.formats import read_file
    from digests.pipeline import sentences_of, token_streams

    return [
        token_streams(sentences_of(raw.paragraphs).tokens).bags
        for raw in read_file(GENERATED)
        if not isinstance(raw, Exception)
    ]


def test_graph_is_the_loops_graph_to_the_last_bit() -> None:
    """The numpy graph (vectors through bincount) is the plain loops' (digests.plaingraph)."""
    from digests import plaingraph
    from digests.summarizer import _tfidf_graph

    articles = _generated_bags()
    assert len(articles) == 80
    for bags in articles:
        expected = plaingraph.tfidf_graph(bags).similarity
        assert sum(w > 0.0 for row in expected for w in row) > 0
        assert _tfidf_graph(bags).adjacency.tolist() == expected


def test_pagerank_is_gauss_seidel() -> None:
    import numpy as np

    from digests import plaingraph
    from digests.summarizer import _pagerank_dense, _tfidf_graph

    for bags in _generated_bags()[:40]:
        n = len(bags)
        prior = [1.0 / (1.0 + i / 3.0) for i in range(n)]
        bias = [p / sum(prior) for p in prior]
        expected, sweeps = plaingraph.pagerank(plaingraph.tfidf_graph(bags).similarity, bias)
        assert 1 < sweeps < 50
        ranks = _pagerank_dense(_tfidf_graph(bags).adjacency, np.array(bias))
        assert ranks == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_title_similarity_is_the_loops_to_the_last_bit() -> None:
    """Also for titles sharing many terms with a sentence, listed in another order than the
    sentence's (then the sum's order decides the last bits)."""
    from digests import plaingraph
    from digests.summarizer import _tfidf_graph, _title_similarity

    reordered = 0
    for bags in _generated_bags():
        graph, plain = _tfidf_graph(bags), plaingraph.tfidf_graph(bags)
        longest = max(bags, key=len)
        for title_bag in (
            dict.fromkeys(list(bags[0])[:3], 1),
            dict.fromkeys(reversed(list(longest)[: len(longest) - 1]), 2),
            {**dict.fromkeys(reversed(list(longest)[:6]), 1), "标题里才有的词": 1},
        ):
            expected = plaingraph.title_similarity(plain, title_bag)
            assert _title_similarity(graph, title_bag, len(bags)) == expected
            reversed_title = plaingraph.title_similarity(plain, dict(reversed(title_bag.items())))
            reordered += reversed_title != expected
    assert reordered > 10  # the order did change last bits


@pytest.mark.parametrize("paths", ["numpy", "plain"])
def test_summaries_unchanged_by_the_numpy_graph(paths: str, request: pytest.FixtureRequest) -> None:
    """The summaries (3 and 5 sentences) of the 80 generated articles as the dict-loop
    summarizer chose them (tests/data/summaries_golden.json), on numpy's paths and on the plain
    ones (a lean process: digests.numeric)."""
    from digests.formats import read_file

    if paths == "plain":
        request.getfixturevalue("lean")
    from digests.pipeline import analyze, summary_of

    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    raws = [raw for raw in read_file(GENERATED) if not isinstance(raw, Exception)]
    assert len(raws) == len(golden) == 80
    for raw in raws:
        art = analyze(raw)
        assert art.summary == golden[art.id]["summary"]
        assert summary_of(raw.title, raw.paragraphs, 5) == golden[art.id]["summary5"]


def test_per_size_arrays_kept_stay_small() -> None:
    """A long-running bot summarizes articles of every length: the per-size arrays it keeps
    (three n × n each) must stay a few MB, not grow with every new length."""
    from digests import summarizer

    summarizer._cached_sizes.cache_clear()
    for n in range(1, 400):
        summarizer._per_size(n)
    kept = summarizer._cached_sizes.cache_info().currsize
    sizes = range(1, 400)
    held = sum(array.nbytes for n in sizes[:kept] for array in summarizer._per_size(n)[1:])
    assert held < 3 * 2**20, held


def _plain_mmr(
    by_score: list[int],
    score: dict[int, float],
    lengths: list[int],
    texts: list[str],
    limit: float,
    max_sentences: int,
    similarity: Any,
) -> list[int]:
    """MMR selection as the summarizer wrote it first: every remaining sentence valued in
    every round."""
    from digests.summarizer import DUPLICATE_COSINE, MMR_LAMBDA

    first = next((i for i in by_score if lengths[i] <= limit), by_score[0])
    chosen, used = [first], lengths[first]
    redundancy = similarity[first].tolist()
    remaining = [i for i in by_score if i != first]
    while len(chosen) < max_sentences and remaining:
        best, best_value = -1, -math.inf
        for i in remaining:
            if used + lengths[i] > limit:
                continue
            similar = redundancy[i]
            if similar >= DUPLICATE_COSINE or texts[i] in {texts[c] for c in chosen}:
                continue
            value = MMR_LAMBDA * score[i] - (1.0 - MMR_LAMBDA) * similar
            if value > best_value:
                best, best_value = i, value
        if best < 0:
            break
        chosen.append(best)
        used += lengths[best]
        remaining.remove(best)
        redundancy = [max(r, s) for r, s in zip(redundancy, similarity[best].tolist(), strict=True)]
    return sorted(chosen)


def test_mmr_scan_stops_early_with_the_same_choice() -> None:
    """The MMR scan stops at the first sentence whose relevance cannot beat the best value:
    it chooses what valuing every sentence chooses (random scores with many ties, random
    similarities with duplicates and zeros, tight and loose budgets)."""
    import random

    import numpy as np

    from digests.summarizer import _mmr_select

    rng = random.Random(15)
    differ_from_lead = 0
    for _ in range(3000):
        n = rng.randint(1, 30)
        score = {i: rng.choice([round(rng.random(), 1), rng.random()]) for i in range(n)}
        by_score = sorted(score, key=score.__getitem__, reverse=True)
        similarity = np.array(
            [[rng.choice([0.0, rng.random()]) for _ in range(n)] for _ in range(n)]
        )
        similarity = np.maximum(similarity, similarity.T)
        texts = [rng.choice("abcdefghij") for _ in range(n)]
        lengths = [rng.randint(10, 120) for _ in range(n)]
        limit, most = rng.choice([60.0, 150.0, 500.0]), rng.randint(1, 6)
        args = (by_score, score, lengths, texts, limit, most)
        chosen = _mmr_select(*args, similarity.tolist().__getitem__)
        assert chosen == _plain_mmr(*args, similarity), args
        differ_from_lead += chosen != sorted(by_score[: len(chosen)])
    assert differ_from_lead > 1000  # redundancy and budgets did change choices
