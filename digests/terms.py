"""What each distinct jieba token is worth to the index, the keywords and the summarizer.

The rules live with their owners (:func:`digests.text.is_word`,
:func:`digests.keywords.is_candidate_term`, :func:`digests.summarizer.content_term`); this
module applies all of them to a token once and remembers the answer. Word frequencies follow
Zipf's law, so after a few hundred articles nearly every token is a dictionary hit and the
analysis of an article costs one lookup per token instead of a regex search and a stop-word
check per token occurrence.
"""

from __future__ import annotations

from typing import NamedTuple

from .keywords import is_candidate_term, load_stopwords
from .summarizer import content_term
from .text import is_word

__all__ = ["TermFacts", "facts"]

#: Distinct tokens remembered per process (~25 MB at most); the memo starts afresh when full.
MEMO_SIZE = 100_000


class TermFacts(NamedTuple):
    """The facts about one token."""

    word: bool  # indexed in the full-text index
    candidate: bool  # may become a keyword
    content: str  # the summarizer's content term ("" for none)


class _Memo(dict[str, TermFacts]):
    """``facts[token]``: a plain dict lookup for known tokens, computed on a miss."""

    def __missing__(self, token: str) -> TermFacts:
        if len(self) >= MEMO_SIZE:
            self.clear()
        stopwords = load_stopwords()
        value = self[token] = TermFacts(
            word=is_word(token),
            candidate=is_candidate_term(token, stopwords),
            content=content_term(token, stopwords),
        )
        return value


#: The process-wide memo: ``facts[token]`` is the :class:`TermFacts` of ``token``.
facts = _Memo()
