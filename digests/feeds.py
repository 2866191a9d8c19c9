"""Parsing feeds: RSS 0.9x/1.0/2.0 and Atom (feedparser), JSON Feed (here), and feed discovery.

:func:`parse_feed` turns fetched bytes into a :class:`Feed` of :class:`FeedItem`. Safety: a
document type with an internal subset (``<!DOCTYPE x [ <!ENTITY …> ]>``) is removed before
parsing, so no entity is ever expanded (billion laughs) or loaded from outside (XXE); feedparser's
own expat parser has both off too, and falls back to its loose parser on broken XML, which keeps
every item that parses. Titles lose their HTML; summaries become paragraphs of plain text.

An item's identity (:func:`item_key`) is its guid, else its normalised link, else a hash of its
title and summary; :mod:`digests.sources` decides what a changed or shared guid means.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from .charsets import decode_body, to_utf8_xml
from .text import clean_paragraph, normalize

_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(p|div|br|li|h[1-6]|tr|blockquote|section|article)\b[^>]*>", re.I)
_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_token|fbclid|gclid)$", re.IGNORECASE)


@dataclass
class FeedItem:
    """One entry of a feed, text already plain."""

    title: str
    link: str | None
    guid: str | None
    paragraphs: list[str]
    published: datetime | None = None

    @property
    def key(self) -> str:
        return item_key(self.guid, self.link, self.title, self.paragraphs)

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.paragraphs)


@dataclass
class Feed:
    """A parsed feed."""

    title: str
    kind: str  # "rss20", "atom10", "json"… (feedparser's version names)
    items: list[FeedItem] = field(default_factory=list)
    ttl_minutes: int | None = None
    problem: str | None = None  # the parser's complaint when it had to recover


class NotAFeed(ValueError):
    """The bytes are not a feed (an HTML page, say)."""


def strip_html(text: str) -> str:
    """Plain text of an HTML fragment (titles, summaries)."""
    text = _DROP.sub(" ", text)
    text = _TAG.sub("", text)
    return clean_paragraph(normalize(html.unescape(text)))


def html_paragraphs(fragment: str) -> list[str]:
    """An HTML fragment's text, one paragraph per block element or line break."""
    fragment = _DROP.sub(" ", fragment)
    fragment = _BLOCK.sub("\n", fragment)
    text = normalize(html.unescape(_TAG.sub("", fragment)))
    return [p for p in (clean_paragraph(line) for line in text.split("\n")) if p]


def normalise_link(link: str | None) -> str | None:
    """A link without fragment and tracking parameters, host lower-cased: the same story's URL
    however a feed decorates it."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return link.strip()
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    path = parts.path or "/"
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return urlunsplit((scheme, parts.netloc.lower(), path, urlencode(query), ""))


def item_key(guid: str | None, link: str | None, title: str, paragraphs: list[str]) -> str:
    """guid, else normalised link, else a hash of title and summary."""
    if guid and guid.strip():
        return "g:" + guid.strip()
    norm = normalise_link(link)
    if norm:
        return "l:" + norm
    digest = hashlib.sha256("\n".join([title, *paragraphs]).encode("utf-8")).hexdigest()[:32]
    return "h:" + digest


def looks_like_json_feed(body: bytes, content_type: str = "") -> bool:
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def parse_feed(
    body: bytes, *, content_type: str = "", charset: str | None = None, url: str = ""
) -> Feed:
    """A feed from fetched bytes; :class:`NotAFeed` when there is no feed in them."""
    if looks_like_json_feed(body, content_type):
        return _parse_json_feed(body, charset, url)
    data = _without_entities(body)
    data = to_utf8_xml(data, charset)
    parsed = feedparser.parse(
        data,
        response_headers={
            "content-type": "application/xml; charset=utf-8",
            "content-location": url,
        },
        resolve_relative_uris=False,
        sanitize_html=True,
    )
    if not parsed.version and not parsed.entries:
        raise NotAFeed("no RSS, Atom or JSON feed found")
    feed = Feed(
        title=strip_html(parsed.feed.get("title", "")) or url,
        kind=parsed.version or "rss",
        ttl_minutes=_int(parsed.feed.get("ttl")),
        problem=_problem(parsed),
    )
    for entry in parsed.entries:
        item = _item(entry, url)
        if item is not None:
            feed.items.append(item)
    return feed


_ENTITY_DECL = re.compile(rb"<!ENTITY\s+%?\s*([\w.:-]+)", re.IGNORECASE)


def _without_entities(body: bytes) -> bytes:
    """The document without its internal DTD subset, and without references to the entities that
    subset declared: nothing is expanded, nothing is loaded, nothing is left as ``&name;``."""
    match = _INTERNAL_SUBSET.search(body[:65536])
    if match is None:
        return body
    names = set(_ENTITY_DECL.findall(match.group(0)))
    rest = body[: match.start()] + body[match.end() :]
    for name in names:
        rest = re.sub(rb"&" + re.escape(name) + rb"(?![\w.:-]);?", b"", rest)
    return rest


def _problem(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return None
    return (
        f"broken XML, kept what parses ({str(exc).splitlines()[0][:100]})" if exc else "broken XML"
    )


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _item(entry: Any, base: str) -> FeedItem | None:
    title = strip_html(entry.get("title", ""))
    link = entry.get("link") or None
    if link:
        link = urljoin(base, link) if base else link
    content = ""
    if entry.get("content"):
        content = max((c.get("value", "") for c in entry["content"]), key=len)
    summary = entry.get("summary", "")
    body = content if len(strip_html(content)) >= len(strip_html(summary)) else summary
    paragraphs = html_paragraphs(body)
    if not title and not paragraphs:
        return None
    if not title:
        title = paragraphs[0][:60]
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
    return FeedItem(title, link, entry.get("id") or None, paragraphs, published)


def _parse_json_feed(body: bytes, charset: str | None, url: str) -> Feed:
    text, _ = decode_body(body, charset)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotAFeed(f"malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise NotAFeed("JSON, but not a JSON Feed")
    feed = Feed(title=strip_html(str(data.get("title") or url)), kind="json")
    for raw in data.get("items") or []:
        if not isinstance(raw, dict):
            continue
        title = strip_html(str(raw.get("title") or ""))
        body_html = raw.get("content_html") or ""
        body_text = raw.get("content_text") or raw.get("summary") or ""
        paragraphs = (
            html_paragraphs(str(body_html))
            if body_html
            else [
                p for p in (clean_paragraph(x) for x in normalize(str(body_text)).split("\n")) if p
            ]
        )
        if not title and not paragraphs:
            continue
        link = raw.get("url") or raw.get("external_url")
        link = urljoin(url, str(link)) if link else None
        guid = str(raw["id"]) if raw.get("id") not in (None, "") else None
        feed.items.append(
            FeedItem(
                title or paragraphs[0][:60],
                link,
                guid,
                paragraphs,
                _iso(raw.get("date_published") or raw.get("date_modified")),
            )
        )
    return feed


def _iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_ALTERNATE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"([\w-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)


def discover_feeds(page: str, base: str) -> list[str]:
    """Feed URLs a page advertises with ``<link rel="alternate" type="application/rss+xml">``."""
    found: list[str] = []
    for tag in _ALTERNATE.findall(page[:200_000]):
        attrs = {k.lower(): v.strip("\"'") for k, v in _ATTR.findall(tag)}
        rel = attrs.get("rel", "").lower().split()
        if "alternate" in rel and attrs.get("type", "").lower() in FEED_TYPES and attrs.get("href"):
            url = urljoin(base, html.unescape(attrs["href"]))
            if url not in found:
                found.append(url)
    return found
