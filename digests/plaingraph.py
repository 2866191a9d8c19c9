"""The summary graph in plain Python, for a lean process (:mod:`digests.numeric`).

:mod:`digests.summarizer` computes the sentences' TF-IDF vectors, their similarity graph, the
title similarities and PageRank with numpy. This module computes them with loops, in the same
order: the vectors, the graph and the title similarities are the same floats to the last bit
(every sum adds the same products in the same order, one by one here and by ``numpy.bincount``
there). PageRank runs the same Gauss-Seidel sweeps one rank at a time, where numpy applies each
sweep as one matrix, so the ranks agree to about 1e-12 rather than to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

from .summarizer import (
    _TF_WEIGHT,
    EDGE_MIN_COSINE,
    PAGERANK_DAMPING,
    PAGERANK_MAX_ITER,
    PAGERANK_TOLERANCE,
)

__all__ = ["Graph", "pagerank", "tfidf_graph", "title_similarity"]


class Graph(NamedTuple):
    """The sentences' L2-normalised TF-IDF vectors and their cosine similarities (n × n, edges
    under EDGE_MIN_COSINE dropped, no self loops)."""

    vectors: list[dict[str, float]]
    df: dict[str, int]  # in how many sentences each term occurs (in order of first occurrence)
    idf_by_df: list[float]
    similarity: list[list[float]]


def _tf_weight(tf: int) -> float:
    return _TF_WEIGHT[tf] if tf < len(_TF_WEIGHT) else 1.0 + math.log(tf)


def tfidf_graph(bags: Sequence[dict[str, int]]) -> Graph:
    """:func:`digests.summarizer._tfidf_graph` with loops: a term's entries pair in sentence
    order, the terms in order of first occurrence."""
    n = len(bags)
    df: dict[str, int] = {}
    for bag in bags:
        for term in bag:
            df[term] = df.get(term, 0) + 1
    by_df = [math.log((n + 1) / (c + 0.5)) if c else 0.0 for c in range(n + 1)]
    vectors = []
    for bag in bags:
        weights = [_tf_weight(tf) * by_df[df[term]] for term, tf in bag.items()]
        total = 0.0
        for w in weights:  # left to right, as bincount adds (not sum(), compensated from 3.12)
            total += w * w
        norm = math.sqrt(total)
        vectors.append(dict(zip(bag, [w / norm for w in weights], strict=True)))
    postings: dict[str, list[tuple[int, float]]] = {t: [] for t, c in df.items() if c > 1}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            if term in postings:
                postings[term].append((i, weight))
    upper: dict[tuple[int, int], float] = {}
    for entries in postings.values():
        for (i, wi), (j, wj) in combinations(entries, 2):
            upper[i, j] = upper.get((i, j), 0.0) + wi * wj
    similarity = [[0.0] * n for _ in range(n)]
    for (i, j), w in upper.items():
        if w >= EDGE_MIN_COSINE:
            similarity[i][j] = similarity[j][i] = w
    return Graph(vectors, df, by_df, similarity)


def pagerank(similarity: list[list[float]], bias: Sequence[float]) -> tuple[list[float], int]:
    """:func:`digests.summarizer._pagerank_dense` one rank at a time: each sweep updates the
    ranks in turn, a dangling sentence's rank (no edge) teleports with the others' ``1 - d``,
    and the ranks are those of the first sweep that changed them by less than the tolerance
    (or of the last). Returns the ranks and the number of sweeps."""
    n, d = len(bias), PAGERANK_DAMPING
    out = [0.0] * n
    for row in similarity:  # column sums, row after row (as numpy reduces axis 0)
        out = [o + w for o, w in zip(out, row, strict=True)]
    dangling = [j for j in range(n) if out[j] <= 0.0]
    links = [[(j, w / out[j]) for j, w in enumerate(row) if w] for row in similarity]
    ranks = list(bias)
    for sweep in range(1, PAGERANK_MAX_ITER + 1):
        factor = (1.0 - d) + d * sum(ranks[j] for j in dangling)
        delta = 0.0
        for i in range(n):
            moved = 0.0
            for j, t in links[i]:
                moved += t * ranks[j]
            rank = factor * bias[i] + d * moved
            delta += abs(rank - ranks[i])
            ranks[i] = rank
        if delta < PAGERANK_TOLERANCE:
            return ranks, sweep
    return ranks, PAGERANK_MAX_ITER


def title_similarity(graph: Graph, title_bag: dict[str, int]) -> list[float]:
    """cos(sentence, title) per sentence, the title weighted with the sentences' IDF: each dot
    product over the shorter vector, in its order (as the summarizer's)."""
    n = len(graph.vectors)
    unseen = math.log((n + 1) / 0.5)
    df, by_df = graph.df, graph.idf_by_df
    title = {
        t: (1.0 + math.log(tf)) * (by_df[df[t]] if t in df else unseen)
        for t, tf in title_bag.items()
    }
    norm = math.sqrt(sum(w * w for w in title.values())) or 1.0
    title = {t: w / norm for t, w in title.items()}
    sims = []
    for vector in graph.vectors:
        short, long = (title, vector) if len(vector) > len(title) else (vector, title)
        total = 0.0
        for term, weight in short.items():
            if term in long:
                total += weight * long[term]
        sims.append(total)
    return sims
