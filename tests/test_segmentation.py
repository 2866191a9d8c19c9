"""The engine's segmenter (jieba-rs) against jieba, the reference, on a fixed corpus.

The corpus: the shipped seed articles, 80 generated articles (``tests/data/generated_articles.jsonl``,
made by the benchmarks' generator) and the CLTS news samples when ``DIGESTBOT_CLTS_SAMPLES`` names
their ``samples.jsonl`` (their licence keeps them out of the repository).
On Chinese text the tokens must be identical; runs of ASCII letters, digits and punctuation may be
cut differently (jieba-rs keeps ``200-300`` whole), but must cover the same characters.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import jieba
import pytest

from digests.formats import read_file
from digests.ingest import ingest
from digests.search import keyword_search, parse_query
from digests.store import Store
from digests.text import has_word, raw_tokens, to_simplified, tokenize

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _corpus() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        for article in read_file(path):
            assert not isinstance(article, Exception)
            texts.append(article.title + "\n" + "\n".join(article.paragraphs))
    with (DATA / "generated_articles.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            texts.append(record["title"] + "\n" + record["text"])
    clts = os.environ.get("DIGESTBOT_CLTS_SAMPLES")
    for path in [Path(clts)] if clts else []:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    record = json.loads(line)
                    texts += [v for v in record.values() if isinstance(v, str) and _CJK.search(v)]
    return [to_simplified(t) for t in texts]


def _canonical(tokens: list[str]) -> list[str]:
    """Tokens with every run of tokens free of CJK characters joined into one string: the
    Chinese tokens must match one for one, the ASCII runs only as a whole."""
    out: list[str] = []
    ascii_run = False
    for token in tokens:
        if _CJK.search(token):
            out.append(token)
            ascii_run = False
        elif ascii_run:
            out[-1] += token
        else:
            out.append(token)
            ascii_run = True
    return out


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.dt


def test_the_fixed_corpus_is_big_enough() -> None:
    texts = _corpus()
    assert len(texts) >= 82
    assert sum(map(len, texts)) > 80_000


def test_chinese_tokens_are_jiebas(reference: jieba.Tokenizer) -> None:
    texts = _corpus()
    mismatched = []
    tokens_seen = 0
    for text in texts:
        ours, theirs = raw_tokens(text), reference.lcut(text)
        assert "".join(ours) == text  # verbatim: the pipeline hands tokens out by offset
        tokens_seen += len(theirs)
        if _canonical(ours) != _canonical(theirs):
            mismatched.append(text[:40])
    assert tokens_seen > 40_000
    assert mismatched == []


def test_dictionary_lookups_are_jiebas(reference: jieba.Tokenizer) -> None:
    texts = _corpus()[:30]
    grams: set[str] = set()
    for text in texts:
        for token in tokenize(text):
            grams.update(token[i : i + n] for n in (2, 3) for i in range(len(token) - n + 1))
    assert len(grams) > 2_000
    assert {g for g in grams if has_word(g)} == {g for g in grams if reference.FREQ.get(g)}


def test_ascii_compounds_stay_whole_where_jieba_cuts_them(reference: jieba.Tokenizer) -> None:
    # the deliberate difference: jieba-rs keeps the compound, jieba cuts at the punctuation
    assert tokenize("价格在200-300元之间") == ["价格", "在", "200-300", "元", "之间"]
    assert reference.lcut("价格在200-300元之间") == ["价格", "在", "200", "-", "300", "元", "之间"]
    assert tokenize("COVID-19疫情") == ["COVID-19", "疫情"]


def test_a_compound_is_found_whole_and_by_its_parts(store: Store, tmp_path: Path) -> None:
    text = "今年的价格在200-300元之间，COVID-19疫情后回升。"
    (tmp_path / "a.json").write_text(json.dumps({"title": "价格区间", "text": text}), "utf-8")
    assert len(ingest(store, [tmp_path / "a.json"], workers=1).added) == 1
    assert keyword_search(store, "200-300").total == 1
    assert keyword_search(store, "300").total == 1
    assert keyword_search(store, "COVID-19").total == 1
    assert keyword_search(store, "COVID").total == 1
    assert keyword_search(store, "300-200").total == 0  # as a phrase, not two loose numbers
    assert parse_query("200-300").terms == ["200-300"]
