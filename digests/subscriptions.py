"""Subscription filters: parsing what a user types after /subscribe, and matching articles.

A subscription holds keywords and region codes. An article matches when the subscription has no
filter at all (everything), or when it mentions ANY of the keywords (in its title or body, with
traditional and simplified characters folded) or lies in ANY of the regions (the article is tagged
with that place, which includes every place inside it).

Filter words: a word the gazetteer resolves is a region (``喀什``, ``六师``, ``兵团``), anything else
a keyword; ``kw:团结`` or ``#团结`` forces a keyword and ``region:和田`` forces a region. ``daily
08:00`` or ``instant`` sets the delivery mode. ``source:新华网`` (or ``来源:新华网``) restricts the
subscription to articles from that source (by its name, see ``/source list``); with other filters
too, an article must come from one of the named sources and match one of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .models import Article, Subscription
from .modes import Mode, SettingError, split_mode
from .text import to_simplified

if TYPE_CHECKING:
    from .regions import Gazetteer

MAX_FILTERS = 10
SOURCE_PREFIXES = ("source:", "来源:", "来源：", "src:")  # source:NAME (digests.sources)
MAX_KEYWORD_CHARS = 30


@dataclass
class FilterRequest:
    """The parsed arguments of /subscribe."""

    keywords: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    mode: Mode | None = None
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # word -> other codes
    problems: list[str] = field(default_factory=list)


def parse_mode(words: list[str]) -> tuple[Mode | None, list[str], list[str]]:
    """Pull ``instant`` / ``daily HH:MM`` out of ``words``: (mode, rest, problems). An impossible
    time (``daily 25:00``) is a problem, never a keyword."""
    try:
        mode, rest = split_mode(words)
    except SettingError as exc:
        return None, [w for w in words if w.lower() not in ("daily", "每日", "每天")
                      and w != exc.value], [f"invalid time: {exc.value}"]  # fmt: skip
    return mode, rest, []


def parse_filters(words: list[str], gazetteer: Gazetteer) -> FilterRequest:
    """Split /subscribe arguments into keywords, region codes and a delivery mode."""
    mode, rest, problems = parse_mode(words)
    request = FilterRequest(mode=mode, problems=problems)
    for word in rest:
        if word.lower().startswith(SOURCE_PREFIXES):
            name = word.split(":", 1)[1] if ":" in word else word.split("：", 1)[1]
            if not name.strip():
                request.problems.append("empty source name")
            elif f"source:{name.strip()}" not in request.keywords:
                request.keywords.append(f"source:{name.strip()}")
            continue
        forced_kw = word.startswith(("kw:", "#"))
        forced_region = word.startswith(("region:", "地区:"))
        term = re.sub(r"^(kw:|#|region:|地区:)", "", word).strip()
        if not term:
            continue
        if len(term) > MAX_KEYWORD_CHARS:
            request.problems.append(f"too long: {term[:MAX_KEYWORD_CHARS]}…")
            continue
        places = [] if forced_kw else gazetteer.resolve(term).places
        if places:
            code = places[0].code
            if code not in request.regions:
                request.regions.append(code)
            if len(places) > 1:
                request.ambiguous[term] = [p.code for p in places[1:]]
        elif forced_region:
            request.problems.append(f"unknown region: {term}")
        elif term not in request.keywords:
            request.keywords.append(term)
    if len(request.keywords) + len(request.regions) > MAX_FILTERS:
        request.problems.append(f"at most {MAX_FILTERS} keywords and regions per subscription")
        request.keywords = request.keywords[:MAX_FILTERS]
        request.regions = request.regions[: max(0, MAX_FILTERS - len(request.keywords))]
    return request


def matches_text(sub: Subscription, article: Article, simplified_text: str) -> bool:
    """Whether ``article`` is for ``sub`` (see the module docstring); ``simplified_text`` is the
    article's title and body, OpenCC-simplified and lower-cased, computed once by the caller."""
    if sub.is_everything:
        return True
    sources = [k[len("source:") :].lower() for k in sub.keywords if k.startswith("source:")]
    if sources:  # a source filter restricts: one of these sources, then the other filters
        if (article.source or "").lower() not in sources:
            return False
        keywords = [k for k in sub.keywords if not k.startswith("source:")]
        if not keywords and not sub.regions:
            return True
    else:
        keywords = sub.keywords
    if any(code in article.regions for code in sub.regions):
        return True
    return any(to_simplified(k).lower() in simplified_text for k in keywords)


def describe(sub: Subscription, gazetteer: Gazetteer) -> str:
    """A short human label: ``第一书记 · 喀什地区`` (or an empty string for everything)."""
    names = list(sub.keywords)
    for code in sub.regions:
        place = gazetteer.get(code)
        names.append(place.name if place else code)
    return " · ".join(names)
