"""Every inline button's ``callback_data``: built and parsed here, nowhere else.

Telegram returns callback data verbatim but anyone can forge it (and old messages keep old
buttons), so :func:`parse` accepts only the shapes :func:`encode` makes, with every value checked
(ints in range, times, ids, region codes); anything else is ``None`` and the handler answers
"this button is no longer valid". Data stays within Telegram's 64 bytes.

Shapes::

    a:<article id>              open an article's card
    f:<article id>              an article's full summary
    p:s:<query key>:<offset>    a page of search results (the query is kept in ``QueryCache``)
    p:r:<region code>:<offset>  a page of a region's articles
    p:l:<offset>                a page of the newest articles
    g:<region code>             browse the gazetteer below a place ("" = the top)
    u:<subscription id>         remove a subscription
    s:lang:<zh|en>              set the chat's language
    s:mode:instant | s:mode:daily:<HH>:<MM>   set the chat's delivery mode
    src:<p|r|c|x>:<source id>   pause, resume, check or remove a source (administrators)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_DATA = 64
MAX_OFFSET = 100_000
MAX_ID = 2**53
_ARTICLE_ID = re.compile(r"[0-9A-Za-z_-]{1,40}")
_REGION = re.compile(r"[0-9A-Za-z-]{1,20}")
_QUERY_KEY = re.compile(r"[0-9a-f]{1,12}")
_INT = re.compile(r"0|[1-9][0-9]{0,15}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class OpenArticle:
    article_id: str
    full: bool = False


@dataclass(frozen=True)
class Page:
    kind: Literal["s", "r", "l"]  # search, region, latest
    key: str  # query key, region code, or "" for latest
    offset: int


@dataclass(frozen=True)
class Browse:
    code: str  # "" = the top of the gazetteer


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: int


@dataclass(frozen=True)
class SetLanguage:
    lang: Literal["zh", "en"]


@dataclass(frozen=True)
class SetMode:
    mode: str  # "instant" or "daily HH:MM"


@dataclass(frozen=True)
class SourceAction:
    action: Literal["p", "r", "c", "x"]  # pause, resume, check, remove
    source_id: int


SourceActionCode = Literal["p", "r", "c", "x"]
_SOURCE_ACTIONS: dict[str, SourceActionCode] = {"p": "p", "r": "r", "c": "c", "x": "x"}

LookupButton = OpenArticle | Page | Browse
SettingsButton = Unsubscribe | SetLanguage | SetMode
Button = LookupButton | SettingsButton | SourceAction


def encode(button: Button) -> str:
    """The callback data for ``button`` (raises ``ValueError`` for a value that would not parse)."""
    match button:
        case OpenArticle(article_id, full):
            data = f"{'f' if full else 'a'}:{article_id}"
        case Page("l", _, offset):
            data = f"p:l:{offset}"
        case Page(kind, key, offset):
            data = f"p:{kind}:{key}:{offset}"
        case Browse(code):
            data = f"g:{code}"
        case Unsubscribe(sub_id):
            data = f"u:{sub_id}"
        case SetLanguage(lang):
            data = f"s:lang:{lang}"
        case SetMode("instant"):
            data = "s:mode:instant"
        case SetMode(mode):
            data = "s:mode:daily:" + mode.removeprefix("daily ")
        case SourceAction(action, source_id):
            data = f"src:{action}:{source_id}"
        case _:  # pragma: no cover - exhaustive
            raise ValueError(f"not a button: {button!r}")
    if parse(data) != button:
        raise ValueError(f"button cannot be encoded: {button!r}")
    return data


def _offset(text: str) -> int | None:
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_OFFSET else None


def parse(data: str | None) -> Button | None:
    """The button ``data`` stands for, or ``None`` when it is not one this bot makes."""
    if not data or len(data.encode("utf-8")) > MAX_DATA:
        return None
    head, _, rest = data.partition(":")
    parts = rest.split(":")
    if head in ("a", "f"):
        return OpenArticle(rest, head == "f") if _ARTICLE_ID.fullmatch(rest) else None
    if head == "g":
        return Browse(rest) if rest == "" or _REGION.fullmatch(rest) else None
    if head == "u":
        if _INT.fullmatch(rest) and 0 < int(rest) < MAX_ID:
            return Unsubscribe(int(rest))
        return None
    if head == "p":
        if len(parts) == 2 and parts[0] == "l":
            offset = _offset(parts[1])
            return None if offset is None else Page("l", "", offset)
        if len(parts) != 3:
            return None
        kind, key, raw = parts
        offset = _offset(raw)
        if offset is None:
            return None
        if kind == "s" and _QUERY_KEY.fullmatch(key):
            return Page("s", key, offset)
        if kind == "r" and _REGION.fullmatch(key):
            return Page("r", key, offset)
        return None
    if head == "src":
        action = _SOURCE_ACTIONS.get(parts[0]) if len(parts) == 2 else None
        if action is None or not _INT.fullmatch(parts[1]) or not 0 < int(parts[1]) < MAX_ID:
            return None
        return SourceAction(action, int(parts[1]))
    if head == "s":
        if parts == ["lang", "zh"] or parts == ["lang", "en"]:
            return SetLanguage("zh" if parts[1] == "zh" else "en")
        if parts == ["mode", "instant"]:
            return SetMode("instant")
        if len(parts) == 4 and parts[:2] == ["mode", "daily"]:
            hhmm = f"{parts[2]}:{parts[3]}"
            return SetMode(f"daily {hhmm}") if _HHMM.fullmatch(hhmm) else None
    return None


def is_lookup(data: object) -> bool:
    """``CallbackQueryHandler`` pattern: a look-up button (pages, articles, browsing)."""
    return isinstance(data, str) and isinstance(parse(data), OpenArticle | Page | Browse)


def is_settings(data: object) -> bool:
    """``CallbackQueryHandler`` pattern: a subscription or settings button."""
    return isinstance(data, str) and isinstance(parse(data), Unsubscribe | SetLanguage | SetMode)


def is_source(data: object) -> bool:
    """``CallbackQueryHandler`` pattern: a source-management button."""
    return isinstance(data, str) and isinstance(parse(data), SourceAction)
