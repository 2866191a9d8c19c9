"""A news site on 127.0.0.1 for the bot's memory run: an RSS feed whose items carry a one-line
summary only, so the bot fetches every item's page and extracts its text, as it does for most
Chinese news feeds; and those pages, each with a real page's weight around the article
(navigation, a script, related links, a footer), so that readability has a page to work on.

The article texts are the extraction tests' paragraphs (``tests/data/pages/*.txt``), several per
page; nothing here leaves the loopback interface.
"""

from __future__ import annotations

import random
from html import escape

from aiohttp import web

from .sources_bench import POOL

ITEMS = 10  # items in the feed (a source's first poll stores them all, quietly)
PARAGRAPHS = 30  # paragraphs per article (~1,800 characters)
NAV_LINKS = 300  # links in the navigation and the related-links box (real pages have 100-300)


def article(n: int, stamp: str = "") -> tuple[str, list[str]]:
    """(title, paragraphs) of item ``n``; ``stamp`` makes them a run's own (at 1M the bot
    benchmarks work on the cached database, where the same text again would be a duplicate)."""
    rng = random.Random(n)
    paragraphs = rng.sample(POOL, PARAGRAPHS)
    return f"信息源测试第{n}条 {paragraphs[0][:12]}{stamp}", paragraphs


def page(n: int, stamp: str = "") -> str:
    title, paragraphs = article(n, stamp)
    nav = "".join(
        f'<li><a href="/channel/{i}.html">频道{i} 新闻动态</a></li>' for i in range(NAV_LINKS // 2)
    )
    related = "".join(
        f'<li><a href="/news/{n}-{i}.html">相关阅读：第{i}条 专题报道</a></li>'
        for i in range(NAV_LINKS // 2)
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    script = "var config = {" + ", ".join(f'"k{i}": {i}' for i in range(2000)) + "};"
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - 本地新闻网</title><script>{script}</script></head><body>"
        f'<div class="header"><ul class="nav">{nav}</ul></div>'
        f'<div class="main"><div class="article"><h1>{escape(title)}</h1>'
        f'<div class="info">2026-12-02 来源：本地新闻网</div>'
        f'<div class="content">{body}</div></div>'
        f'<div class="sidebar"><h3>相关阅读</h3><ul>{related}</ul></div></div>'
        f'<div class="footer">版权所有 本地新闻网 备案号 000000 联系我们 关于我们</div>'
        f"</body></html>"
    )


def _item(base: str, n: int, stamp: str) -> str:
    """Item ``n`` of the feed: its title and link, and a one-line summary (its page has the rest)."""
    title, paragraphs = article(n, stamp)
    return (
        f"<item><title>{escape(title)}</title><link>{base}/news/{n}.html</link>"
        f"<guid>{base}/news/{n}.html</guid><description>{escape(paragraphs[0][:40])}"
        f"</description></item>"
    )


def feed(base: str, stamp: str = "") -> str:
    items = "".join(_item(base, n, stamp) for n in range(ITEMS))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>本地新闻网</title><link>{base}/</link>{items}</channel></rss>"
    )


class NewsSite:
    """The feed at :attr:`feed_url` and its pages; :attr:`pages_served` counts page requests."""

    def __init__(self, stamp: str = "") -> None:
        self.stamp = stamp
        self.base = ""
        self.pages_served = 0
        self._runner: web.AppRunner | None = None

    @property
    def feed_url(self) -> str:
        return self.base + "/feed.xml"

    async def _feed(self, request: web.Request) -> web.Response:
        return web.Response(text=feed(self.base, self.stamp), content_type="application/rss+xml")

    async def _page(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 0 <= n < ITEMS:
            raise web.HTTPNotFound()
        self.pages_served += 1
        return web.Response(text=page(n, self.stamp), content_type="text/html")

    async def start(self) -> NewsSite:
        app = web.Application()
        app.router.add_get("/feed.xml", self._feed)
        app.router.add_get(r"/news/{n:\d+}.html", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
