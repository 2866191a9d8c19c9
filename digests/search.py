"""Keyword and region search over the store.

Keyword queries are segmented exactly like the documents (OpenCC t2s, then jieba-rs). Syntax:
several words mean all of them; ``"quoted phrase"`` (ASCII or “full-width” quotes) must appear as
written; ``-word`` excludes. User text never reaches FTS5 unquoted, so its syntax characters
(``" * ( ) : ^ NEAR OR AND NOT -``) are plain text here and never cause an error. A query with no
searchable word left (empty, punctuation, stop words only, only exclusions) raises ``QueryError``.

Region queries resolve a name through the gazetteer and list the articles tagged with that place,
most mentions first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import NotFound, QueryError
from .models import Article, Hit, Results
from .store import Store, bounded
from .text import gram_phrase, is_cjk, is_word, normalize, to_simplified, tokenize
from .wordindex import index_form

if TYPE_CHECKING:
    from .regions import Gazetteer, Place

MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 90

_CHUNK = re.compile(r'(-?)(?:"([^"]*)"|“([^”]*)”|「([^」]*)」|(\S+))')


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from importlib.resources import files

    try:
        text = (files("digests") / "data" / "stopwords.txt").read_text(encoding="utf-8")
    except FileNotFoundError:  # pragma: no cover - the file ships with the package
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


WORDS = "articles_fts"  # the segmented words (title, body)
GRAMS = "articles_grams"  # the CJK character pairs (title, body)


@dataclass
class ParsedQuery:
    """A user query: the CJK strings and the words it requires and excludes.

    A CJK string of two or more characters is searched as a string (the phrase of its character
    pairs in ``articles_grams``), so it is found wherever it appears, whatever the segmentation
    of the article; anything else (Latin words, numbers, single characters, quoted text mixing
    them) as words in ``articles_fts``.
    """

    grams: list[str] = field(default_factory=list)  # CJK strings that must appear
    words: list[str] = field(default_factory=list)  # words that must appear
    phrases: list[list[str]] = field(default_factory=list)  # word sequences that must appear
    excluded_grams: list[str] = field(default_factory=list)
    excluded_words: list[list[str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """The required strings and words, as the user will see them highlighted."""
        return [*self.grams, *self.words]

    @property
    def highlight(self) -> list[str]:
        words = [*self.terms, *("".join(p) for p in self.phrases)]
        return sorted(dict.fromkeys(w for w in words if w), key=len, reverse=True)

    @property
    def has_phrase(self) -> bool:
        """True when a match must check positions (a phrase of several pairs or words)."""
        return bool(self.phrases) or any(len(g) > 2 for g in self.grams)

    def plan(self) -> SearchPlan:
        """Which table ranks, with which expression, and what the other table adds."""
        word_parts = [_words(w) for w in [*([w] for w in self.words), *self.phrases]]
        word_expr = " AND ".join(word_parts)
        word_not = " OR ".join(_words(ex) for ex in self.excluded_words)
        gram_not = " OR ".join(_phrase(gram_phrase(g)) for g in self.excluded_grams)
        word_units = [(WORDS, part) for part in word_parts]
        if self.grams:
            gram_parts = [_phrase(gram_phrase(g)) for g in self.grams]
            positive = " AND ".join(gram_parts)
            expr = positive + (f" NOT ({gram_not})" if gram_not else "")
            filters = [(WORDS, word_expr, True)] if word_expr else []
            if word_not:
                filters.append((WORDS, word_not, False))
            units = [(GRAMS, part) for part in gram_parts] + word_units
            return SearchPlan(GRAMS, expr, filters, positive, units)
        expr = word_expr + (f" NOT ({word_not})" if word_not else "")
        filters = [(GRAMS, gram_not, False)] if gram_not else []
        return SearchPlan(WORDS, expr, filters, word_expr, word_units)


@dataclass
class SearchPlan:
    """An FTS5 expression for one table, plus (table, expression, include?) filters."""

    table: str
    match: str
    filters: list[tuple[str, str, bool]]
    positive: str = ""  # ``match`` without its exclusions
    units: list[tuple[str, str]] = field(default_factory=list)  # (table, expression) per term


def _words(tokens: list[str]) -> str:
    """The phrase of ``tokens`` in the word index, each as it holds them (:func:`index_form`)."""
    return _phrase([index_form(t) for t in tokens])


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'


def _segment(text: str) -> list[str]:
    return [t for t in tokenize(to_simplified(text)) if is_word(t)]


def parse_query(query: str) -> ParsedQuery:
    """Split ``query`` into required and excluded strings and words.

    Each space-separated chunk of CJK text is segmented and stop words dropped; what is left is
    required word by word (``新疆的棉花`` needs 新疆 and 棉花), except that a chunk that
    segments into a single character anywhere is required as written (``第六师`` → 第六 / 师:
    the string 第六师). Quoted text must appear as written; ``-chunk`` excludes the string.
    """
    query = normalize(query).strip()  # as the documents were: no invisible characters
    if not query:
        raise QueryError("query_empty")
    if len(query) > MAX_QUERY_CHARS:
        query = query[:MAX_QUERY_CHARS]
    stop = stopwords()
    parsed = ParsedQuery()
    for match in _CHUNK.finditer(query):
        negate = match.group(1) == "-"
        quoted = next((g for g in match.group(2, 3, 4) if g is not None), None)
        text = quoted if quoted is not None else match.group(5)
        tokens = _segment(text)
        if not tokens:
            continue
        whole = "".join(tokens)
        if negate:
            if is_cjk(whole) and len(whole) > 1:
                parsed.excluded_grams.append(whole)
            else:
                parsed.excluded_words.append(tokens)
            continue
        if quoted is not None and len(tokens) > 1:
            if is_cjk(whole):
                _add(parsed.grams, whole)
            else:
                parsed.phrases.append(tokens)
            continue
        kept = []
        for token in tokens:
            if token in stop or token.lower() in stop:
                parsed.dropped.append(token)
            else:
                kept.append(token)
        if len(kept) > 1 and is_cjk(whole) and any(len(t) == 1 for t in kept):
            _add(parsed.grams, whole)  # 第六师: the string, not 第六 AND 师
            continue
        for token in kept:
            _add(parsed.grams if len(token) > 1 and is_cjk(token) else parsed.words, token)
    if not parsed.grams and not parsed.words and not parsed.phrases:
        if parsed.excluded_grams or parsed.excluded_words:
            raise QueryError("query_only_exclusions")
        if parsed.dropped:
            raise QueryError("query_only_common", words=" ".join(parsed.dropped))
        raise QueryError("query_no_words")
    return parsed


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


CANDIDATES = 1000
PHRASE_CANDIDATES = 500  # a phrase reads positions too: about twice the cost per candidate
COUNT_CAP = 2500  # matches counted one by one before the total is estimated
ESTIMATE_HITS = 1600  # matches seen by an estimate: a 2.5 % standard error, so within ±5 %
STRATA = 8  # an estimate counts this many ranges spread evenly over the whole history
FIRST_SAMPLE = 2048  # articles in those ranges at first (then as many as ESTIMATE_HITS need)
SAMPLE_MARGIN = 1.5  # a sample sized from the previous one's rate: this much larger
BM25_MAX_DF = 30_000  # bm25 reads every match of each term first: not for terms this common
TITLE_SCORE, BODY_SCORE = 2.0, 1.0  # the scores of the two tiers of a common query


def keyword_search(store: Store, query: str, *, limit: int = 5, offset: int = 0) -> Results:
    """The best ``limit`` articles for ``query`` after ``offset``, with snippets.

    Up to ``COUNT_CAP`` matches are counted exactly; beyond, the total is estimated from the
    matches in ``STRATA`` ranges of articles spread evenly from the oldest to the newest, widened
    until they hold ``ESTIMATE_HITS`` matches (flagged ``approximate``).

    bm25 ranks a query that matches at most ``CANDIDATES`` articles (``PHRASE_CANDIDATES`` with
    a phrase). A query that matches more discriminates little, and bm25 would have to read every
    match of each term first (its IDF: ~16 ms for a word in every article of a million), so its
    matches rank in two tiers, the query in the title first, newest first within each: FTS5
    reads matches newest first and stops at the page. The same holds when one of several terms
    is that common (more than ``BM25_MAX_DF`` articles), even if the whole query is rare.
    """
    offset = bounded(offset)
    parsed = parse_query(query)
    plan = parsed.plan()
    newest = store.max_seq()
    total, approximate = _count(store, plan, newest)
    candidates = PHRASE_CANDIDATES if parsed.has_phrase else CANDIDATES
    if total > candidates or (total and _has_common_term(store, plan, newest)):
        window = newest * candidates // max(total, candidates)  # holds ~candidates matches
        ranked = _newest_by_tier(store, plan, limit, offset, newest - window + 1)
    else:
        ranked = _rank(store, plan, limit, offset) if total or offset else []
    articles = store.get_many([seq for seq, _ in ranked])
    hits = [
        Hit(articles[seq], score, make_snippet(articles[seq], parsed.highlight))
        for seq, score in ranked
        if seq in articles
    ]
    return Results(
        hits=hits,
        total=total,
        offset=offset,
        limit=limit,
        terms=parsed.highlight,
        approximate=approximate,
    )


def _rank(store: Store, plan: SearchPlan, limit: int, offset: int) -> list[tuple[int, float]]:
    return store.fts_search(plan.match, limit, offset, table=plan.table, filters=plan.filters)


def _newest_by_tier(
    store: Store, plan: SearchPlan, limit: int, offset: int, min_seq: int
) -> list[tuple[int, float]]:
    """The matches since ``min_seq`` with the query in the title, newest first, then all the
    others, newest first (reading as many matches as the page needs, plus the window's)."""
    need = offset + limit
    first = store.fts_newest(
        plan.match, need, min_seq, table=plan.table, filters=plan.filters, in_title=plan.positive
    )
    ranked = [(seq, TITLE_SCORE) for seq in first]
    if len(first) < need:
        seen = set(first)
        rest = store.fts_newest(plan.match, need, table=plan.table, filters=plan.filters)
        ranked += [(seq, BODY_SCORE) for seq in rest if seq not in seen]
    return ranked[offset:need]


def _has_common_term(store: Store, plan: SearchPlan, newest: int) -> bool:
    """True when one of several terms is in more than ``BM25_MAX_DF`` articles (estimated from
    the first stratified sample; small corpora never)."""
    if len(plan.units) < 2 or newest < BM25_MAX_DF:
        return False
    window = min(FIRST_SAMPLE, newest)
    return any(
        _sample(store, table, match, [], newest, window) * newest / window > BM25_MAX_DF
        for table, match in plan.units
    )


def _count(store: Store, plan: SearchPlan, newest: int) -> tuple[int, bool]:
    """(total, approximate): exact up to ``COUNT_CAP`` matches, estimated beyond.

    A first sample of ``FIRST_SAMPLE`` articles tells a very common query at once (no need to
    count ``COUNT_CAP`` matches one by one first); the next is as large as the first one's rate
    says ``ESTIMATE_HITS`` matches need, with a margin (``SAMPLE_MARGIN``), and at least twice
    as large, and so on until one holds that many. Every sample is read anew, so growing by
    doublings read the last window's articles about twice over. A sample that would cover half
    of the history or more is not read: all of it is counted instead (exact, and about as dear;
    the sample could still hold too few matches, and then the whole count came after it)."""
    window = FIRST_SAMPLE
    if newest >= 4 * window:
        hits = _sample(store, plan.table, plan.match, plan.filters, newest, window)
        if hits * newest / window < COUNT_CAP:  # not common by the first look: count it
            count = store.fts_count(
                plan.match, table=plan.table, filters=plan.filters, cap=COUNT_CAP
            )
            if count < COUNT_CAP:
                return count, False
        while hits < ESTIMATE_HITS:
            wanted = int(window * SAMPLE_MARGIN * ESTIMATE_HITS / max(hits, 1))
            next_window = max(2 * window, wanted)
            if 2 * next_window >= newest:  # most of the history: count it all
                break
            window = next_window
            hits = _sample(store, plan.table, plan.match, plan.filters, newest, window)
        if hits >= ESTIMATE_HITS:
            return max(COUNT_CAP, round(hits * newest / window)), True
    return store.fts_count(plan.match, table=plan.table, filters=plan.filters), False


def _sample(
    store: Store,
    table: str,
    match: str,
    filters: list[tuple[str, str, bool]],
    newest: int,
    window: int,
) -> int:
    """Matches among ``STRATA`` ranges of ``window // STRATA`` articles each, spread evenly
    from the oldest article to the newest."""
    step, width = newest / STRATA, window // STRATA
    ranges = []
    for k in range(STRATA):
        first = int(step * k + (step - width) / 2) + 1
        ranges.append((first, first + width - 1))
    return store.fts_count_ranges(match, ranges, table=table, filters=filters)


def make_snippet(
    article: Article, words: list[str], width: int = SNIPPET_CHARS
) -> list[tuple[str, bool]]:
    """A window of the body around the densest match, split into (text, is_match) pieces."""
    body = " ".join(article.paragraphs)
    simple = to_simplified(body)
    if len(simple) != len(body):  # t2s changed the length: work on the simplified text
        body = simple
    spans = _find_all(simple, words)
    if not spans:
        start = 0
    else:
        best = max(spans, key=lambda s: sum(1 for t in spans if 0 <= t[0] - s[0] < width))
        start = max(0, best[0] - width // 4)
    end = min(len(body), start + width)
    window = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
    pieces: list[tuple[str, bool]] = []
    if start > 0:
        pieces.append(("…", False))
    cursor = 0
    text = body[start:end]
    for s, e in window:
        if s < cursor:
            continue
        if s > cursor:
            pieces.append((text[cursor:s], False))
        pieces.append((text[s:e], True))
        cursor = e
    if cursor < len(text):
        pieces.append((text[cursor:], False))
    if end < len(body):
        pieces.append(("…", False))
    return pieces


def _find_all(text: str, words: list[str]) -> list[tuple[int, int]]:
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    taken = [False] * len(text)
    for word in words:  # longest first
        w = word.lower()
        start = lowered.find(w)
        while start != -1:
            end = start + len(w)
            if not any(taken[start:end]):
                spans.append((start, end))
                for i in range(start, end):
                    taken[i] = True
            start = lowered.find(w, end)
    return sorted(spans)


@dataclass
class RegionResults:
    """The place a region query resolved to, its alternatives, and a page of articles."""

    query: str
    place: Place
    alternatives: list[Place]
    results: Results
    mentions: dict[str, int] = field(default_factory=dict)


def region_search(
    store: Store, gazetteer: Gazetteer, name: str, *, limit: int = 5, offset: int = 0, code: str | None = None
) -> RegionResults:
    """Articles tagged with the place called ``name`` (or with ``code`` when given)."""
    offset = bounded(offset)
    if code is not None:
        place = gazetteer.get(code)
        if place is None:
            raise NotFound("unknown_region_code", code=code)
        alternatives: list[Place] = []
    else:
        resolution = gazetteer.resolve(name)
        if not resolution.places:
            suggestions = [p.name for p in resolution.suggestions]
            raise NotFound("unknown_place", name=name, suggestions=suggestions)
        place, alternatives = resolution.places[0], resolution.places[1:]
    rows = store.region_articles(place.code, limit, offset)
    total = store.region_total(place.code)
    articles = store.get_many([seq for seq, _ in rows])
    hits = [Hit(articles[seq], float(m)) for seq, m in rows if seq in articles]
    for hit in hits:
        hit.snippet = make_snippet(hit.article, _place_words(gazetteer, hit.article, place.code))
    return RegionResults(
        query=name,
        place=place,
        alternatives=alternatives,
        results=Results(hits=hits, total=total, offset=offset, limit=limit),
    )


def _place_words(gazetteer: Gazetteer, article: Article, code: str) -> list[str]:
    """Names of the places in ``article`` that lie inside ``code`` (for highlighting)."""
    words: list[str] = []
    for tagged in article.regions:
        if tagged == code or code in gazetteer.ancestors(tagged):
            place = gazetteer.get(tagged)
            if place is not None:
                words += [place.name, place.short]
    return sorted({w for w in words if w}, key=len, reverse=True)


DISPLAY_LEVELS = frozenset({"province", "prefecture", "county", "xpcc", "division", "unit"})


def most_specific(gazetteer: Gazetteer, regions: dict[str, int], limit: int = 4) -> list[str]:
    """Names of an article's most specific places down to county / regiment level (townships and
    companies are too fine for a one-line summary), most mentioned first."""
    shown = {
        c for c in regions if (p := gazetteer.get(c)) is not None and p.level in DISPLAY_LEVELS
    }
    ancestors: set[str] = set()
    for code in shown:
        ancestors.update(gazetteer.ancestors(code))
    leaves = sorted((c for c in shown if c not in ancestors), key=lambda c: (-regions[c], c))
    names = []
    for code in leaves[:limit]:
        place = gazetteer.get(code)
        if place is not None:
            names.append(place.name)
    return names
