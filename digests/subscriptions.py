"""Subscription filters: parsing what a user types after /subscribe, and matching articles.

A subscription holds keywords and region codes. An article matches when the subscription has no
filter at all (everything), or when it mentions ANY of the keywords (in its title or body, with
traditional and simplified characters folded) or lies in ANY of the regions (the article is tagged
with that place, which includes every place inside it).

Filter words: a word the gazetteer resolves is a region (``喀什``, ``六师``, ``兵团``), anything else
a keyword; ``kw:团结`` or ``#团结`` forces a keyword and ``region:和田`` forces a region (an unknown
one is refused, with the nearest names). ``daily 08:00`` or ``instant`` sets the delivery mode.
``source:新华网`` (or ``来源:新华网``) restricts the subscription to articles from that source (by
its name, see ``/source list``); with other filters too, an article must come from one of the
named sources and match one of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import FilterError
from .models import Article, Subscription
from .modes import Mode, Quiet, parse_hhmm, parse_timezone, split_mode
from .text import to_simplified

if TYPE_CHECKING:
    from .regions import Gazetteer

MAX_FILTERS = 10
SOURCE_PREFIXES = ("source:", "来源:", "来源：", "src:")  # source:NAME (digests.sources)
MAX_KEYWORD_CHARS = 30
_TIMEISH = re.compile(r"^\d{1,2}[:：.]\d{1,2}$|^\d{1,2}(点|時|时|h)$", re.IGNORECASE)
LANGUAGE_WORDS = {"zh": "zh", "中文": "zh", "en": "en", "english": "en", "英文": "en"}
_TZ_WORDS = ("tz", "timezone", "时区")
_QUIET_WORDS = ("quiet", "免打扰")
_OFF_WORDS = ("off", "关", "关闭", "无")


@dataclass
class FilterRequest:
    """The parsed arguments of /subscribe."""

    keywords: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    mode: Mode | None = None
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # word -> other codes


def _mode_of(words: list[str]) -> tuple[Mode | None, list[str]]:
    """:func:`digests.modes.split_mode`, and a time-like word anywhere else that is not a time
    of day (``25:00``, ``8:61``, ``8点``) is a ``bad_time`` error rather than a keyword."""
    mode, rest = split_mode(words)
    for word in rest:
        if _TIMEISH.match(word):
            parse_hhmm(word)  # SettingError("bad_time") unless it is a time of day
    return mode, rest


def parse_settings(words: list[str]) -> dict[str, str | None]:
    """The chat settings ``/settings`` words ask to change: ``language``, ``mode``, ``timezone``,
    ``quiet`` (``None`` = quiet hours off). A bad value is a ``SettingError``; a word that is no
    setting at all (``/settings fr``) a ``FilterError("bad_setting")`` — nothing is changed."""
    changes: dict[str, str | None] = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        word, nxt = words[i].lower(), words[i + 1] if i + 1 < len(words) else ""
        if word in _TZ_WORDS:
            changes["timezone"] = parse_timezone(nxt)
            i += 2
        elif word in _QUIET_WORDS:
            off = nxt.lower() in _OFF_WORDS
            changes["quiet"] = None if off else str(Quiet.parse(nxt))
            i += 2
        else:
            rest.append(words[i])
            i += 1
    mode, rest = _mode_of(rest)
    if mode is not None:
        changes["mode"] = str(mode)
    for word in rest:
        language = LANGUAGE_WORDS.get(word.lower())
        if language is None:
            raise FilterError("bad_setting", word=word)
        changes["language"] = language
    return changes


def parse_filters(words: list[str], gazetteer: Gazetteer) -> FilterRequest:
    """Split /subscribe arguments into keywords, region codes and a delivery mode.

    Anything that cannot be used as asked (an unknown ``region:``, a keyword too long, too many
    filters, a bad time) raises ``FilterError`` (``SettingError`` for the time): the request is
    refused, never widened."""
    mode, rest = _mode_of(words)
    request = FilterRequest(mode=mode)
    for word in rest:
        if word.lower().startswith(SOURCE_PREFIXES):
            name = word.split(":", 1)[1] if ":" in word else word.split("：", 1)[1]
            if not name.strip():
                raise FilterError("empty_source", term=word)
            elif f"source:{name.strip()}" not in request.keywords:
                request.keywords.append(f"source:{name.strip()}")
            continue
        forced_kw = word.startswith(("kw:", "#"))
        forced_region = word.startswith(("region:", "地区:"))
        term = re.sub(r"^(kw:|#|region:|地区:)", "", word).strip()
        if not term:
            continue
        if len(term) > MAX_KEYWORD_CHARS:
            raise FilterError(
                "filter_too_long", term=term[:MAX_KEYWORD_CHARS] + "…", max=MAX_KEYWORD_CHARS
            )
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
