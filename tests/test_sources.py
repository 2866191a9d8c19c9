"""Sources end to end against a local HTTP server: adding (feed, discovered feed, listing, page),
polling rounds (baseline, 304, new items, full text, identity), schedule and failures."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from digests.fetch import Fetcher
from digests.ledger import Ledger
from digests.planning import plan
from digests.sources import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    SourceError,
    add_source,
    backoff,
    next_interval,
    poll_round,
)

from .feedserver import DATA

RSS = (DATA / "feeds/rss20.xml").read_text("utf-8")
NOW = time.time()


def rss(
    items: list[tuple[str, str, str | None, str]], title: str = "测试频道", ttl: str = ""
) -> str:
    """An RSS 2.0 document of (title, link, guid, description) items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        + (f'<guid isPermaLink="false">{g}</guid>' if g else "")
        + f"<description><![CDATA[{d}]]></description></item>"
        for t, link, g, d in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{ttl}{body}</channel></rss>'


def article_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><meta charset='utf-8'><title>{title}_新闻网</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/news/'>新闻</a> <a href='/sports/'>体育</a></div>"
        f"<div class='main'><h1>{title}</h1><div class='info'>2026-11-30 来源：新闻网</div>"
        f"<div class='article-content'>{body}</div></div>"
        "<div class='footer'>版权所有 新闻网 备案号 新ICP备000000号</div></body></html>"
    )


LONG = [
    "乌鲁木齐市今冬首批雪季旅游线路正式发布，涵盖滑雪、温泉、冰雕观赏等十余项体验活动。",
    "市文化和旅游局负责人介绍，今年将联合周边县市推出冰雪旅游联票，游客凭一张联票即可游览多个景区，并享受住宿和餐饮优惠。",
    "与此同时，南山片区的多家滑雪场已完成造雪和设备检修工作，预计下周全部开板，届时将开通城区至景区的旅游专线公交。",
]


async def test_a_feed_source_baseline_then_new_items_then_304(site, store, clock):
    site.add("/rss.xml", RSS, etag='"v1"', content_type="application/rss+xml; charset=utf-8")
    async with Fetcher() as fetcher:
        source, found = await add_source(store, fetcher, site.url("/rss.xml"), now=NOW)
        assert (source.kind, found.title, found.items) == ("feed", "边疆日报·要闻", 3)
        first = await poll_round(store, fetcher, now=NOW)
        report = first.sources[0]
        assert report.status == "added" and report.quiet == 3 and report.added == []
        assert store.count() == 3
        assert plan(store, clock) == 0 or not Ledger(store).rows()  # baseline: nothing planned
        again = await poll_round(store, fetcher, now=NOW, everything=True)
        assert again.sources[0].status == "unchanged" and store.count() == 3
        assert site.requests["/rss.xml"][-1]["If-None-Match"] == '"v1"'
        new_item = (
            "<item><title>克拉玛依市发布冬季出行提示</title>"
            "<link>https://news.example.cn/2026/11/30/content_10010.html</link>"
            "<guid>bj-10010</guid><description><![CDATA["
            + "".join(LONG)
            + "]]></description></item>"
        )
        site.add("/rss.xml", RSS.replace("<item>", new_item + "<item>", 1), etag='"v2"')
        third = await poll_round(store, fetcher, now=NOW, everything=True)
    assert len(third.sources[0].added) == 1 and third.sources[0].quiet == 0
    assert store.count() == 4
    art = store.latest(1)[0]
    assert art.title == "克拉玛依市发布冬季出行提示" and art.source == "边疆日报·要闻"
    assert art.url == "https://news.example.cn/2026/11/30/content_10010.html" and art.summary
    baseline = {a.title: a for a in store.latest(4)}["喀什地区棉花采收进度过半"]
    assert baseline.published == "2026-11-30T00:00:00+00:00"  # pubDate 08:00 +0800
    stored = store.get_source(source.id)
    assert stored.etag == '"v2"' and stored.items == 4 and stored.baseline_done
    assert MIN_INTERVAL * 0.9 <= stored.next_due - NOW <= 3600 * 1.1  # ttl 60 min, jittered


async def test_subscribers_get_new_items_not_the_baseline(site, store, clock):
    store.upsert_chat(77, "private")
    store.add_subscription(77, [], [])
    site.add("/rss.xml", RSS)
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"), now=NOW)
        await poll_round(store, fetcher, now=NOW)
        assert plan(store, clock) == 0
        site.add(
            "/rss.xml",
            rss(
                [
                    (
                        "昌吉市新建口袋公园十二处",
                        "https://x.example.cn/2026/a_70001.html",
                        "n1",
                        "".join(LONG),
                    )
                ]
            ),
        )
        await poll_round(store, fetcher, now=NOW, everything=True)
    assert plan(store, clock) == 1
    assert [d.chat_id for d in Ledger(store).rows()] == [77]


async def test_short_summaries_get_the_full_text_from_the_page(site, store):
    site.add(
        "/a/1.html",
        article_page("吐鲁番葡萄晾房迎来参观高峰", LONG),
        content_type="text/html; charset=utf-8",
    )
    feed = rss(
        [
            (
                "吐鲁番葡萄晾房迎来参观高峰",
                site.url("/a/1.html"),
                "t1",
                "吐鲁番葡萄晾房迎来参观高峰。",
            )
        ]
    )
    site.add("/rss.xml", feed)
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"), now=NOW)
        await poll_round(store, fetcher, now=NOW)
    art = store.latest(1)[0]
    assert art.paragraphs == LONG
    assert site.hits["/a/1.html"] == 1


async def test_a_rounds_pages_are_extracted_one_at_a_time_off_the_loop(site, store, monkeypatch):
    """Every page's parse trees are alive at once otherwise (docs/benchmarks.md: memory)."""
    import threading

    import digests.extract

    real = digests.extract.extract_article
    running, most, threads = [0], [0], set()
    lock = threading.Lock()

    def watched(page: str):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threads.add(threading.get_ident())
        time.sleep(0.05)  # long enough for the other pages' fetches to come in meanwhile
        try:
            return real(page)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(digests.extract, "extract_article", watched)
    items = []
    for n in range(4):
        title = f"吐鲁番葡萄晾房迎来参观高峰第{n}次"
        site.add(f"/p/{n}.html", article_page(title, LONG), content_type="text/html; charset=utf-8")
        items.append((title, site.url(f"/p/{n}.html"), f"p{n}", title + "。"))
    site.add("/rss.xml", rss(items))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"), now=NOW)
        await poll_round(store, fetcher, now=NOW)
    assert sorted(a.paragraphs == LONG for a in store.latest(4)) == [True] * 4
    assert most[0] == 1
    assert threads and threading.get_ident() not in threads


async def test_a_page_advertising_a_feed_becomes_that_feed(site, store):
    site.add("/rss.xml", RSS)
    site.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>首页</body></html>',
        content_type="text/html",
    )
    async with Fetcher() as fetcher:
        source, _found = await add_source(store, fetcher, site.url("/"), name="边疆")
    assert source.url == site.url("/rss.xml") and source.kind == "feed" and source.name == "边疆"
    with pytest.raises(SourceError, match="already"):
        async with Fetcher() as fetcher:
            await add_source(store, fetcher, site.url("/rss.xml"))


async def test_a_listing_page_follows_its_article_links(site, store):
    titles = [
        "伊宁市新建三所幼儿园投入使用",
        "霍城县薰衣草精油出口欧洲",
        "察布查尔县举办西迁节活动",
    ]
    links = "".join(
        f"<li><a href='/2026/11/30/c_{i}.html'>{t}</a></li>" for i, t in enumerate(titles)
    )
    listing = (
        "<html><head><title>伊犁新闻_地方频道</title></head><body><div class='nav'><a href='/'>首页</a>"
        f"<a href='/about.html'>关于我们</a></div><ul class='list'>{links}</ul></body></html>"
    )
    site.add("/list/", listing, content_type="text/html; charset=utf-8")
    for i, t in enumerate(titles):
        site.add(
            f"/2026/11/30/c_{i}.html", article_page(t, [f"{t}。", *LONG]), content_type="text/html"
        )
    async with Fetcher() as fetcher:
        source, found = await add_source(store, fetcher, site.url("/list/"))
        assert source.kind == "listing" and found.items == 3 and source.name == "伊犁新闻_地方频道"
        report = await poll_round(store, fetcher, now=NOW)
    assert report.sources[0].quiet == 3
    assert {a.title for a in store.latest(3)} == set(titles)


async def test_a_single_article_page(site, store):
    site.add(
        "/2026/11/30/c_9.html",
        article_page("博乐市赛里木湖冬季封湖", LONG),
        content_type="text/html",
    )
    async with Fetcher() as fetcher:
        source, found = await add_source(store, fetcher, site.url("/2026/11/30/c_9.html"))
        assert source.kind == "page" and found.title.startswith("博乐市赛里木湖冬季封湖")
        await poll_round(store, fetcher, now=NOW)
    assert store.latest(1)[0].paragraphs == LONG


async def test_adding_a_source_parses_off_the_event_loop(site, store, monkeypatch):
    """``/source add`` runs on the bot's event loop: parsing a big feed or page there stopped
    every other user's answer for as long (seconds for a page)."""
    import threading

    import digests.extract
    import digests.sources

    loop_thread = threading.get_ident()
    threads: dict[str, set[int]] = {}

    def watch(module: object, name: str) -> None:
        real = getattr(module, name)

        def watched(*args: object, **kwargs: object) -> object:
            threads.setdefault(name, set()).add(threading.get_ident())
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, watched)

    for name in ("parse_feed", "discover_feeds", "article_links"):
        watch(digests.sources, name)
    watch(digests.extract, "extract_article")
    site.add("/rss.xml", RSS)
    site.add("/2026/11/30/c_9.html", article_page("博乐市赛里木湖冬季封湖", LONG), content_type="text/html")
    async with Fetcher() as fetcher:
        feed, _ = await add_source(store, fetcher, site.url("/rss.xml"))
        page, _ = await add_source(store, fetcher, site.url("/2026/11/30/c_9.html"))
    assert (feed.kind, page.kind) == ("feed", "page")
    assert set(threads) == {"parse_feed", "discover_feeds", "article_links", "extract_article"}
    assert not any(loop_thread in ids for ids in threads.values()), threads


async def test_gbk_feed_without_declaration(site, store):
    site.add(
        "/gbk.xml", RSS.replace(' encoding="utf-8"', "").encode("gbk"), content_type="text/xml"
    )
    async with Fetcher() as fetcher:
        _source, found = await add_source(store, fetcher, site.url("/gbk.xml"))
        assert found.title == "边疆日报·要闻"
        await poll_round(store, fetcher, now=NOW)
    assert "喀什地区棉花采收进度过半" in {a.title for a in store.latest(5)}


async def test_identity_republished_changed_and_shared_guids(site, store):
    a = (
        "石河子市冬季蔬菜供应充足",
        "https://x.example.cn/2026/1001.html",
        "g-1",
        LONG[0] + LONG[1],
    )
    b = (
        "五家渠市开通城乡公交新线路",
        "https://x.example.cn/2026/1002.html",
        "g-2",
        LONG[1] + LONG[2],
    )
    site.add("/rss.xml", rss([a, b]))
    async with Fetcher() as fetcher:
        _source, _ = await add_source(store, fetcher, site.url("/rss.xml"))
        await poll_round(store, fetcher, now=NOW)
        assert store.count() == 2
        # re-published (same link, new guid, tracking parameter) and an old one again: nothing new
        site.add("/rss.xml", rss([(a[0], a[1] + "?utm_source=feed", "g-1-new", a[3]), b]))
        report = await poll_round(store, fetcher, now=NOW, everything=True)
        assert report.sources[0].status == "unchanged" and store.count() == 2
        # two real new items sharing one guid: both are taken
        c = (
            "北屯市举行冰雪运动会",
            "https://x.example.cn/2026/1003.html",
            "same",
            LONG[2] + LONG[0],
        )
        d = (
            "可克达拉市新建体育公园",
            "https://x.example.cn/2026/1004.html",
            "same",
            LONG[0] + LONG[2],
        )
        site.add("/rss.xml", rss([c, d, a, b]))
        report = await poll_round(store, fetcher, now=NOW, everything=True)
    assert len(report.sources[0].added) == 2 and store.count() == 4


async def test_items_without_links_or_guids_use_a_hash(site, store):
    e = ("阿克苏地区苹果上市", "", None, LONG[0] + LONG[1])
    site.add("/rss.xml", rss([e]).replace("<link></link>", ""))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"))
        await poll_round(store, fetcher, now=NOW)
        report = await poll_round(store, fetcher, now=NOW, everything=True)
    assert report.sources[0].status == "unchanged" and store.count() == 1


async def test_old_items_are_stored_quietly(site, store):
    site.add("/rss.xml", rss([]))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"))
        await poll_round(store, fetcher, now=NOW)  # an empty baseline
        old = rss([("往年旧闻重新发布", "https://x.example.cn/2019/1.html", "old", "".join(LONG))])
        old = old.replace(
            "</description>", "</description><pubDate>Mon, 02 Dec 2019 08:00:00 +0800</pubDate>"
        )
        site.add("/rss.xml", old)
        report = await poll_round(store, fetcher, now=NOW, everything=True)
    assert report.sources[0].quiet == 1 and report.sources[0].added == []


async def test_permanent_redirect_updates_the_url_temporary_does_not(site, store):
    site.add("/new.xml", RSS)
    site.add("/old.xml", RSS)
    async with Fetcher() as fetcher:
        moved, _ = await add_source(store, fetcher, site.url("/old.xml"))
        site.redirect("/old.xml", "/new.xml", 301)
        site.add("/feed2.xml", rss([]))
        temp, _ = await add_source(store, fetcher, site.url("/feed2.xml"))
        site.redirect("/feed2.xml", "/new.xml", 302)
        await poll_round(store, fetcher, now=NOW)
    assert store.get_source(moved.id).url == site.url("/new.xml")
    assert store.get_source(temp.id).url == site.url("/feed2.xml")


async def test_failures_back_off_and_a_dead_source_is_disabled(site, store):
    site.add("/rss.xml", RSS)
    async with Fetcher() as fetcher:
        source, _ = await add_source(store, fetcher, site.url("/rss.xml"), now=NOW)
        site.add("/rss.xml", "down", status=503, headers={"Retry-After": "7200"})
        report = await poll_round(store, fetcher, now=NOW)
        failed = store.get_source(source.id)
        assert report.sources[0].error == "HTTP 503 Service Unavailable"
        assert failed.failures == 1 and failed.last_error.startswith("HTTP 503")
        assert failed.next_due - NOW >= 7200 * 0.9
        later = NOW + 4 * 86400
        report = await poll_round(store, fetcher, now=later, everything=True)
    assert report.sources[0].disabled and store.get_source(source.id).status == "disabled"
    assert store.sources(due_before=later + 10 * 86400) == []


async def test_a_broken_feed_is_kept_and_a_refused_address_is_clear(site, store, monkeypatch):
    site.add("/broken.xml", (DATA / "feeds/broken.xml").read_bytes())
    async with Fetcher() as fetcher:
        _, found = await add_source(store, fetcher, site.url("/broken.xml"))
        assert found.items == 2 and found.problem.startswith("broken XML")
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
    async with Fetcher() as fetcher:
        with pytest.raises(Exception, match="loopback"):
            await add_source(store, fetcher, site.url("/rss.xml"))


async def test_one_slow_source_does_not_delay_the_others(site, store):
    site.add("/fast.xml", RSS)
    site.add("/slow.xml", RSS, delay=30)
    async with Fetcher() as fetcher:
        _fast, _ = await add_source(store, fetcher, site.url("/fast.xml"))
    store.add_source(site.url("/slow.xml"), "feed", "slow", NOW)
    started = time.monotonic()
    async with Fetcher() as fetcher:
        report = await poll_round(store, fetcher, now=NOW, budget=1.0)
    assert time.monotonic() - started < 5
    by_name = {r.name: r for r in report.sources}
    assert by_name["slow"].status == "failed" and "1 s" in by_name["slow"].error
    assert by_name["边疆日报·要闻"].status == "added"


async def test_a_stop_request_ends_a_round_waiting_on_a_silent_source(site, store):
    """The bot sets its stop event on SIGTERM: a round in its worker thread waiting on a source
    that does not answer ends then, not when the source's budget runs out (two minutes), and
    the source is not counted as failed (it is polled again next time)."""
    import threading

    from aiohttp import web

    from digests.backends import is_database_url, store_location
    from digests.sources import run_round

    asked, release = asyncio.Event(), asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        asked.set()
        await asyncio.wait_for(release.wait(), 90)
        return web.Response(text="late")

    site.add_handler("/silent.xml", silent)
    source = store.add_source(site.url("/silent.xml"), "feed", "慢", now=NOW)
    stop = threading.Event()
    # as the bot's worker thread runs it: its own connection to a SQLite file, PostgreSQL's pool
    target = store if is_database_url(store_location(store)) else store.path
    in_thread = asyncio.get_running_loop().run_in_executor(
        None, lambda: run_round(target, stop=stop)
    )
    try:
        await asyncio.wait_for(asked.wait(), 30)
        stop.set()
        report = await asyncio.wait_for(in_thread, 30)
    finally:
        release.set()
    assert report.stopped and report.sources == []
    after = store.get_source(source.id)
    assert after is not None and after.failures == 0


def test_intervals_are_clamped_and_back_off():
    assert next_interval() == 1800
    assert next_interval(ttl_minutes=1) == 1800
    assert next_interval(ttl_minutes=600) == 36000
    assert next_interval(max_age=10 * 86400) == MAX_INTERVAL
    assert (
        backoff(1800, 1) == 1800 and backoff(1800, 3) == 7200 and backoff(1800, 30) == MAX_INTERVAL
    )
    assert backoff(300, 1, retry_after=3600) == 3600
    rng = random.Random(1)
    assert MIN_INTERVAL <= next_interval(ttl_minutes=0) <= MAX_INTERVAL
    assert rng.random() < 1


def test_rsshub_needs_its_base_url(monkeypatch):
    from digests.sources import fetch_url

    monkeypatch.delenv("DIGESTBOT_RSSHUB_URL", raising=False)
    with pytest.raises(SourceError, match="DIGESTBOT_RSSHUB_URL"):
        fetch_url("rsshub://xinhuanet/yaodian")
    monkeypatch.setenv("DIGESTBOT_RSSHUB_URL", "rsshub.lan:1200")
    with pytest.raises(SourceError, match="http"):
        fetch_url("rsshub://xinhuanet/yaodian")
    monkeypatch.setenv("DIGESTBOT_RSSHUB_URL", "http://127.0.0.1:1200/")
    assert fetch_url("rsshub://xinhuanet/yaodian") == "http://127.0.0.1:1200/xinhuanet/yaodian"


async def test_rsshub_source(site, store, monkeypatch):
    monkeypatch.setenv("DIGESTBOT_RSSHUB_URL", site.base)
    site.add("/people/xinjiang", RSS)
    async with Fetcher() as fetcher:
        source, _ = await add_source(store, fetcher, "rsshub://people/xinjiang")
        await poll_round(store, fetcher, now=NOW)
    assert source.url == "rsshub://people/xinjiang" and store.count() == 3


async def test_concurrent_round(site, store):
    for i in range(10):
        site.add(
            f"/f{i}.xml",
            rss(
                [
                    (
                        f"第{i}条新闻标题",
                        f"https://x.example.cn/2026/{i}.html",
                        f"g{i}",
                        "".join(LONG) + str(i),
                    )
                ]
            ),
        )
        store.add_source(site.url(f"/f{i}.xml"), "feed", f"f{i}", NOW)
    async with Fetcher() as fetcher:
        report = await asyncio.wait_for(poll_round(store, fetcher, now=NOW), 30)
    assert report.added + sum(r.quiet for r in report.sources) == 10


def test_source_filter_parses_and_restricts():
    from digests.models import Article, Subscription
    from digests.regions import load_gazetteer
    from digests.subscriptions import matches_text, parse_filters

    request = parse_filters(["source:边疆日报", "来源：天山网", "喀什"], load_gazetteer())
    assert request.keywords == ["source:边疆日报", "source:天山网"] and request.regions
    only = Subscription(1, 1, ["source:边疆日报"], [])

    def art(source, regions=None):
        return Article("x", "标题", ["正文"], [], [], regions or {}, "", "h", 5, source=source)

    assert matches_text(only, art("边疆日报"), "标题\n正文")
    assert not matches_text(only, art("天山网"), "标题\n正文")
    assert not matches_text(only, art(None), "标题\n正文")
    both = Subscription(2, 1, ["source:边疆日报", "棉花"], [])
    assert matches_text(both, art("边疆日报"), "棉花丰收")
    assert not matches_text(both, art("边疆日报"), "供暖")
    assert not matches_text(both, art("天山网"), "棉花丰收")


async def test_a_source_subscription_gets_only_that_source(site, store, clock):
    store.upsert_chat(88, "private")
    site.add("/a.xml", rss([], title="甲"))
    site.add("/b.xml", rss([], title="乙"))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/a.xml"))
        await add_source(store, fetcher, site.url("/b.xml"))
        await poll_round(store, fetcher, now=NOW)
        store.add_subscription(88, ["source:乙"], [])
        site.add(
            "/a.xml",
            rss(
                [("甲的新闻标题", "https://a.example.cn/2026/1.html", "a", LONG[0] + LONG[1])],
                title="甲",
            ),
        )
        site.add(
            "/b.xml",
            rss(
                [
                    (
                        "乙的新闻标题",
                        "https://b.example.cn/2026/2.html",
                        "b",
                        LONG[2] + "乙方补充说明。",
                    )
                ],
                title="乙",
            ),
        )
        await poll_round(store, fetcher, now=NOW, everything=True)
    assert plan(store, clock) == 1
    (delivery,) = Ledger(store).rows()
    assert store.get_many([delivery.seq])[delivery.seq].source == "乙"


async def test_a_round_takes_at_most_the_cap_and_the_rest_next_round(site, store):
    from digests.sources import ROUND_CAP

    site.add("/rss.xml", rss([]))
    many = [
        (
            f"第{i}条新消息的标题",
            f"https://x.example.cn/2026/n{i}.html",
            f"n{i}",
            f"{LONG[i % 3]}第{i}条。",
        )
        for i in range(ROUND_CAP + 7)
    ]
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"))
        await poll_round(store, fetcher, now=NOW)
        site.add("/rss.xml", rss(many))
        first = await poll_round(store, fetcher, now=NOW, everything=True)
        second = await poll_round(store, fetcher, now=NOW, everything=True)
        third = await poll_round(store, fetcher, now=NOW, everything=True)
    assert len(first.sources[0].added) == ROUND_CAP
    assert len(second.sources[0].added) == 7
    assert third.sources[0].status == "unchanged" and store.count() == ROUND_CAP + 7


async def test_a_title_only_item_whose_page_fails_is_tried_again(site, store):
    site.add("/rss.xml", rss([]))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/rss.xml"))
        await poll_round(store, fetcher, now=NOW)
        site.add("/rss.xml", rss([("只有标题的新闻", site.url("/2026/11/30/c_5.html"), "t5", "")]))
        site.add("/2026/11/30/c_5.html", "busy", status=503)
        first = await poll_round(store, fetcher, now=NOW, everything=True)
        assert first.sources[0].added == [] and store.count() == 0
        site.add(
            "/2026/11/30/c_5.html", article_page("只有标题的新闻", LONG), content_type="text/html"
        )
        second = await poll_round(store, fetcher, now=NOW, everything=True)
    assert len(second.sources[0].added) == 1
    assert store.latest(1)[0].paragraphs == LONG


async def test_cache_control_and_ttl_set_the_interval(site, store):
    site.add("/cc.xml", rss([]), headers={"Cache-Control": "public, max-age=7200"})
    site.add("/ttl.xml", rss([], ttl="<ttl>180</ttl>"))
    async with Fetcher() as fetcher:
        cc, _ = await add_source(store, fetcher, site.url("/cc.xml"))
        ttl, _ = await add_source(store, fetcher, site.url("/ttl.xml"))
        await poll_round(store, fetcher, now=NOW)
    assert store.get_source(cc.id).interval == 7200
    assert store.get_source(ttl.id).interval == 180 * 60
    assert 7200 * 0.9 <= store.get_source(cc.id).next_due - NOW <= 7200 * 1.1
