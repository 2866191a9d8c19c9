"""What each distinct jieba token is worth to the index, the keywords and the summarizer.

The rules live with their owners (:func:`digests.text.is_word`,
:func:`digests.keywords.is_candidate_term`, :func:`digests.summarizer.content_term`); this
module applies all of them to a token once and remembers the answer. Word frequencies follow
Zipf's law, so after a few hundred articles nearly every token is a dictionary hit and the
analysis of an article costs one lookup per token instead of a regex search and a stop-word
check per token occurrence.

The memo is a plain ``dict`` of plain tuples, so that the per-token loop's lookup and unpacking
take CPython's specialised fast paths (a ``dict`` subclass or a ``NamedTuple`` value does not);
a miss raises ``KeyError`` and the caller asks :func:`learn`.
"""

from __future__ import annotations

from .keywords import is_candidate_term, load_stopwords
from .summarizer import content_term
from .text import is_word
from .wordindex import index_form

__all__ = ["Facts", "facts", "learn"]

#: Distinct tokens remembered per process (~25 MB at most); the memo starts afresh when full.
MEMO_SIZE = 100_000


#: The facts about one token: (what the word index holds of it — :func:`index_form`, "" when it
#: is not indexed —, may become a keyword, the summarizer's content term or "" for none).
Facts = tuple[str, bool, str]

#: The process-wide memo: ``facts[token]`` is the :data:`Facts` of ``token``, for the tokens
#: seen so far (``KeyError`` for the others: see :func:`learn`).
facts: dict[str, Facts] = {}


def learn(token: str) -> Facts:
    """The facts about ``token``, remembered in :data:`facts` (a miss's slow path)."""
    if len(facts) >= MEMO_SIZE:
        facts.clear()
    stopwords = load_stopwords()
    term = content_term(token, stopwords)
    value = facts[token] = (
        index_form(token) if is_word(token) else "",
        is_candidate_term(token, stopwords),
        token if term == token else term,  # the key itself: one object less to reach per hit
    )
    return value
