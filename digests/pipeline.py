"""Analysis of one article: sentences, tokens, index text, keywords, regions and summary.

Each article is segmented once (jieba, on the OpenCC-simplified text, sentence by sentence) and
the tokens are reused for the full-text index, the keywords and the summary. :func:`analyze` is a
module-level function of picklable inputs and outputs so that a process pool can run it.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from . import numeric, terms
from .dates import iso_published
from .formats import RawArticle
from .keywords import Idf, place_fragments, rank_keywords
from .models import AnalyzedArticle
from .regions import load_gazetteer
from .summarizer import summarize
from .text import (
    cjk_grams,
    raw_tokens,
    sentence_spans,
    to_simplified,
    tokenize,
)

_SPACE = re.compile(r"\s")
SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 220


@dataclass
class Sentences:
    """The body's sentences with their tokens and the indices not fit for a summary."""

    texts: list[str]
    tokens: list[list[str]]
    skip: frozenset[int]
    title_tokens: list[str] = field(default_factory=list)
    #: every token of ``title + "\n" + body`` and where each starts (empty when OpenCC changed
    #: the text's length and the sentences were segmented one by one)
    all_tokens: list[str] = field(default_factory=list)
    starts: Any = field(default_factory=list)  # a numpy array unless the process is lean


def content_hash(title: str, paragraphs: list[str]) -> str:
    """SHA-256 of the normalised text: the same article twice is a duplicate."""
    data = "\n".join([title, *paragraphs]).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def sentences_of(
    paragraphs: list[str], simplified_body: str | None = None, simplified_title: str | None = None
) -> Sentences:
    """Split paragraphs into sentences and segment them (simplified text).

    The body (after ``simplified_title`` and a line break, when given) is segmented in one jieba
    call (one call per sentence costs markedly more: docs/benchmarks.md) and the tokens are handed
    to the sentences by character offset: sentences end at punctuation, which jieba always keeps
    as separate tokens, so no token straddles two sentences. jieba segments the text between line
    breaks independently, so the title's tokens are those it would get alone.
    """
    body = "\n".join(paragraphs)
    texts, bounds, unfinished = sentence_spans(paragraphs, body)
    skip = frozenset(unfinished)
    simplified = to_simplified(body) if simplified_body is None else simplified_body
    if len(simplified) != len(body):  # t2s changed the length: offsets would not line up
        tokens = [tokenize(to_simplified(text)) for text in texts]
        title_tokens = tokenize(simplified_title) if simplified_title else []
        return Sentences(texts, tokens, skip, title_tokens)
    shift = 0 if simplified_title is None else len(simplified_title) + 1
    all_tokens = raw_tokens(simplified if not shift else f"{simplified_title}\n{simplified}")
    # where each token starts, then the first token at the title's end and at each bound
    np = numeric.numpy()
    if np is None:
        starts: Any = [0, *accumulate(map(len, all_tokens))]
        title_end, *firsts = [bisect_left(starts, at + shift) for at in (-1, *bounds)]
    else:
        starts = _token_starts(np, all_tokens)
        at = np.array([-1, *bounds], np.intp) + shift
        title_end, *firsts = starts.searchsorted(at).tolist()  # bisect_left of each
    title_tokens = [t for t in all_tokens[:title_end] if not t.isspace()]
    # the tokens starting inside each sentence: slices between the first tokens at its bounds
    tokens = list(map(all_tokens.__getitem__, map(slice, firsts[0::2], firsts[1::2])))
    # Whitespace inside a sentence is rare: look for it sentence by sentence only when the body
    # has some besides the line breaks between paragraphs (str.split cuts where re's \s matches).
    if len("".join(body.split())) != len(body) - len(paragraphs) + 1:
        for i, text in enumerate(texts):
            if _SPACE.search(text):
                tokens[i] = [t for t in tokens[i] if not t.isspace()]
    if not shift:
        return Sentences(texts, tokens, skip, title_tokens)
    return Sentences(texts, tokens, skip, title_tokens, all_tokens, starts)


def _token_starts(np: Any, tokens: list[str]) -> Any:
    """``[0, *accumulate(map(len, tokens))]`` as a numpy array: the lengths go through a bytes
    object (one byte per token, C-level) unless a token has 256 characters or more, so no int
    object is made per token."""
    try:
        lengths = np.frombuffer(bytes(map(len, tokens)), np.uint8)
    except ValueError:  # a token too long for a byte
        lengths = np.fromiter(map(len, tokens), np.intp, len(tokens))
    starts = np.zeros(len(tokens) + 1, np.intp)
    np.cumsum(lengths, out=starts[1:])
    return starts


def choose_summary(
    title_tokens: list[str],
    sents: Sentences,
    max_sentences: int = SUMMARY_SENTENCES,
    max_chars: int = SUMMARY_CHARS,
    *,
    bags: list[dict[str, int]] | None = None,
    title_bag: dict[str, int] | None = None,
) -> list[str]:
    chosen = summarize(
        title_tokens,
        sents.texts,
        sents.tokens,
        skip=sents.skip,
        max_sentences=max_sentences,
        max_chars=max_chars,
        bags=bags,
        title_bag=title_bag,
    )
    return [sents.texts[i] for i in chosen]


def summary_of(
    title: str, paragraphs: list[str], sentences: int = SUMMARY_SENTENCES, max_chars: int = 0
) -> list[str]:
    """An extractive summary of at most ``sentences`` sentences (verbatim, in text order) for a
    stored or read article; ``max_chars`` defaults to the stored summary's budget per sentence."""
    budget = max_chars or SUMMARY_CHARS * sentences // SUMMARY_SENTENCES
    return choose_summary(
        tokenize(to_simplified(title)), sentences_of(paragraphs), sentences, budget
    )


@dataclass
class TokenStreams:
    """What the store and the summarizer need from a run of token lists, in one pass."""

    index: str  # space-joined indexable tokens (:func:`digests.text.index_terms`)
    candidates: dict[str, int]  # keyword candidates → count, first occurrence first
    bags: list[dict[str, int]]  # the summarizer's content-term counts, one per token list


def token_streams(token_lists: list[list[str]]) -> TokenStreams:
    """One pass over the tokens, every per-token decision taken from the memo."""
    words: list[str] = []
    candidates: dict[str, int] = {}
    bags: list[dict[str, int]] = []
    add_word, memo = words.append, terms.facts
    for tokens in token_lists:
        bag: dict[str, int] = {}
        for token in tokens:
            try:
                word, candidate, term = memo[token]
            except KeyError:  # a token seen for the first time
                word, candidate, term = terms.learn(token)
            if word:
                add_word(word)
            # counted with ``in`` and subscripts: CPython specialises those, not a dict.get call
            if candidate:
                if token in candidates:
                    candidates[token] += 1
                else:
                    candidates[token] = 1
            if term:
                if term in bag:
                    bag[term] += 1
                else:
                    bag[term] = 1
        bags.append(bag)
    return TokenStreams(" ".join(words), candidates, bags)


def analyze(raw: RawArticle, idf: Idf | None = None) -> AnalyzedArticle:
    """Everything the store needs about ``raw``.

    Each token's facts (indexed? keyword candidate? content term? sub-words?) come from the
    :mod:`digests.terms` memo, and keywords and summary work on token counts.
    """
    body_text = "\n".join(raw.paragraphs)
    simplified = to_simplified(f"{raw.title}\n{body_text}")  # one call; t2s keeps lines apart
    if len(simplified) == len(raw.title) + 1 + len(body_text):
        simplified_title = simplified[: len(raw.title)]
        simplified_body = simplified[len(raw.title) + 1 :]
    else:
        simplified_title, simplified_body = to_simplified(raw.title), to_simplified(body_text)
        simplified = f"{simplified_title}\n{simplified_body}"
    sents = sentences_of(raw.paragraphs, simplified_body, simplified_title)
    title_tokens = sents.title_tokens
    title = token_streams([title_tokens])
    body = token_streams(sents.tokens)
    summary = choose_summary(title_tokens, sents, bags=body.bags, title_bag=title.bags[0])
    chash = content_hash(raw.title, raw.paragraphs)
    gazetteer = load_gazetteer()
    mentions = gazetteer.mentions(simplified)
    candidates = body.candidates
    if mentions and len(sents.starts):
        fragments = place_fragments(sents.all_tokens, sents.starts, mentions)
        for fragment in fragments:  # the others keep their order
            candidates.pop(fragment, None)
    return AnalyzedArticle(
        id=chash[:16],
        content_hash=chash,
        title=raw.title,
        paragraphs=raw.paragraphs,
        summary=summary,
        keywords=rank_keywords(candidates, idf, title_tokens=title_tokens),
        regions=gazetteer.tag_mentions(mentions),
        title_index=title.index,
        body_index=body.index,
        title_grams=cjk_grams(simplified_title),
        body_grams=cjk_grams(simplified_body),
        chars=len(raw.title) + sum(len(p) for p in raw.paragraphs),
        source_path=raw.source_path,
        url=raw.url,
        published=iso_published(raw.published),
        source=raw.source,
    )
