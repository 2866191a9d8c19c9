"""Keyword and region search over the store.

Keyword queries are segmented exactly like the documents (OpenCC t2s, then jieba). Syntax:
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

from .errors import NotFound, QueryError
from .models import Article, Hit, Results
from .store import Store
from .text import is_word, normalize, to_simplified, tokenize

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


@dataclass
class ParsedQuery:
    """A user query split into required terms, phrases and exclusions (all segmented)."""

    terms: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def highlight(self) -> list[str]:
        words = list(self.terms) + ["".join(p) for p in self.phrases]
        return sorted(dict.fromkeys(w for w in words if w), key=len, reverse=True)

    def to_fts(self) -> str:
        """The FTS5 MATCH expression (every term double-quoted)."""
        parts = [_term_expr(t) for t in self.terms]
        parts += ["{title body} : " + _phrase(p) for p in self.phrases]
        expr = " AND ".join(parts)
        for ex in self.excluded:
            expr += " NOT " + (_phrase(ex) if len(ex) > 1 else _quote(ex[0]))
        return expr


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'


def _term_expr(term: str) -> str:
    parts = _split_compound(term)
    if len(parts) > 1:
        return f"({_quote(term)} OR {{title body}} : {_phrase(parts)})"
    return _quote(term)


def _split_compound(token: str) -> list[str]:
    """Greedy split of a long token into shorter dictionary words (第一书记 → 第一 书记)."""
    from .text import _tokenizer

    n = len(token)
    if n < 3 or not re.fullmatch(r"[\u4e00-\u9fff]+", token):
        return [token]
    freq = _tokenizer().FREQ
    out: list[str] = []
    i = 0
    while i < n:
        for size in range(min(n - i, n - 1), 0, -1):
            piece = token[i : i + size]
            if size == 1 or freq.get(piece):
                out.append(piece)
                i += size
                break
    return out if len(out) > 1 and any(len(p) > 1 for p in out) else [token]


def _segment(text: str) -> list[str]:
    return [t for t in tokenize(to_simplified(text)) if is_word(t)]


def parse_query(query: str) -> ParsedQuery:
    """Split ``query`` into segmented terms, phrases and exclusions."""
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
        if negate and tokens:
            parsed.excluded.append(tokens)
        elif quoted is not None and len(tokens) > 1:
            parsed.phrases.append(tokens)
        else:
            for token in tokens:
                if token in stop or token.lower() in stop:
                    parsed.dropped.append(token)
                elif token not in parsed.terms:
                    parsed.terms.append(token)
    if not parsed.terms and not parsed.phrases:
        if parsed.excluded:
            raise QueryError("query_only_exclusions")
        if parsed.dropped:
            raise QueryError("query_only_common", words=" ".join(parsed.dropped))
        raise QueryError("query_no_words")
    return parsed


CANDIDATES = 1000
PHRASE_CANDIDATES = 500  # a phrase reads positions too: about twice the cost per candidate
PROBE = 2000


def keyword_search(store: Store, query: str, *, limit: int = 5, offset: int = 0) -> Results:
    """The best ``limit`` articles for ``query`` after ``offset``, with snippets.

    bm25 has to score every matching article before it can pick the best, about 3 µs each (twice
    that for a phrase). The matches among the newest ``PROBE`` articles estimate how common the
    query is; when it would match more than ``CANDIDATES`` articles in all (``PHRASE_CANDIDATES``
    with a phrase), it discriminates little, and only a window of the newest articles holding
    about that many matches is ranked (widened until it fills the page). The total is then an
    estimate, flagged ``approximate``.
    """
    parsed = parse_query(query)
    match = parsed.to_fts()
    newest = store.max_seq()
    estimate = 0.0
    if newest > PROBE:
        estimate = store.fts_count(match, newest - PROBE + 1) * newest / PROBE
    candidates = PHRASE_CANDIDATES if parsed.phrases else CANDIDATES
    approximate = estimate > candidates
    if approximate:
        window = max(limit + offset, int(newest * candidates / estimate))
        while True:
            min_seq = max(0, newest - window + 1)
            ranked = store.fts_search(match, limit, offset, min_seq)
            if len(ranked) == limit or min_seq == 0:
                break
            window *= 4
        if min_seq > 0:
            total = round(estimate)  # counting every match would cost as much as ranking them
        else:
            total, approximate = store.fts_count(match), False
    else:
        ranked = store.fts_search(match, limit, offset)
        total = store.fts_count(match) if ranked or offset else 0
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
    place: object  # regions.Place
    alternatives: list
    results: Results
    mentions: dict[str, int] = field(default_factory=dict)


def region_search(
    store: Store, gazetteer, name: str, *, limit: int = 5, offset: int = 0, code: str | None = None
) -> RegionResults:
    """Articles tagged with the place called ``name`` (or with ``code`` when given)."""
    if code is not None:
        place = gazetteer.get(code)
        if place is None:
            raise NotFound("unknown_region_code", code=code)
        alternatives: list = []
    else:
        resolution = gazetteer.resolve(name)
        if not resolution.places:
            suggestions = [p.name for p in resolution.suggestions]
            raise NotFound("unknown_place", name=name, suggestions=suggestions)
        place, alternatives = resolution.places[0], resolution.places[1:]
    rows = store.region_articles(place.code, limit, offset)
    total = store.region_counts([place.code]).get(place.code, 0)
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


def _place_words(gazetteer, article: Article, code: str) -> list[str]:
    """Names of the places in ``article`` that lie inside ``code`` (for highlighting)."""
    words: list[str] = []
    for tagged in article.regions:
        if tagged == code or code in gazetteer.ancestors(tagged):
            place = gazetteer.get(tagged)
            if place is not None:
                words += [place.name, place.short]
    return sorted({w for w in words if w}, key=len, reverse=True)


DISPLAY_LEVELS = frozenset({"province", "prefecture", "county", "xpcc", "division", "unit"})


def most_specific(gazetteer, regions: dict[str, int], limit: int = 4) -> list[str]:
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
