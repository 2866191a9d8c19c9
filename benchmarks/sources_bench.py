"""Sources: ms per feed parsed, ms per page extracted, articles/s into the store through a poll
round, and the wall time of a round over many feeds served locally (most answering 304).

The feeds are served by an aiohttp server in a separate process on 127.0.0.1 (exempted through
``DIGESTBOT_FETCH_ALLOW``, as for a self-hosted RSSHub). Round 1 is every feed's baseline (10
items each, stored quietly); before round 2 the server bumps one feed in ten to a new version
with one more item, and every other feed answers 304 to the conditional GET.
``python -m benchmarks.sources_bench [--feeds N]`` runs it alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from .common import ROOT

FEEDS = ROOT / "tests" / "data" / "feeds"
PAGES = ROOT / "tests" / "data" / "pages"


def _pool() -> list[str]:
    """Paragraphs of the extraction pages: items are drawn from them (three each, at random)."""
    pool = []
    for path in sorted(PAGES.glob("*.txt")):
        pool += path.read_text("utf-8").splitlines()[1:]
    return pool


POOL = _pool()


def _item(feed: int, n: int) -> str:
    rng = random.Random(feed * 1000 + n)
    body = "".join(f"<p>{p}</p>" for p in rng.sample(POOL, 3))
    return (
        f"<item><title>第{feed}号信息源第{n}条消息</title>"
        f"<link>https://feed{feed}.example.cn/2026/11/{n}.html</link><guid>f{feed}-{n}</guid>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


def feed_xml(feed: int, version: int, items: int = 10) -> bytes:
    count = items + (1 if version > 1 else 0)
    body = "".join(_item(feed, n) for n in range(count, 0, -1))
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>信息源{feed}</title>{body}</channel></rss>"
    ).encode()


def _serve(port_queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    from aiohttp import web

    state = {"round": 1}

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/bump":
            state["round"] = 2
            return web.Response(text="ok")
        feed = int(request.path.strip("/").split(".")[0][4:])
        version = 2 if state["round"] == 2 and feed % 10 == 0 else 1
        etag = f'"{feed}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=feed_xml(feed, version),
            headers={"ETag": etag, "Content-Type": "application/rss+xml"},
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    asyncio.run(main())


def parse_bench(repeat: int = 200) -> dict:
    from digests.feeds import parse_feed

    samples = {}
    for name in ("rss20.xml", "atom.xml", "feed.json", "rss10.rdf"):
        data = (FEEDS / name).read_bytes()
        started = time.perf_counter()
        for _ in range(repeat):
            parse_feed(data)
        samples[name] = round((time.perf_counter() - started) / repeat * 1000, 3)
    big = feed_xml(1, 1, items=50)
    started = time.perf_counter()
    for _ in range(max(1, repeat // 10)):
        parse_feed(big)
    samples["50 items (36 KB)"] = round(
        (time.perf_counter() - started) / max(1, repeat // 10) * 1000, 3
    )
    return samples


def round_bench(n_feeds: int) -> dict:
    from digests.fetch import Fetcher
    from digests.sources import poll_round
    from digests.store import Store

    os.environ["DIGESTBOT_FETCH_ALLOW"] = "127.0.0.1"
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(ports, stop), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "sources.db") as store:
            for i in range(n_feeds):
                store.add_source(f"http://127.0.0.1:{port}/feed{i}.xml", "feed", f"信息源{i}", 0.0)

            async def one_round(everything: bool) -> tuple[float, object]:
                async with Fetcher() as fetcher:
                    started = time.perf_counter()
                    report = await poll_round(store, fetcher, everything=everything)
                    return time.perf_counter() - started, report

            first_s, first = asyncio.run(one_round(False))
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/bump", timeout=10).read()
            second_s, second = asyncio.run(one_round(True))
            stored_first = sum(r.quiet + len(r.added) for r in first.sources)
            d = second.to_dict()
            return {
                "feeds": n_feeds,
                "baseline_round_s": round(first_s, 2),
                "baseline_articles": stored_first,
                "articles_per_s": round(stored_first / first_s, 1),
                "round_s": round(second_s, 2),
                "round_unchanged": d["unchanged"],
                "round_added": d["added"],
                "round_failed": d["failed"],
                "articles": store.count(),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.terminate()


def sources_bench(quick: bool = False) -> dict:
    from .extraction import extraction_bench

    extraction = extraction_bench(repeat=1 if quick else 3)
    shipped = extraction["candidates"]["readability+gne (shipped)"]
    return {
        "parse_ms": parse_bench(50 if quick else 200),
        "extract_ms_per_page": shipped["ms_per_page"],
        "extract_f1": shipped["f1"],
        "round": round_bench(100 if quick else 500),
    }


def print_sources(r: dict) -> None:
    print("\nSources")
    for name, ms in r["parse_ms"].items():
        print(f"  parse {name:22} {ms:8.3f} ms")
    print(
        f"  extract (shipped)            {r['extract_ms_per_page']:8.2f} ms/page, char F1 {r['extract_f1']}"
    )
    rd = r["round"]
    print(
        f"  baseline round: {rd['feeds']} feeds, {rd['baseline_articles']} articles in "
        f"{rd['baseline_round_s']} s ({rd['articles_per_s']} articles/s into the store)"
    )
    print(
        f"  next round: {rd['round_unchanged']} unchanged (304), {rd['round_added']} added, "
        f"{rd['round_failed']} failed in {rd['round_s']} s; peak RSS {rd['peak_rss_mb']} MB"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    args = parser.parse_args()
    from .common import quiet_jieba

    quiet_jieba()
    result = {"parse_ms": parse_bench(), "round": round_bench(args.feeds)}
    from .extraction import extraction_bench

    shipped = extraction_bench()["candidates"]["readability+gne (shipped)"]
    result["extract_ms_per_page"], result["extract_f1"] = shipped["ms_per_page"], shipped["f1"]
    print_sources(result)
