"""Summary quality on CLTS samples: our summarizer vs LEAD-3, plain TextRank, greedy ORACLE.

Run ``python -m benchmarks.summary_quality [--json]`` from the repository root. The metric is the
character-level ROUGE-1/2/L F1 (x100, averaged per article) defined in
CLTS samples' README. The samples' licence forbids copying them into the project (its corpus, docs
or test fixtures), so they are read at run time from the file named by ``DIGESTBOT_CLTS_SAMPLES``
(the samples' ``samples.jsonl``); without it the evaluation says it was skipped and why. Also
prints the summaries of the seed articles (``corpus/``) and the summarizer's speed per article.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from digests.keywords import load_stopwords
from digests.summarizer import _content_terms, _pagerank, summarize
from digests.text import raw_tokens

ROOT = Path(__file__).resolve().parents[1]
CLTS_ENV = "DIGESTBOT_CLTS_SAMPLES"
SEEDS_DIR = ROOT / "corpus"
METRICS = ("rouge1", "rouge2", "rougeL")
N_SENTENCES = 3

_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[”’\"」』]?|[^。！？!?]+$")
_NON_CHARS = re.compile(r"[\s\W_]+")

Method = Callable[[list[str], list[list[str]]], list[int]]


def split_sentences(text: str) -> list[str]:
    """Split after 。！？!? (and a closing quote that follows); drop empty pieces."""
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


class CharTokenizer:
    """rouge-score tokenizer: characters with whitespace, punctuation and symbols removed."""

    def tokenize(self, text: str) -> list[str]:
        return list(_NON_CHARS.sub("", text))


def _scorer():
    from rouge_score import rouge_scorer  # bench-only dependency

    return rouge_scorer.RougeScorer(list(METRICS), tokenizer=CharTokenizer())


def clts_missing() -> str | None:
    """Why the CLTS samples cannot be read, or None when they can."""
    value = os.environ.get(CLTS_ENV, "")
    if not value:
        return f"{CLTS_ENV} is not set (the samples may not be copied into the repository)"
    if not Path(value).is_file():
        return f"{CLTS_ENV}={value} is not a file"
    return None


def load_clts() -> list[dict[str, str]] | None:
    """The CLTS sample records, or None when ``DIGESTBOT_CLTS_SAMPLES`` names no file."""
    if clts_missing():
        return None
    with Path(os.environ[CLTS_ENV]).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- methods ----------------------------------------------------------------------------------
def ours(sentences: list[str], tokens: list[list[str]]) -> list[int]:
    return summarize([], sentences, tokens)


def lead3(sentences: list[str], tokens: list[list[str]]) -> list[int]:
    return list(range(min(N_SENTENCES, len(sentences))))


def textrank(sentences: list[str], tokens: list[list[str]]) -> list[int]:
    """Plain TextRank (Mihalcea & Tarau 2004): word overlap / (log|Si| + log|Sj|), top 3."""
    stopwords = load_stopwords()
    bags = [set(_content_terms(t, stopwords)) for t in tokens]
    graph: list[dict[int, float]] = [{} for _ in bags]
    for i in range(len(bags)):
        for j in range(i + 1, len(bags)):
            overlap = len(bags[i] & bags[j])
            denom = math.log(len(bags[i]) + 1) + math.log(len(bags[j]) + 1)
            if overlap and denom > 0:
                graph[i][j] = graph[j][i] = overlap / denom
    ranks = _pagerank(graph)
    return sorted(sorted(range(len(ranks)), key=lambda i: (-ranks[i], i))[:N_SENTENCES])


def _mean_f(scores) -> float:
    return sum(scores[m].fmeasure for m in METRICS) / len(METRICS)


def oracle_for(reference: str) -> Method:
    """Greedy ORACLE: add the sentence that most improves mean R-1/2/L F1, up to 3 sentences."""
    scorer = _scorer()

    def method(sentences: list[str], tokens: list[list[str]]) -> list[int]:
        chosen: list[int] = []
        best = 0.0
        while len(chosen) < N_SENTENCES:
            pick, pick_value = -1, best
            for i in range(len(sentences)):
                if i in chosen:
                    continue
                text = "".join(sentences[j] for j in sorted([*chosen, i]))
                value = _mean_f(scorer.score(reference, text))
                if value > pick_value:
                    pick, pick_value = i, value
            if pick < 0:
                break
            chosen.append(pick)
            best = pick_value
        return sorted(chosen)

    return method


# -- evaluation -------------------------------------------------------------------------------
def _prepare(text: str) -> tuple[list[str], list[list[str]]]:
    sentences = split_sentences(text)
    return sentences, [raw_tokens(s) for s in sentences]


def evaluate(records: Sequence[dict[str, str]] | None = None) -> dict[str, dict[str, float]]:
    """Mean character ROUGE F1 x100 per method: ``{"ours": {"rouge1": …, …}, "lead3": …}``."""
    if records is None:
        records = load_clts()
    if not records:
        raise FileNotFoundError(f"CLTS samples not available: {clts_missing()}")
    scorer = _scorer()
    methods: dict[str, Method | None] = {
        "ours": ours,
        "lead3": lead3,
        "textrank": textrank,
        "oracle": None,
    }
    totals = {name: dict.fromkeys(METRICS, 0.0) for name in methods}
    for record in records:
        sentences, tokens = _prepare(record["text"])
        for name, method in methods.items():
            fn = method if method is not None else oracle_for(record["summary"])
            chosen = fn(sentences, tokens)
            scores = scorer.score(record["summary"], "".join(sentences[i] for i in chosen))
            for metric in METRICS:
                totals[name][metric] += scores[metric].fmeasure
    return {
        name: {m: round(100.0 * v / len(records), 2) for m, v in metric_totals.items()}
        for name, metric_totals in totals.items()
    }


def read_seed(path: Path) -> tuple[str, list[str]]:
    """A seed file: title, then paragraphs separated by two full-width spaces."""
    parts = [p.strip() for p in path.read_text(encoding="utf-8").strip().split("\u3000\u3000")]
    parts = [p for p in parts if p]
    return parts[0], parts[1:]


def seed_summaries(repeat: int = 100) -> list[tuple[str, list[str], float]]:
    """``(title, chosen sentences, ms per summarize call)`` for each seed article."""
    out = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        title, paragraphs = read_seed(path)
        sentences = [s for p in paragraphs for s in split_sentences(p)]
        title_tokens = raw_tokens(title)
        tokens = [raw_tokens(s) for s in sentences]
        chosen = summarize(title_tokens, sentences, tokens)
        start = time.perf_counter()
        for _ in range(repeat):
            summarize(title_tokens, sentences, tokens)
        ms = (time.perf_counter() - start) * 1000.0 / repeat
        out.append((title, [sentences[i] for i in chosen], ms))
    return out


def timing(records: Sequence[dict[str, str]], repeat: int = 200) -> list[dict[str, float]]:
    """Summarizer time per article (tokens prepared beforehand): ms and ms per 1,000 chars."""
    summarize([], ["预热用的一个句子，内容不重要。"], [["预热"]])  # load stop words
    rows = []
    for record in records:
        sentences, tokens = _prepare(record["text"])
        start = time.perf_counter()
        for _ in range(repeat):
            summarize([], sentences, tokens)
        ms = (time.perf_counter() - start) * 1000.0 / repeat
        chars = len(record["text"])
        rows.append(
            {
                "id": record["id"],
                "sentences": len(sentences),
                "chars": chars,
                "ms": round(ms, 3),
                "ms_per_1k_chars": round(ms * 1000.0 / chars, 3),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the scores as JSON only")
    args = parser.parse_args(argv)
    records = load_clts()
    if records is None:
        print(f"CLTS samples not available: {clts_missing()}", file=sys.stderr)
        return {}
    result = evaluate(records)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return result
    print(f"Character ROUGE F1 x100 on {len(records)} CLTS samples")
    print(f"{'method':<10} {'R-1':>6} {'R-2':>6} {'R-L':>6}")
    for name, scores in result.items():
        print(f"{name:<10} " + " ".join(f"{scores[m]:>6.2f}" for m in METRICS))
    print("\nSummarizer time per article (segmentation excluded)")
    for row in timing(records):
        print(
            f"  {row['id']:<15} {row['sentences']:>3} sents {row['chars']:>5} chars "
            f"{row['ms']:>7.3f} ms  {row['ms_per_1k_chars']:>6.3f} ms/1k chars"
        )
    print("\nSeed summaries")
    for title, chosen, ms in seed_summaries():
        print(f"\n# {title}  ({sum(len(s) for s in chosen)} chars; summarize {ms:.2f} ms)")
        for sentence in chosen:
            print(f"  - {sentence}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
