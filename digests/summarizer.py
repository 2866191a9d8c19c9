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
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, NamedTuple

from . import numeric
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
#: The characters ``_CAPTION_START`` can match first after the leading spaces (``[\s\u3000]`` is
#: what ``str.strip`` removes): a sentence starting with another one is no caption.
_CAPTION_FIRST = frozenset("本通特图原责编来（(【[记")
_FRAGMENT_TAIL = _CLOSERS + " \u3000"
_HAS_LETTER = re.compile(r"[^\W\d_]").search


def is_fragment(sentence: str) -> bool:
    """True for very short sentences and for ones without final punctuation (e.g. subheadings)."""
    text = sentence.strip()
    if len(text) < MIN_SENTENCE_CHARS:
        return True
    text = text.rstrip(_FRAGMENT_TAIL)
    return not text or text[-1] not in _FINAL_PUNCT


def is_boilerplate(sentence: str) -> bool:
    """True for obvious photo captions and bylines (kept conservative)."""
    if _PHOTO_CREDIT.search(sentence) or _CAPTION_START.match(sentence):
        return True
    return bool(_SHORT_BYLINE.match(sentence)) and len(sentence.strip()) < _SHORT_BYLINE_CHARS


def eligible_indices(sentences: Sequence[str], skip: frozenset[int] = frozenset()) -> list[int]:
    """Indices that may appear in a summary, in article order."""
    return _eligible(sentences, list(map(str.strip, sentences)), skip)


def _eligible(sentences: Sequence[str], stripped: Sequence[str], skip: frozenset[int]) -> list[int]:
    """:func:`eligible_indices`, given each sentence stripped: the tests of :func:`is_fragment`
    and :func:`is_boilerplate` written out in one loop (it runs on every sentence of every
    article; the calls cost as much as the tests), each pattern run only on the sentences that
    could match it (a photo credit holds 摄, a caption starts with one of ``_CAPTION_FIRST``
    after the spaces, a short byline is short)."""
    photo_credit, caption_start, short_byline = (
        _PHOTO_CREDIT.search,
        _CAPTION_START.match,
        _SHORT_BYLINE.match,
    )
    eligible = []
    for i, text in enumerate(stripped):
        if len(text) < MIN_SENTENCE_CHARS or i in skip:
            continue
        if text[-1] not in _FINAL_PUNCT:  # (most sentences end so: no closers to strip)
            tail = text.rstrip(_FRAGMENT_TAIL)
            if not tail or tail[-1] not in _FINAL_PUNCT:
                continue  # a fragment
        sentence = sentences[i]
        if (
            ("摄" in sentence and photo_credit(sentence))
            or (text[0] in _CAPTION_FIRST and caption_start(sentence))
            or (len(text) < _SHORT_BYLINE_CHARS and short_byline(sentence))
        ):
            continue  # boilerplate
        eligible.append(i)
    return eligible


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
#: PageRank checks convergence after this many sweeps, then every PAGERANK_CHECK_EVERY: the
#: first check is late enough that most articles have converged by then (each check costs a
#: few sweeps' time; the ranks are those of the first sweep below tolerance either way).
PAGERANK_FIRST_CHECK = 16
PAGERANK_CHECK_EVERY = 8
#: Article sizes (sentences) whose per-size arrays are kept (see :func:`_per_size`): three
#: n × n arrays each, 24·n² bytes, so at most ~2 MB for every size up to 64 (up to 256 it
#: would be ~130 MB in a long-running bot); longer articles build theirs afresh.
_PER_SIZE_CACHED = 64


def warm() -> None:
    """Import what the summary graph needs now (a process pool's parent, before it forks;
    nothing in a lean process)."""
    numeric.numpy()


class _PerSize(NamedTuple):
    """What depends on the number of sentences only (read-only arrays)."""

    prior: tuple[float, ...]  # position prior per sentence
    bias: Any  # the prior as PageRank's teleport distribution (sums to 1)
    idf_by_df: Any  # IDF of a term in so many sentences (index 0: no term, 0.0)
    arange: Any  # 0 … n-1
    eye: Any  # n × n identity
    below: Any  # n × n: -PAGERANK_DAMPING in the strictly lower triangle, else -0.0
    upper: Any  # n × n: 1.0 in the strictly upper triangle, else 0.0


def _prior(n: int) -> tuple[float, ...]:
    """The position prior of each of ``n`` sentences."""
    return tuple(1.0 / (1.0 + i / POSITION_HALF_LIFE) for i in range(n))


def _plain_sizes(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The lean path's :class:`_PerSize`: the prior and the teleport distribution (the prior
    divided by its sum, as ``bias`` is)."""
    prior = _prior(n)
    total = sum(prior)
    return prior, tuple(p / total for p in prior)


_cached_plain_sizes = lru_cache(maxsize=_PER_SIZE_CACHED)(_plain_sizes)


def _plain_per_size(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """:func:`_plain_sizes`, kept for the usual sizes like :func:`_per_size`'s arrays."""
    return _cached_plain_sizes(n) if n <= _PER_SIZE_CACHED else _plain_sizes(n)


def _sizes(n: int) -> _PerSize:
    """The prior, the IDF table, and the index arrays and masks of an article of ``n``
    sentences, computed as the per-article code computed them."""
    np = numeric.require_numpy()
    prior, teleport = _plain_sizes(n)  # the same divisions, so the same floats on both paths
    by_df = [math.log((n + 1) / (c + 0.5)) if c else 0.0 for c in range(n + 1)]
    arrays = (
        np.array(teleport),
        np.array(by_df),
        np.arange(n),
        np.eye(n),
        np.tri(n, k=-1) * -PAGERANK_DAMPING,
        np.tri(n, k=-1).T.copy(),
    )
    for array in arrays:
        array.flags.writeable = False
    return _PerSize(prior, *arrays)


_cached_sizes = lru_cache(maxsize=_PER_SIZE_CACHED)(_sizes)


def _per_size(n: int) -> _PerSize:
    """The arrays for ``n`` sentences (kept for the usual sizes, built afresh for huge ones)."""
    return _cached_sizes(n) if n <= _PER_SIZE_CACHED else _sizes(n)


@lru_cache(maxsize=1)
def _tf_table() -> Any:
    """``_TF_WEIGHT`` as an array."""
    table = numeric.require_numpy().array(_TF_WEIGHT)
    table.flags.writeable = False
    return table


def _tf_weights(bags: Sequence[dict[str, int]], count: int) -> Any:
    """Sublinear tf weight 1 + ln(tf) of each entry's count (0 → 0.0), from the table.

    The counts reach numpy as ``bytes`` (a count past 255 is refused and they go by
    ``numpy.fromiter``): ``bytes`` packs small ints several times faster than ``fromiter``
    converts them, and nearly every count is 1."""
    np = numeric.require_numpy()
    counts = chain.from_iterable(map(dict.values, bags))
    try:
        tfs = np.frombuffer(bytes(counts), dtype=np.uint8)
    except ValueError:  # a count past 255
        counts = chain.from_iterable(map(dict.values, bags))
        tfs = np.fromiter(counts, dtype=np.intp, count=count)
    try:
        return _tf_table()[tfs]
    except IndexError:  # a count past the table: a table long enough, same values
        top = int(tfs.max())
        return np.array([0.0] + [1.0 + math.log(tf) for tf in range(1, top + 1)])[tfs]


class _Graph(NamedTuple):
    """An article's sentences as TF-IDF vectors (flat: one entry per sentence and term) and
    their similarity graph.

    The arithmetic is that of the sparse, per-term Python loops it replaced, done as whole-array
    operations: every sum that decides a weight or an edge (a vector's norm, an edge's weight)
    adds the same products in the same order (``numpy.bincount`` accumulates its weights in
    input order), so the vectors and edges are the same floats to the last bit."""

    rows: Any  # sentence of each entry (entries in sentence order, then bag order)
    slots: Any  # the entry's term, as the index of the term's first entry (its "slot")
    weights: Any  # the entry's weight in its L2-normalised TF-IDF vector
    lengths: list[int]  # terms per sentence
    slot: dict[str, int]  # term → slot
    idf: Any  # IDF per entry (so ``idf[slot]`` is the term's)
    adjacency: Any  # n × n cosine similarities, edges under EDGE_MIN_COSINE dropped (0.0)


def _tfidf_graph(bags: Sequence[dict[str, int]]) -> _Graph:
    """L2-normalised TF-IDF vectors (IDF over the given sentences) and the sparse symmetric
    cosine-similarity graph (no self loops) through the terms shared by two sentences or more
    (the only ones that can link two sentences).

    A term is numbered by its first entry (one ``dict.setdefault`` per entry): the numbers sort
    in order of first occurrence, the order in which an edge adds its terms' products."""
    np = numeric.require_numpy()
    n = len(bags)
    sizes = _per_size(n)
    lengths = list(map(len, bags))
    count = sum(lengths)
    slot: dict[str, int] = {}
    terms = chain.from_iterable(bags)
    slots = np.fromiter(map(slot.setdefault, terms, range(count)), dtype=np.intp, count=count)
    rows = sizes.arange.repeat(lengths)
    # in how many sentences the entry's term occurs (numpy methods, not their wrappers: the
    # calls' overhead is most of the cost at these sizes)
    df = np.bincount(slots, minlength=1)[slots]
    idf = sizes.idf_by_df[df]
    weights = _tf_weights(bags, count) * idf
    norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=n))
    weights /= norms[rows]  # every weight is > 0, so is every norm with an entry

    # Edges: the entries of shared terms, term by term (in order of first occurrence), each
    # term's in sentence order; every entry pairs with the later ones of its term (``ahead``).
    shared = (df > 1).nonzero()[0]
    shared = shared[slots[shared].argsort(kind="stable")]
    keys = slots[shared]
    ends = keys.searchsorted(keys, side="right")  # where the entry's term's run ends
    ahead = ends - np.arange(1, len(shared) + 1)
    a = shared.repeat(ahead)  # each pair's first entry
    # the p-th pair of entry x (counting all pairs) is (x, p - (pairs before x's) + x + 1)
    b = shared[np.arange(len(a)) - (ahead.cumsum() - ends).repeat(ahead)]
    adjacency = np.bincount(
        rows[a] * n + rows[b], weights=weights[a] * weights[b], minlength=n * n
    ).reshape(n, n)
    np.putmask(adjacency, adjacency < EDGE_MIN_COSINE, 0.0)  # drop incidental links
    adjacency += adjacency.T  # mirror the upper triangle
    return _Graph(rows, slots, weights, lengths, slot, idf, adjacency)


def _pagerank_dense(adjacency: Any, bias: Any) -> list[float]:
    """Weighted PageRank over a symmetric, non-negative ``adjacency`` matrix; teleports (and
    dangling mass) follow ``bias`` (summing to 1).

    Gauss-Seidel sweeps (each rank updated in turn, using the ranks already updated in the
    sweep: about half the sweeps of power iteration), written as one affine map per sweep: with
    L and U the strictly lower and upper parts of the transition matrix, a sweep solves
    (I - dL) x' = factor·bias + dU x, and the teleport factor is linear in x too. The result is
    that of the first sweep that changed the ranks by less than ``PAGERANK_TOLERANCE`` in all
    (or of the last one); convergence is checked for sweeps in blocks (PAGERANK_FIRST_CHECK).

    At these sizes each numpy call costs more than its arithmetic, so the steps are few and
    fused where the floats stay the same: I - d·L is I + L·(-d) (a per-size mask holding -d
    below the diagonal), and the dangling columns of the sweep take the teleport by one masked
    copy (their columns of U are zero)."""
    np = numeric.require_numpy()
    n = len(bias)
    if n == 0:
        return []
    sizes = _per_size(n)
    out = np.add.reduce(adjacency, 0)  # column sums (``sum(axis=0)`` without its wrapper)
    dangling = out <= 0.0
    # column j divided by j's out-weight (weights are ≥ 0: a dangling column's 0.0 becomes 1.0)
    transition = adjacency / (out + dangling)
    d = PAGERANK_DAMPING
    # (transition entries are ≥ 0, so multiplying by a 0/1 mask keeps them or makes them +0.0)
    solve = np.linalg.inv(sizes.eye + transition * sizes.below)
    teleport = solve @ bias
    coupled = solve @ (transition * sizes.upper)
    np.copyto(coupled, teleport[:, None], where=dangling)  # a dangling sentence's mass teleports
    step = np.zeros((n + 1, n + 1))  # [x; 1] → [x'; 1]
    np.multiply(coupled, d, out=step[:n, :n])
    step[:n, n] = (1.0 - d) * teleport
    step[n, n] = 1.0
    sweeps = np.empty((PAGERANK_MAX_ITER + 1, n + 1))
    sweeps[0, :n] = bias
    sweeps[0, n] = 1.0
    done, dot = 0, step.dot
    while done < PAGERANK_MAX_ITER:
        end = min(
            done + (PAGERANK_CHECK_EVERY if done else PAGERANK_FIRST_CHECK), PAGERANK_MAX_ITER
        )
        block = list(sweeps[done : end + 1])  # the rows' views, made in one call
        previous = block[0]
        for current in block[1:]:
            dot(previous, out=current)
            previous = current
        deltas = np.add.reduce(np.abs(sweeps[done + 1 : end + 1, :n] - sweeps[done:end, :n]), 1)
        converged = (deltas < PAGERANK_TOLERANCE).nonzero()[0]
        if len(converged):
            done += int(converged[0]) + 1
            break
        done = end
    ranks: list[float] = sweeps[done, :n].tolist()
    return ranks


def _pagerank(
    graph: Sequence[dict[int, float]], personalization: Sequence[float] | None = None
) -> list[float]:
    """Weighted PageRank of a symmetric graph given as adjacency dicts; teleports (and dangling
    mass) follow ``personalization`` (or uniform)."""
    np = numeric.require_numpy()
    n = len(graph)
    adjacency = np.zeros((n, n))
    for i, row in enumerate(graph):
        for j, w in row.items():
            adjacency[i, j] = w
    if personalization is None:
        return _pagerank_dense(adjacency, np.full(n, 1.0 / n))
    return _pagerank_dense(adjacency, np.array(personalization) / sum(personalization))


def _title_similarity(graph: _Graph, title_bag: dict[str, int], n: int) -> list[float]:
    """cos(sentence, title) per sentence, the title weighted with the sentences' IDF.

    A dot product adds its terms in the order of the shorter vector (as the dict loop did): the
    title's order when the sentence has more terms, else the sentence's. Every sentence's sum
    is first taken in its own order (``numpy.bincount`` adds in input order; the entries of
    other terms add +0.0), then the few sentences holding three title terms or more (the order
    of two is moot) and more terms than the title are summed again in the title's order."""
    np = numeric.require_numpy()
    unseen = math.log((n + 1) / 0.5)
    slot, idf = graph.slot, graph.idf
    title_vec = {}
    for t, tf in title_bag.items():
        c = slot.get(t)
        title_vec[t] = (1.0 + math.log(tf)) * (unseen if c is None else float(idf[c]))
    norm = math.sqrt(sum(w * w for w in title_vec.values())) or 1.0
    title_vec = {t: w / norm for t, w in title_vec.items()}
    shared = [(slot[t], k, w) for k, (t, w) in enumerate(title_vec.items()) if t in slot]
    if not shared:
        return [0.0] * n
    cs, ks, ws = zip(*shared, strict=True)
    in_title = np.zeros(len(idf))  # the title's weight per slot (entries of other terms 0.0)
    in_title[list(cs)] = ws
    per_entry = in_title[graph.slots]
    products = graph.weights * per_entry
    sims: list[float] = np.bincount(graph.rows, weights=products, minlength=n).tolist()
    if len(shared) < 3:
        return sims
    hits = per_entry.nonzero()[0]  # entries of title terms, in sentence then bag order
    rows = graph.rows[hits].tolist()
    title_terms, lengths = len(title_vec), graph.lengths
    place = dict(zip(cs, ks, strict=True))  # the term's place in the title, per slot
    for k in range(len(rows) - 2):
        row = rows[k]
        if rows[k + 2] != row or (k and rows[k - 1] == row) or lengths[row] <= title_terms:
            continue  # not the start of a run of three hits or more in a long sentence
        end = k + 3
        while end < len(rows) and rows[end] == row:
            end += 1
        run = hits[k:end]
        places = [place[c] for c in graph.slots[run].tolist()]
        total = 0.0
        for _, product in sorted(zip(places, products[run].tolist(), strict=True)):
            total += product
        sims[row] = total
    return sims


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
    stripped = list(map(str.strip, sentences))
    candidates = _eligible(sentences, stripped, skip)
    if not candidates:
        return []
    lengths = list(map(len, stripped))
    limit = max_chars * (1.0 + BUDGET_SLACK)
    if len(candidates) <= max_sentences and sum(lengths[i] for i in candidates) <= limit:
        return candidates

    # Graph over all sentences (skipped ones still tell what the article is about).
    if bags is None or title_bag is None:
        if stopwords is None:
            stopwords = load_stopwords()
        if bags is None:
            bags = [_content_terms(tokens, stopwords) for tokens in sentence_tokens]
        if title_bag is None:
            title_bag = _content_terms(title_tokens, stopwords)
    n = len(sentences)
    similarity: Callable[[int], list[float]]  # a sentence's row of the similarity graph
    # Position-biased ("PositionRank"-style) teleport; sqrt tames PageRank's heavy head so one
    # dense cluster (e.g. a run of list items) does not swamp the other signals.
    if numeric.numpy() is None:
        from . import plaingraph

        prior, teleport = _plain_per_size(n)
        plain = plaingraph.tfidf_graph(bags)
        ranks, _ = plaingraph.pagerank(plain.similarity, teleport)
        sims = plaingraph.title_similarity(plain, title_bag) if title_bag else [0.0] * n
        similarity = plain.similarity.__getitem__
    else:
        graph = _tfidf_graph(bags)
        sizes = _per_size(n)
        prior = sizes.prior
        ranks = _pagerank_dense(graph.adjacency, sizes.bias)
        sims = _title_similarity(graph, title_bag, n) if title_bag else [0.0] * n
        similarity = _rows(graph.adjacency)
    w_title = W_TITLE if title_bag else 0.0
    total_weight = W_CENTRALITY + w_title + W_POSITION
    # Each signal divided by its maximum over all sentences (all 0.0 if that is not positive),
    # for the candidates only; the centrality's maximum is the square root of the top rank.
    top, top_sim = math.sqrt(max(ranks)), max(sims)
    sqrt = math.sqrt
    score = {
        i: (
            W_CENTRALITY * (sqrt(ranks[i]) / top if top > 0.0 else 0.0)
            + w_title * (sims[i] / top_sim if top_sim > 0.0 else 0.0)
            + W_POSITION * prior[i]
        )
        / total_weight
        for i in candidates
    }

    # The sort is stable, so equal scores keep article order.
    by_score = sorted(candidates, key=score.__getitem__, reverse=True)
    return _mmr_select(by_score, score, lengths, stripped, limit, max_sentences, similarity)


def _rows(matrix: Any) -> Callable[[int], list[float]]:
    """A numpy matrix's rows as lists."""
    return lambda i: matrix[i].tolist()


def _mmr_select(
    by_score: list[int],
    score: dict[int, float],
    lengths: Sequence[int],
    texts: Sequence[str],
    limit: float,
    max_sentences: int,
    similarity: Callable[[int], list[float]],
) -> list[int]:
    """MMR selection (see the module docstring) over the candidates ``by_score`` (best score
    first; ties in article order), in article order.

    First pick: the best sentence that fits the budget (else the best overall). Then, while
    there is room, the sentence of highest MMR value ``MMR_LAMBDA·score - (1 - MMR_LAMBDA)·
    redundancy`` that fits, is no near-duplicate (``similarity`` to a chosen one below
    DUPLICATE_COSINE) and no repeated text. A sentence's value is at most its relevance
    ``MMR_LAMBDA·score`` (its redundancy is ≥ 0), so each scan stops at the first sentence
    whose relevance cannot beat the best value found: the later ones score no higher."""
    for first in by_score:
        if lengths[first] <= limit:
            break
    else:
        first = by_score[0]
    chosen = [first]
    used = lengths[first]
    chosen_texts = {texts[first]}
    redundancy = similarity(first)  # max cosine of each sentence to the chosen ones
    remaining = by_score.copy()  # best score first
    remaining.remove(first)
    while len(chosen) < max_sentences and remaining:
        best, best_value = -1, -math.inf
        for i in remaining:
            relevance = MMR_LAMBDA * score[i]
            if relevance <= best_value:
                break  # no later sentence can beat the best one
            if used + lengths[i] > limit:
                continue
            similar = redundancy[i]
            if similar >= DUPLICATE_COSINE or texts[i] in chosen_texts:
                continue
            value = relevance - (1.0 - MMR_LAMBDA) * similar
            if value > best_value:  # strict: ties keep the earlier (higher-score) index
                best, best_value = i, value
        if best < 0:
            break
        chosen.append(best)
        chosen_texts.add(texts[best])
        used += lengths[best]
        remaining.remove(best)
        if len(chosen) < max_sentences:
            redundancy = list(map(max, redundancy, similarity(best)))
    return sorted(chosen)
