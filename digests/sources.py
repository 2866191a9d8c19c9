"""The source registry and polling: what a source is, when it is due, what an item's identity is,
and one polling round that turns new items into articles through the files' path.

Adding (:func:`add_source`) fetches the URL once: a feed is a ``feed``; an HTML page that
advertises a feed (``<link rel="alternate">``) becomes that feed; a page with article links is a
``listing`` (the links are followed); anything else is a single ``page``. ``rsshub://route`` is a
feed on ``DIGESTBOT_RSSHUB_URL``.

A round (:func:`poll_round`) polls every due source concurrently (``ROUND_CONCURRENCY``, each
source within ``SOURCE_BUDGET`` seconds, so a slow or dead source never delays the others), with
conditional GET. New items (:func:`new_items`) go through :func:`digests.pipeline.analyze` and
:meth:`Store.add` like files (the content-hash dedup stays the last line); an item whose feed
carries only a summary gets its body from its page (:mod:`digests.extract`).

Identity: every item has up to three keys — its link (normalised, when no other item of the feed
shares it), its guid (when no other item shares it), a hash of title and summary — and it is
known when any of its keys is: a re-published item keeps its link, a changed guid keeps the link,
a guid shared by several items is not used, a link shared by several items (a feed pointing every
item at its home page) is not used.

No floods: the first successful poll of a source is a baseline (stored and searchable, not
pushed); later items dated more than ``OLD_DAYS`` ago likewise; at most ``ROUND_CAP`` new items
per source per round (the baseline's surplus is remembered as seen, not stored).

Schedule: the next poll is ``interval`` later, the interval taken from the feed's ``ttl``, the
response's ``Cache-Control: max-age`` or ``Retry-After``, clamped to [5 min, 24 h], ±10 % jitter;
on errors it doubles per consecutive failure (up to 24 h), and a source failing for
``DISABLE_AFTER_DAYS`` is disabled with the reason (the round reports it so administrators are
told).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .backends import open_store
from .charsets import decode_body
from .errors import DigestError
from .extract import article_links, extract_in_worker
from .feeds import Feed, FeedItem, NotAFeed, discover_feeds, normalise_link, parse_feed
from .fetch import FEED_MAX_BYTES, PAGE_MAX_BYTES, Fetcher, FetchError, Response
from .formats import MIN_BODY_CHARS, RawArticle
from .keywords import Idf
from .models import AnalyzedArticle, Source
from .store import Store

if TYPE_CHECKING:
    from .opml import Outline  # defusedxml: loaded by the OPML commands only, not by a poll

log = logging.getLogger(__name__)

MIN_INTERVAL = 5 * 60.0
MAX_INTERVAL = 24 * 3600.0
DEFAULT_INTERVAL = 30 * 60.0
JITTER = 0.1
DISABLE_AFTER_DAYS = 3.0
OLD_DAYS = 3.0
ROUND_CAP = 20  # new items stored per source per round
BASELINE_CAP = 50  # items stored from a new source's first poll
FULL_TEXT_BELOW = 150  # characters: a shorter item body is fetched from its page
MIN_PAGE_CHARS = 60  # a single-article page with less text is not an article
PAGE_CONCURRENCY = 4  # article pages fetched at once per source
ROUND_CONCURRENCY = 16  # sources polled at once
SOURCE_BUDGET = 120.0  # seconds for one source in one round
STOP_CHECK_SECONDS = 0.2  # how often a round in a worker thread looks at its stop request
RSSHUB_ENV = "DIGESTBOT_RSSHUB_URL"
ACCEPT_FEED = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class SourceError(DigestError):
    """A source cannot be added or polled; the message is one line for administrators."""


# -- addresses -------------------------------------------------------------------------------
def fetch_url(url: str, env: dict[str, str] | None = None) -> str:
    """The http(s) URL behind a stored address (``rsshub://route`` → the RSSHub instance)."""
    if not url.startswith("rsshub://"):
        return url
    base = (env if env is not None else os.environ).get(RSSHUB_ENV, "").strip().rstrip("/")
    if not base:
        raise SourceError(f"rsshub:// needs {RSSHUB_ENV} (the address of your RSSHub)")
    if not base.startswith(("http://", "https://")):
        raise SourceError(f"{RSSHUB_ENV} must be an http(s) URL such as http://rsshub.lan:1200")
    return f"{base}/{url[len('rsshub://') :].lstrip('/')}"


def default_name(url: str) -> str:
    if url.startswith("rsshub://"):
        return url[len("rsshub://") :].strip("/") or "rsshub"
    return urlsplit(url).hostname or url


# -- scheduling -------------------------------------------------------------------------------
def clamp_interval(seconds: float) -> float:
    return max(MIN_INTERVAL, min(MAX_INTERVAL, seconds))


def next_interval(
    *,
    ttl_minutes: int | None = None,
    max_age: float | None = None,
    retry_after: float | None = None,
) -> float:
    """The polite interval: the longest of what the feed and server ask for, clamped."""
    wanted = [DEFAULT_INTERVAL]
    if ttl_minutes:
        wanted.append(ttl_minutes * 60.0)
    if max_age:
        wanted.append(max_age)
    if retry_after:
        wanted.append(retry_after)
    return clamp_interval(max(wanted))


def jittered(seconds: float, rng: random.Random | None = None) -> float:
    return seconds * (1 + (rng or random).uniform(-JITTER, JITTER))


def backoff(interval: float, failures: int, retry_after: float | None = None) -> float:
    """Delay before retrying after ``failures`` consecutive failures."""
    delay = float(min(MAX_INTERVAL, max(MIN_INTERVAL, interval) * 2 ** max(0, failures - 1)))
    if retry_after:
        delay = max(delay, min(MAX_INTERVAL, retry_after))
    return delay


# -- identity ---------------------------------------------------------------------------------
def identity_keys(items: list[FeedItem], site: str = "") -> list[list[str]]:
    """The usable keys of each item (see the module docstring)."""
    guids = Counter(i.guid.strip() for i in items if i.guid and i.guid.strip())
    links = Counter(normalise_link(i.link) for i in items if i.link)
    home = normalise_link(site) if site else None
    out = []
    for item in items:
        keys = []
        link = normalise_link(item.link) if item.link else None
        if link and links[link] == 1 and link != home and urlsplit(link).path not in ("", "/"):
            keys.append("l:" + link)
        guid = item.guid.strip() if item.guid else ""
        if guid and guids[guid] == 1:
            keys.append("g:" + guid)
        digest = hashlib.sha256("\n".join([item.title, *item.paragraphs]).encode()).hexdigest()
        keys.append("h:" + digest[:32])
        out.append(keys)
    return out


def new_items(
    store: Store, source: Source, items: list[FeedItem]
) -> list[tuple[FeedItem, list[str]]]:
    """Items none of whose keys the source has seen, in feed order, with their keys."""
    keyed = list(zip(items, identity_keys(items, fetch_url_safe(source.url)), strict=True))
    known = store.known_item_keys(source.id, [k for _, keys in keyed for k in keys])
    fresh, taken = [], set()
    for item, keys in keyed:
        if any(k in known or k in taken for k in keys):
            continue
        taken.update(keys)
        fresh.append((item, keys))
    return fresh


def fetch_url_safe(url: str) -> str:
    try:
        return fetch_url(url)
    except SourceError:
        return url


# -- results ----------------------------------------------------------------------------------
@dataclass
class SourceReport:
    """What one poll of one source did."""

    source_id: int
    name: str
    status: str  # "added" | "unchanged" | "failed"
    added: list[str] = field(default_factory=list)  # article ids
    quiet: int = 0
    duplicates: int = 0
    error: str | None = None
    moved_to: str | None = None
    disabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.source_id, "name": self.name, "status": self.status, "added": self.added,
            "quiet": self.quiet, "duplicates": self.duplicates, "error": self.error,
            "moved_to": self.moved_to, "disabled": self.disabled,
        }  # fmt: skip


@dataclass
class RoundReport:
    sources: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False  # ended early by a stop request: no source's poll was finished

    @property
    def added(self) -> int:
        return sum(len(r.added) for r in self.sources)

    @property
    def newly_disabled(self) -> list[SourceReport]:
        return [r for r in self.sources if r.disabled]

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "unchanged": sum(r.status == "unchanged" for r in self.sources),
            "failed": sum(r.status == "failed" for r in self.sources),
            "seconds": round(self.seconds, 3),
            "sources": [r.to_dict() for r in self.sources],
        }


# -- adding -----------------------------------------------------------------------------------
@dataclass
class Probe:
    """What one fetch of a candidate URL found."""

    url: str  # the address to store (a discovered feed's, or a permanent redirect's)
    kind: str
    title: str
    items: int
    problem: str | None = None


async def probe(fetcher: Fetcher, url: str) -> Probe:
    """Fetch ``url`` once and say what kind of source it is; ``FetchError``/``SourceError``.

    ``/source add`` runs it on the bot's event loop, so the parsing (feedparser, lxml, the
    article extraction: up to seconds on a big page) runs in threads: everyone else is answered
    meanwhile."""
    response = await fetcher.fetch(fetch_url(url), max_bytes=FEED_MAX_BYTES, accept=ACCEPT_FEED)
    stored = url if url.startswith("rsshub://") else (response.permanent_url or url)
    try:
        feed = await asyncio.to_thread(_feed_of, response)
        return Probe(stored, "feed", feed.title, len(feed.items), feed.problem)
    except NotAFeed as not_feed:
        if url.startswith("rsshub://"):
            raise SourceError(f"RSSHub did not answer with a feed ({not_feed})") from None
        text, _ = await asyncio.to_thread(decode_body, response.body, response.charset)
        if "<" not in text[:2000]:
            raise SourceError(f"neither a feed nor a web page ({not_feed})") from None
        for feed_url in await asyncio.to_thread(discover_feeds, text, response.final_url):
            try:
                found = await fetcher.fetch(feed_url, max_bytes=FEED_MAX_BYTES, accept=ACCEPT_FEED)
                feed = await asyncio.to_thread(_feed_of, found)
            except (FetchError, NotAFeed):
                continue
            return Probe(
                found.permanent_url or feed_url, "feed", feed.title, len(feed.items), feed.problem
            )
        links = await asyncio.to_thread(article_links, text, response.final_url)
        if len(links) >= 3:
            return Probe(stored, "listing", _page_title(text) or default_name(url), len(links))
        article = await extract_in_worker(text)
        if article.chars < MIN_PAGE_CHARS:
            raise SourceError(
                "no feed, no article links and no article text on this page"
            ) from None
        return Probe(stored, "page", article.title or default_name(url), 1)


def _page_title(text: str) -> str:
    import re

    from .feeds import strip_html

    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return strip_html(match.group(1))[:80] if match else ""


def _feed_of(response: Response) -> Feed:
    return parse_feed(
        response.body,
        content_type=response.content_type,
        charset=response.charset,
        url=response.final_url,
    )


async def add_source(
    store: Store, fetcher: Fetcher, url: str, name: str | None = None, *, now: float | None = None
) -> tuple[Source, Probe]:
    """Check ``url`` with one fetch and register it (due at once: its first poll is the baseline)."""
    url = url.strip()
    if not url.startswith("rsshub://") and "://" not in url:
        url = "https://" + url
    existing = store.source_by_url(url)
    if existing is not None:
        raise SourceError(f"already a source: #{existing.id} {existing.name}")
    found = await probe(fetcher, url)
    existing = store.source_by_url(found.url)
    if existing is not None:
        raise SourceError(f"already a source: #{existing.id} {existing.name}")
    now = time.time() if now is None else now
    source = store.add_source(
        found.url, found.kind, (name or found.title or default_name(url))[:80], now
    )
    return source, found


# -- polling ----------------------------------------------------------------------------------
@dataclass
class Candidate:
    item: FeedItem
    keys: list[str]
    quiet: str | None  # why it is not pushed, or None
    unreachable: bool = False  # its page could not be fetched this round


async def poll_source(
    store: Store, fetcher: Fetcher, source: Source, now: float, *, rng: random.Random | None = None
) -> SourceReport:
    """Poll one source and record the outcome on it (never raises for a source's fault)."""
    report = SourceReport(source.id, source.name, "unchanged")
    try:
        await _poll(store, fetcher, source, now, report, rng)
    except (FetchError, SourceError, NotAFeed) as exc:
        _failed(store, source, now, report, str(exc), getattr(exc, "retry_after", None), rng)
    except TimeoutError:
        _failed(store, source, now, report, "timed out", None, rng)
    except Exception as exc:  # a bug must not stop the round; it is logged with its traceback
        log.exception("polling source %s failed", source.id)
        _failed(store, source, now, report, f"internal error ({type(exc).__name__})", None, rng)
    return report


def _failed(
    store: Store, source: Source, now: float, report: SourceReport, reason: str,
    retry_after: float | None, rng: random.Random | None,
) -> None:  # fmt: skip
    failures = source.failures + 1
    since = source.failing_since or now
    fields: dict[str, object] = {
        "failures": failures, "failing_since": since, "last_error": reason[:300],
        "last_checked": now,
        "next_due": now + jittered(backoff(source.interval, failures, retry_after), rng),
    }  # fmt: skip
    if now - since >= DISABLE_AFTER_DAYS * 86400 and (source.last_success or 0) < since:
        fields["status"] = "disabled"
        report.disabled = True
    store.update_source(source.id, **fields)
    report.status, report.error = "failed", reason
    log.info("source %s (%s) failed: %s", source.id, source.name, reason)


async def _poll(
    store: Store, fetcher: Fetcher, source: Source, now: float, report: SourceReport,
    rng: random.Random | None,
) -> None:  # fmt: skip
    if source.kind == "page":
        response = await fetcher.fetch(
            fetch_url(source.url), max_bytes=PAGE_MAX_BYTES, etag=source.etag,
            last_modified=source.last_modified, accept=ACCEPT_PAGE,
        )  # fmt: skip
        items = [] if response.not_modified else [await _page_item(source.url, response)]
        ttl = None
    else:
        response = await fetcher.fetch(
            fetch_url(source.url), max_bytes=FEED_MAX_BYTES, etag=source.etag,
            last_modified=source.last_modified,
            accept=ACCEPT_FEED if source.kind == "feed" else ACCEPT_PAGE,
        )  # fmt: skip
        items, ttl = [], None
        if not response.not_modified:
            if source.kind == "feed":
                feed = _feed_of(response)
                items, ttl = feed.items, feed.ttl_minutes
            else:
                text, _ = decode_body(response.body, response.charset)
                items = [
                    FeedItem(title, url, None, [])
                    for url, title in article_links(text, response.final_url)
                ]
    fields: dict[str, object] = {
        "failures": 0, "failing_since": None, "last_error": None, "last_success": now,
        "last_checked": now,
    }  # fmt: skip
    if not response.not_modified:
        fields["etag"] = response.etag
        fields["last_modified"] = response.last_modified
    moved = response.permanent_url
    if moved and not source.url.startswith("rsshub://") and store.source_by_url(moved) is None:
        fields["url"] = report.moved_to = response.permanent_url
    interval = next_interval(ttl_minutes=ttl, max_age=response.max_age)
    fields["interval"] = interval
    fields["next_due"] = now + jittered(interval, rng)
    if items:
        await _take(store, fetcher, source, items, now, report)
    if not source.baseline_done and not response.not_modified:
        fields["baseline_done"] = 1
    fields["items"] = source.items + len(report.added) + report.quiet
    store.update_source(source.id, **fields)
    report.status = "added" if report.added or report.quiet else "unchanged"


async def _page_item(url: str, response: Response) -> FeedItem:
    text, _ = decode_body(response.body, response.charset)
    article = await extract_in_worker(text)  # on the thread the round's other pages use
    if article.chars < MIN_PAGE_CHARS:
        raise SourceError("no article text found on the page")
    return FeedItem(article.title or default_name(url), url, None, article.paragraphs)


async def _take(
    store: Store, fetcher: Fetcher, source: Source, items: list[FeedItem], now: float,
    report: SourceReport,
) -> None:  # fmt: skip
    fresh = new_items(store, source, items)
    baseline = not source.baseline_done
    cap = BASELINE_CAP if baseline else ROUND_CAP
    taken, surplus = fresh[:cap], fresh[cap:]
    if baseline and surplus:  # remembered, not stored: the baseline must not flood later rounds
        store.record_items(source.id, [(k, None) for _, keys in surplus for k in keys], now)
    old = now - OLD_DAYS * 86400
    candidates = [
        Candidate(item, keys, "baseline" if baseline else (
            "old" if item.published and item.published.timestamp() < old else None))
        for item, keys in taken
    ]  # fmt: skip
    semaphore = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def full_text(candidate: Candidate) -> None:
        item = candidate.item
        if item.chars >= FULL_TEXT_BELOW or not item.link or source.kind == "page":
            return
        async with semaphore:
            try:
                response = await fetcher.fetch(
                    item.link, max_bytes=PAGE_MAX_BYTES, accept=ACCEPT_PAGE
                )
            except FetchError as exc:
                log.info("full text of %s: %s", item.link, exc)
                candidate.unreachable = True
                return
        text, _ = decode_body(response.body, response.charset)
        found = await extract_in_worker(text)
        if found.chars > item.chars:
            item.paragraphs = found.paragraphs
            if not item.title:
                item.title = found.title

    await asyncio.gather(*(full_text(c) for c in candidates))
    # in the loop's thread: the store's connection is not shared across threads mid-transaction
    _store_items(store, source, candidates, now, report)


def _store_items(
    store: Store, source: Source, candidates: list[Candidate], now: float, report: SourceReport
) -> None:
    """Analyse and store the candidates like files, then remember their keys."""
    from .ingest import corpus_idf
    from .pipeline import analyze

    raws, keep = [], []
    for candidate in candidates:
        item = candidate.item
        if sum(len(p) for p in item.paragraphs) < MIN_BODY_CHARS or not item.title:
            if not candidate.unreachable:  # nothing to store; an unreachable page is tried again
                store.record_items(source.id, [(k, None) for k in candidate.keys], now)
            continue
        published = (
            item.published.astimezone(UTC).isoformat(timespec="seconds") if item.published else None
        )
        raws.append(RawArticle(
            title=item.title, paragraphs=item.paragraphs, source_path=f"source:{source.id}",
            url=item.link, published=published, source=source.name,
        ))  # fmt: skip
        keep.append(candidate)
    if not raws:
        return
    idf = _idf(store, corpus_idf)
    analysed = [analyze(raw, idf) for raw in raws]
    candidate_of = {id(art): c for art, c in zip(analysed, keep, strict=True)}

    def on_added(seq: int, art: AnalyzedArticle) -> None:
        """In the insert's transaction: a planner never sees the article before it is marked
        quiet (baseline, old) and linked to its story."""
        reason = candidate_of[id(art)].quiet
        if reason:
            store.mark_quiet([(seq, reason)], commit=False)
        from .stories import link_article

        link_article(store, seq, art.title, art.paragraphs, commit=False)

    results = store.add(analysed, on_added=on_added)
    rows: list[tuple[str, int | None]] = []
    for candidate, art, result in zip(keep, analysed, results, strict=True):
        seq = store.seq_of(result.duplicate_of or result.id)
        rows += [(k, seq) for k in candidate.keys]
        if result.status != "added":
            report.duplicates += 1
        elif candidate.quiet:
            report.quiet += 1
        else:
            report.added.append(art.id)
    store.record_items(source.id, rows, now)


_IDF_CACHE: dict[str, tuple[int, Idf | None]] = {}


def _idf(store: Store, compute: Callable[[Store], Idf | None]) -> Idf | None:
    """The corpus IDF, learnt again only when the corpus has grown by a tenth (reading the
    vocabulary of a large corpus takes seconds; a round stores a handful of articles)."""
    count = store.count()
    cached = _IDF_CACHE.get(store.path)
    if cached is None or count > cached[0] * 1.1 + 10:
        cached = (count, compute(store))
        _IDF_CACHE[store.path] = cached
    return cached[1]


async def poll_round(
    store: Store, fetcher: Fetcher, *, now: float | None = None, everything: bool = False,
    source_ids: list[int] | None = None, budget: float = SOURCE_BUDGET,
    concurrency: int = ROUND_CONCURRENCY, rng: random.Random | None = None,
) -> RoundReport:  # fmt: skip
    """Poll the due sources (or all active ones, or the given ones) concurrently."""
    started = time.monotonic()
    now = time.time() if now is None else now
    if source_ids is not None:
        due = [s for s in (store.get_source(i) for i in source_ids) if s is not None]
    elif everything:
        due = [s for s in store.sources() if s.status == "active"]
    else:
        due = store.sources(due_before=now)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(source: Source) -> SourceReport:
        async with semaphore:
            try:
                return await asyncio.wait_for(
                    poll_source(store, fetcher, source, now, rng=rng), budget
                )
            except TimeoutError:
                report = SourceReport(source.id, source.name, "failed")
                _failed(store, store.get_source(source.id) or source, now, report,
                        f"no answer within {budget:g} s", None, rng)  # fmt: skip
                return report

    reports = await asyncio.gather(*(one(s) for s in due))
    return RoundReport(list(reports), time.monotonic() - started)


def run_round(db_path: str | Store, *, everything: bool = False,
              source_ids: list[int] | None = None,
              fetcher_factory: Callable[[], Fetcher] = Fetcher,
              stop: threading.Event | None = None) -> RoundReport:  # fmt: skip
    """One round on its own event loop (for the bot's worker thread and the CLI), on its own
    connection to ``db_path``, or on a store that threads may share (PostgreSQL's pool).

    Setting ``stop`` (the bot is stopping) cancels the round within ``STOP_CHECK_SECONDS``
    instead of letting it run out its sources' budgets (up to ``SOURCE_BUDGET``): what was
    stored stays, a source whose poll was cut short is polled again next time."""

    async def go() -> RoundReport:
        started = time.monotonic()
        shared = db_path if isinstance(db_path, Store) else None
        with nullcontext(shared) if shared is not None else open_store(str(db_path)) as store:
            async with fetcher_factory() as fetcher:
                work = asyncio.ensure_future(
                    poll_round(store, fetcher, everything=everything, source_ids=source_ids)
                )
                while stop is not None and not work.done():
                    await asyncio.wait({work}, timeout=STOP_CHECK_SECONDS)
                    if stop.is_set():
                        work.cancel()
                try:
                    return await work
                except asyncio.CancelledError:
                    if not work.cancelled():  # this task itself was cancelled
                        raise
                    log.info("source round stopped: the process is stopping")
                    return RoundReport([], time.monotonic() - started, stopped=True)

    return asyncio.run(go())


async def import_outlines(
    store: Store, fetcher: Fetcher, outlines: list[Outline]
) -> list[dict[str, Any]]:
    """Add the feeds of an OPML list (each checked with one fetch, a few at a time); a feed that
    is already a source or cannot be fetched is reported, not fatal."""
    semaphore = asyncio.Semaphore(4)

    async def one(outline: Outline) -> dict[str, Any]:
        async with semaphore:
            try:
                source, _found = await add_source(store, fetcher, outline.url, outline.name)
            except DigestError as exc:
                return {"url": outline.url, "error": str(exc)}
            return {"id": source.id, "name": source.name, "kind": source.kind, "url": source.url}

    return list(await asyncio.gather(*(one(o) for o in outlines)))
