"""Analysis of one article: sentences, tokens, index text, keywords, regions and summary.

Each article is segmented once (jieba, on the OpenCC-simplified text, sentence by sentence) and
the tokens are reused for the full-text index, the keywords and the summary. :func:`analyze` is a
module-level function of picklable inputs and outputs so that a process pool can run it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .formats import RawArticle
from .keywords import Idf, extract_keywords
from .models import AnalyzedArticle
from .regions import load_gazetteer
from .summarizer import summarize
from .text import (
    ends_with_terminal,
    index_terms,
    is_subheading,
    raw_tokens,
    split_sentences,
    sub_terms,
    to_simplified,
    tokenize,
)

SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 220


@dataclass
class Sentences:
    """The body's sentences with their tokens and the indices not fit for a summary."""

    texts: list[str]
    tokens: list[list[str]]
    skip: frozenset[int]


def content_hash(title: str, paragraphs: list[str]) -> str:
    """SHA-256 of the normalised text: the same article twice is a duplicate."""
    data = "\n".join([title, *paragraphs]).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def sentences_of(paragraphs: list[str], simplified_body: str | None = None) -> Sentences:
    """Split paragraphs into sentences and segment them (simplified text).

    The body is segmented in one jieba call (one call per sentence costs ~50 % more) and the
    tokens are handed to the sentences by character offset: sentences end at punctuation, which
    jieba always keeps as separate tokens, so no token straddles two sentences.
    """
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    skip: set[int] = set()
    offset = 0
    for paragraph in paragraphs:
        heading = is_subheading(paragraph)
        pieces = [paragraph] if heading else split_sentences(paragraph)
        cursor = 0
        for piece in pieces:
            start = paragraph.find(piece, cursor)
            cursor = start + len(piece)
            if heading or not ends_with_terminal(piece):
                skip.add(len(texts))
            texts.append(piece)
            spans.append((offset + start, offset + cursor))
        offset += len(paragraph) + 1  # the "\n" between paragraphs
    body = "\n".join(paragraphs)
    simplified = to_simplified(body) if simplified_body is None else simplified_body
    if len(simplified) != len(body):  # t2s changed the length: offsets would not line up
        tokens = [tokenize(to_simplified(text)) for text in texts]
        return Sentences(texts, tokens, frozenset(skip))
    tokens: list[list[str]] = [[] for _ in texts]
    if not spans:
        return Sentences(texts, tokens, frozenset(skip))
    index, last = 0, len(spans) - 1
    start, end = spans[0]
    current = tokens[0]
    position = 0
    for token in raw_tokens(simplified):
        if position >= end and index < last:
            while index < last and position >= spans[index][1]:
                index += 1
            start, end = spans[index]
            current = tokens[index]
        if start <= position < end and not token.isspace():
            current.append(token)
        position += len(token)
    return Sentences(texts, tokens, frozenset(skip))


def choose_summary(
    title_tokens: list[str],
    sents: Sentences,
    max_sentences: int = SUMMARY_SENTENCES,
    max_chars: int = SUMMARY_CHARS,
) -> list[str]:
    chosen = summarize(
        title_tokens,
        sents.texts,
        sents.tokens,
        skip=sents.skip,
        max_sentences=max_sentences,
        max_chars=max_chars,
    )
    return [sents.texts[i] for i in chosen]


def analyze(raw: RawArticle, idf: Idf | None = None) -> AnalyzedArticle:
    """Everything the store needs about ``raw``."""
    simplified_title = to_simplified(raw.title)
    simplified_body = to_simplified("\n".join(raw.paragraphs))
    title_tokens = tokenize(simplified_title)
    sents = sentences_of(raw.paragraphs, simplified_body)
    body_tokens = [t for toks in sents.tokens for t in toks]
    chash = content_hash(raw.title, raw.paragraphs)
    simplified = simplified_title + "\n" + simplified_body
    return AnalyzedArticle(
        id=chash[:16],
        content_hash=chash,
        title=raw.title,
        paragraphs=raw.paragraphs,
        summary=choose_summary(title_tokens, sents),
        keywords=extract_keywords(body_tokens, idf, title_tokens=title_tokens),
        regions=load_gazetteer().tag(simplified),
        title_index=index_terms(title_tokens),
        body_index=index_terms(body_tokens),
        title_sub=sub_terms(title_tokens),
        body_sub=sub_terms(body_tokens),
        chars=len(raw.title) + sum(len(p) for p in raw.paragraphs),
        source_path=raw.source_path,
        url=raw.url,
        published=raw.published,
        source=raw.source,
    )
