"""Subscription filters: parsing what a user types after /subscribe, and matching articles.

A subscription holds keywords and region codes. An article matches when the subscription has no
filter at all (everything), or when it mentions ANY of the keywords (in its title or body, with
traditional and simplified characters folded) or lies in ANY of the regions (the article is tagged
with that place, which includes every place inside it).

Filter words: a word the gazetteer resolves is a region (``喀什``, ``六师``, ``兵团``), anything else
a keyword; ``kw:团结`` or ``#团结`` forces a keyword and ``region:和田`` forces a region (an unknown
one is refused, with the nearest names). ``daily 08:00`` or ``instant`` sets the delivery mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import FilterError
from .models import Article, Subscription
from .regions import Gazetteer
from .text import to_simplified

MAX_FILTERS = 10
MAX_KEYWORD_CHARS = 30
_TIME = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
_TIMEISH = re.compile(r"^\d{1,2}[:：.]\d{1,2}$|^\d{1,2}(点|時|时|h)$", re.IGNORECASE)
INSTANT_WORDS = ("instant", "即时", "实时")
DAILY_WORDS = ("daily", "每日", "每天")
LANGUAGE_WORDS = {"zh": "zh", "中文": "zh", "en": "en", "english": "en", "英文": "en"}


@dataclass
class FilterRequest:
    """The parsed arguments of /subscribe."""

    keywords: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    mode: str | None = None
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # word -> other codes


@dataclass
class SettingsRequest:
    """The parsed arguments of /settings: what to change (``None`` = leave as it is)."""

    language: str | None = None
    mode: str | None = None


def parse_time(text: str) -> str:
    """``7:30`` / ``07：30`` → ``07:30``; anything else is a ``FilterError("bad_time")``."""
    match = _TIME.match(text.strip())
    if match is None:
        raise FilterError("bad_time", value=text)
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_mode(words: list[str]) -> tuple[str | None, list[str]]:
    """Pull ``instant`` / ``daily [HH:MM]`` out of ``words``: (mode, the other words).

    ``daily`` alone means 08:00; a time that is not a time of day (``25:00``, ``99:99``) is a
    ``FilterError``, never a keyword nor a silent default."""
    mode: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in INSTANT_WORDS:
            mode = "instant"
        elif word in DAILY_WORDS:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if _TIME.match(nxt) or _TIMEISH.match(nxt):
                mode = f"daily {parse_time(nxt)}"
                i += 1
            else:
                mode = "daily 08:00"
        elif _TIMEISH.match(words[i]) and not _TIME.match(words[i]):
            raise FilterError("bad_time", value=words[i])
        else:
            rest.append(words[i])
        i += 1
    return mode, rest


def parse_settings(words: list[str]) -> SettingsRequest:
    """``/settings en``, ``/settings daily 09:00``, ``/settings instant``: anything else is a
    ``FilterError`` naming the first word not understood."""
    mode, rest = parse_mode(words)
    request = SettingsRequest(mode=mode)
    for word in rest:
        language = LANGUAGE_WORDS.get(word.lower())
        if language is None:
            raise FilterError("bad_setting", word=word)
        request.language = language
    return request


def parse_filters(words: list[str], gazetteer: Gazetteer) -> FilterRequest:
    """Split /subscribe arguments into keywords, region codes and a delivery mode.

    Anything that cannot be used as asked (an unknown ``region:``, a keyword too long, too many
    filters, a bad time) raises ``FilterError``: the request is refused, never widened."""
    mode, rest = parse_mode(words)
    request = FilterRequest(mode=mode)
    for word in rest:
        forced_kw = word.startswith(("kw:", "#"))
        forced_region = word.startswith(("region:", "地区:"))
        term = re.sub(r"^(kw:|#|region:|地区:)", "", word).strip()
        if not term:
            continue
        if len(term) > MAX_KEYWORD_CHARS:
            raise FilterError("filter_too_long", term=term[:MAX_KEYWORD_CHARS] + "…",
                              max=MAX_KEYWORD_CHARS)  # fmt: skip
        resolution = None if forced_kw else gazetteer.resolve(term)
        places = resolution.places if resolution else []
        if places:
            code = places[0].code
            if code not in request.regions:
                request.regions.append(code)
            if len(places) > 1:
                request.ambiguous[term] = [p.code for p in places[1:]]
        elif forced_region:
            suggestions = [p.name for p in resolution.suggestions] if resolution else []
            raise FilterError("unknown_region", term=term, suggestions=suggestions)
        elif term not in request.keywords:
            request.keywords.append(term)
    if len(request.keywords) + len(request.regions) > MAX_FILTERS:
        raise FilterError("filter_too_many", max=MAX_FILTERS)
    return request


def matches_text(sub: Subscription, article: Article, simplified_text: str) -> bool:
    """Whether ``article`` is for ``sub`` (see the module docstring); ``simplified_text`` is the
    article's title and body, OpenCC-simplified and lower-cased, computed once by the caller."""
    if sub.is_everything:
        return True
    if any(code in article.regions for code in sub.regions):
        return True
    return any(to_simplified(k).lower() in simplified_text for k in sub.keywords)


def describe(sub: Subscription, gazetteer: Gazetteer) -> str:
    """A short human label: ``第一书记 · 喀什地区`` (or an empty string for everything)."""
    names = list(sub.keywords)
    for code in sub.regions:
        place = gazetteer.get(code)
        names.append(place.name if place else code)
    return " · ".join(names)
