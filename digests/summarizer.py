"""Extractive summarizer: centrality + title similarity + position prior, de-duplicated with MMR.

Input is pre-segmented (the engine runs ``jieba.lcut`` once per article); this module never calls
jieba. Pipeline:

1. eligibility — skip caller-given indices, fragments (< ``MIN_SENTENCE_CHARS`` or no final
   punctuation) and obvious captions/bylines (``（张三 摄）``, ``本报讯…``, ``图为…``);
2. each sentence becomes a TF-IDF vector over its content tokens (stop words, punctuation,
   numbers and whitespace dropped; IDF over the article's sentences), L2-normalised;
3. centrality — weighted PageRank (LexRank/TextRank style) on the cosine-similarity graph, with
   the teleport biased by the position prior (PositionRank-style); sqrt-damped, max-normalised;
4. score = W_CENTRALITY·centrality + W_TITLE·cos(sentence, title)/max + W_POSITION·prior,
   where prior = 1 / (1 + i / POSITION_HALF_LIFE) decays with the sentence index (news puts the
   gist first); without a title its weight is redistributed proportionally;
5. MMR selection (λ = MMR_LAMBDA) up to ``max_sentences`` within ``max_chars`` (+ BUDGET_SLACK),
   near-duplicates (cosine ≥ DUPLICATE_COSINE) never both chosen; result in article order.

Everything is deterministic: ties break on the lower sentence index.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain, combinations
from operator import mul

from .keywords import load_stopwords

__all__ = ["content_term", "eligible_indices", "is_boilerplate", "is_fragment", "summarize"]

# Weights (sum to 1). Position is the strongest single signal on news; centrality is what
# makes the choice content-aware; the title, when present, anchors the topic.
W_CENTRALITY = 0.30
W_TITLE = 0.20
W_POSITION = 0.50
#: Position prior 1 / (1 + i / h): sentence h gets half the weight of sentence 0.
POSITION_HALF_LIFE = 3.0
#: MMR trade-off between relevance (score) and novelty (1 - max cosine to chosen ones).
MMR_LAMBDA = 0.8
#: Sentences at least this similar to an already chosen one are never added.
DUPLICATE_COSINE = 0.8
#: "Well past" the char budget: a later sentence may overshoot ``max_chars`` by this fraction.
BUDGET_SLACK = 0.10
#: Sentences shorter than this (after stripping) are fragments.
MIN_SENTENCE_CHARS = 12
#: Edges weaker than this (typically one shared common word) are dropped: noise, and cost.
EDGE_MIN_COSINE = 0.05
PAGERANK_DAMPING = 0.85
PAGERANK_TOLERANCE = 1e-3  # a tighter one chose the same summaries, slower (docs/benchmarks.md)
PAGERANK_MAX_ITER = 50

_FINAL_PUNCT = frozenset("。！？!?…")
_CLOSERS = "”’\"'」』）)》】]"
# Conservative caption/byline patterns: a parenthesised photo credit anywhere, or a sentence
# opening with a byline/caption marker. "记者从…获悉" style leads are kept: "记者" only counts
# when followed by whitespace/colon (a name list) or the sentence is byline-short.
_PHOTO_CREDIT = re.compile(r"[（(][^（）()]{0,40}摄[）)]")
_CAPTION_START = re.compile(
    r"^[\s\u3000]*(?:本报讯|本报记者|通讯员|特约通讯员|图为|图片来源|原标题|责任编辑"
    r"|编辑[:：]|来源[:：]|[（(【\[]\s*记者|记者[\s\u3000:：])"
)
_SHORT_BYLINE = re.compile(r"^[\s\u3000]*(?:记者|实习生)")
_SHORT_BYLINE_CHARS = 20
_HAS_LETTER = re.compile(r"[^\W\d_]").search


def is_fragment(sentence: str) -> bool:
    """True for very short sentences and for ones without final punctuation (e.g. subheadings)."""
    text = sentence.strip()
    if len(text) < MIN_SENTENCE_CHARS:
        return True
    text = text.rstrip(_CLOSERS + " \u3000")
    return not text or text[-1] not in _FINAL_PUNCT


def is_boilerplate(sentence: str) -> bool:
    """True for obvious photo captions and bylines (kept conservative)."""
    if _PHOTO_CREDIT.search(sentence) or _CAPTION_START.match(sentence):
        return True
    return bool(_SHORT_BYLINE.match(sentence)) and len(sentence.strip()) < _SHORT_BYLINE_CHARS


def eligible_indices(sentences: Sequence[str], skip: frozenset[int] = frozenset()) -> list[int]:
    """Indices that may appear in a summary, in article order."""
    return [
        i
        for i, sentence in enumerate(sentences)
        if i not in skip and not is_fragment(sentence) and not is_boilerplate(sentence)
    ]


def content_term(token: str, stopwords: frozenset[str]) -> str:
    """The term ``token`` contributes to a sentence vector, or ``""`` (stop words, punctuation,
    spaces and pure numbers carry no content)."""
    term = token.strip().lower()
    # Pure numbers are left out: list markers ("1、", "2、") would link unrelated sentences.
    if not term or term in stopwords or not (term.isalpha() or _HAS_LETTER(term)):
        return ""
    return term


def _content_terms(tokens: Sequence[str], stopwords: frozenset[str]) -> dict[str, int]:
    """Term counts of the tokens that carry content (no stop words, punctuation or spaces)."""
    counts: dict[str, int] = {}
    for token in tokens:
        term = content_term(token, stopwords)
        if term:
            counts[term] = counts.get(term, 0) + 1
    return counts


_TF_WEIGHT = [0.0] + [1.0 + math.log(tf) for tf in range(1, 65)]  # sublinear tf, tabulated


def _tfidf_vectors(
    bags: Sequence[dict[str, int]],
) -> tuple[list[dict[str, float]], dict[str, float], list[str]]:
    """L2-normalised TF-IDF vectors (IDF over the given sentences), the IDF table and the terms
    that occur in more than one sentence (the only ones that can link two sentences)."""
    n = len(bags)
    df = Counter(chain.from_iterable(bags))  # in how many sentences each term occurs
    by_df = [math.log((n + 1) / (count + 0.5)) if count else 0.0 for count in range(n + 1)]
    idf = {term: by_df[count] for term, count in df.items()}
    vectors: list[dict[str, float]] = []
    for bag in bags:
        try:
            weights = [_TF_WEIGHT[tf] * idf[term] for term, tf in bag.items()]
        except IndexError:  # a term repeated more than the table holds
            weights = [(1.0 + math.log(tf)) * idf[term] for term, tf in bag.items()]
        norm = math.sqrt(sum(map(mul, weights, weights)))
        if norm > 0.0:
            weights = [w / norm for w in weights]
        vectors.append(dict(zip(bag, weights, strict=True)))
    return vectors, idf, [term for term, count in df.items() if count > 1]


def _similarity_graph(
    vectors: Sequence[dict[str, float]], shared: Sequence[str]
) -> list[dict[int, float]]:
    """Sparse symmetric cosine-similarity adjacency (no self loops) via an inverted index of
    the ``shared`` terms (those in two sentences or more)."""
    postings: dict[str, list[tuple[int, float]]] = {term: [] for term in shared}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            plist = postings.get(term)
            if plist is not None:
                plist.append((i, weight))
    graph: list[dict[int, float]] = [{} for _ in vectors]
    for plist in postings.values():
        for (i, wi), (j, wj) in combinations(plist, 2):
            row = graph[i]
            row[j] = row.get(j, 0.0) + wi * wj
    for i, row in enumerate(graph):  # drop incidental links, mirror the upper triangle
        for j, w in list(row.items()):
            if w < EDGE_MIN_COSINE:
                del row[j]
            elif j > i:
                graph[j][i] = w
    return graph


def _pagerank(
    graph: Sequence[dict[int, float]], personalization: Sequence[float] | None = None
) -> list[float]:
    """Weighted PageRank; teleports (and dangling mass) follow ``personalization`` (or uniform)."""
    n = len(graph)
    if n == 0:
        return []
    if personalization is None:
        bias = [1.0 / n] * n
    else:
        total = sum(personalization)
        bias = [p / total for p in personalization]
    # Gauss-Seidel sweeps in pull form (the graph is symmetric: i's in-edges are its row),
    # using each new rank at once: converges in about half the sweeps of plain power iteration.
    out = [sum(row.values()) for row in graph]
    inbound = [[(j, w / out[j]) for j, w in row.items()] for row in graph]
    dangling_nodes = [j for j in range(n) if out[j] <= 0.0]
    d = PAGERANK_DAMPING
    ranks = list(bias)
    for _ in range(PAGERANK_MAX_ITER):
        factor = (1.0 - d) + d * sum([ranks[j] for j in dangling_nodes])
        delta = 0.0
        for i in range(n):
            pulled = 0.0
            for j, w in inbound[i]:
                pulled += ranks[j] * w
            rank = factor * bias[i] + d * pulled
            delta += abs(rank - ranks[i])
            ranks[i] = rank
        if delta < PAGERANK_TOLERANCE:
            break
    return ranks


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())


def _normalised(values: Sequence[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top for v in values] if top > 0.0 else [0.0] * len(values)


def summarize(
    title_tokens: list[str],
    sentences: list[str],
    sentence_tokens: list[list[str]],
    *,
    skip: frozenset[int] = frozenset(),
    max_sentences: int = 3,
    max_chars: int = 220,
    stopwords: frozenset[str] | None = None,
    bags: Sequence[dict[str, int]] | None = None,
    title_bag: dict[str, int] | None = None,
) -> list[int]:
    """Indices of the chosen sentences, in article order.

    Whole sentences only; at most ``max_sentences``; a sentence after the first is added only
    if the total stays within ``max_chars * (1 + BUDGET_SLACK)``. At least one sentence is
    returned whenever an eligible one exists (the best one that fits, else the best one).
    ``bags`` / ``title_bag`` are the content-term counts of the sentences and the title when
    the caller has them already (the pipeline does); otherwise they are computed here.
    """
    if len(sentences) != len(sentence_tokens):
        raise ValueError("sentences and sentence_tokens must have the same length")
    if max_sentences <= 0:
        return []
    candidates = eligible_indices(sentences, skip)
    if not candidates:
        return []
    if stopwords is None:
        stopwords = load_stopwords()

    stripped = [s.strip() for s in sentences]
    lengths = [len(s) for s in stripped]
    limit = max_chars * (1.0 + BUDGET_SLACK)
    if len(candidates) <= max_sentences and sum(lengths[i] for i in candidates) <= limit:
        return candidates

    # Graph over all sentences (skipped ones still tell what the article is about).
    if bags is None:
        bags = [_content_terms(tokens, stopwords) for tokens in sentence_tokens]
    vectors, idf, shared = _tfidf_vectors(bags)
    prior = [1.0 / (1.0 + i / POSITION_HALF_LIFE) for i in range(len(sentences))]
    graph = _similarity_graph(vectors, shared)
    # Position-biased ("PositionRank"-style) teleport; sqrt tames PageRank's heavy head so one
    # dense cluster (e.g. a run of list items) does not swamp the other signals.
    centrality = _normalised([math.sqrt(r) for r in _pagerank(graph, prior)])

    if title_bag is None:
        title_bag = _content_terms(title_tokens, stopwords)
    w_title = W_TITLE if title_bag else 0.0
    total_weight = W_CENTRALITY + w_title + W_POSITION
    if title_bag:
        n = len(sentences)
        unseen = math.log((n + 1) / 0.5)
        title_vec = {t: (1.0 + math.log(tf)) * idf.get(t, unseen) for t, tf in title_bag.items()}
        norm = math.sqrt(sum(w * w for w in title_vec.values())) or 1.0
        title_vec = {t: w / norm for t, w in title_vec.items()}
        title_sim = _normalised([_cosine(vectors[i], title_vec) for i in range(n)])
    else:
        title_sim = [0.0] * len(sentences)

    score = {
        i: (W_CENTRALITY * centrality[i] + w_title * title_sim[i] + W_POSITION * prior[i])
        / total_weight
        for i in candidates
    }

    # First pick: the best sentence that fits the budget (else the best overall).
    by_score = sorted(candidates, key=lambda i: (-score[i], i))
    first = next((i for i in by_score if lengths[i] <= limit), by_score[0])
    chosen = [first]
    used = lengths[first]
    remaining = [i for i in by_score if i != first]
    while len(chosen) < max_sentences and remaining:
        best, best_value = -1, -math.inf
        for i in remaining:
            if used + lengths[i] > limit:
                continue
            row = graph[i]
            redundancy = max(row.get(j, 0.0) for j in chosen)
            if redundancy >= DUPLICATE_COSINE or any(stripped[i] == stripped[j] for j in chosen):
                continue
            value = MMR_LAMBDA * score[i] - (1.0 - MMR_LAMBDA) * redundancy
            if value > best_value:  # strict: ties keep the earlier (higher-score) index
                best, best_value = i, value
        if best < 0:
            break
        chosen.append(best)
        used += lengths[best]
        remaining.remove(best)
    return sorted(chosen)
