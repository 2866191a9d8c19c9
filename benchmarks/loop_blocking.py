"""How long the bot's Store calls block its event loop under load.

``python -m benchmarks.loop_blocking [--size 10000] [--json]``: the real ``Application`` against
the in-process emulator (127.0.0.1) on a generated corpus. Every ``Store`` method called on the
event loop's thread is timed (calls made from worker threads, such as the corpus poll's ingest,
are not: they do not block the loop), and a heartbeat task measures how late the loop wakes up,
whatever the cause. The load: a burst of searches (rare, medium and very common words, phrases)
from distinct users, region lookups, ``/latest``, then one new article delivered to every
subscriber under Telegram's limits. The question it answers is whether slow Store writes must
move off the loop (datasette's ``execute_write_fn`` is the model); the figures go to docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .botbench import ARTICLE, TOKEN, _chats, _drop, _subscribe
from .common import percentile, quiet_jieba

HEARTBEAT_S = 0.002


def instrument_store(samples: dict[str, list[float]]) -> Callable[[], None]:
    """Time every Store and Ledger method called on this thread (nested calls count in both);
    return the function that undoes it."""
    from digests.ledger import Ledger
    from digests.store import Store

    loop_thread = threading.get_ident()
    originals: list[tuple[type, str, Any]] = []
    for cls in (Store, Ledger):
        for name, fn in list(vars(cls).items()):
            if not name.startswith("__") and inspect.isfunction(fn):
                originals.append((cls, name, fn))
                timed = _timed(fn, f"{cls.__name__}.{name}", samples, loop_thread)
                setattr(cls, name, functools.wraps(fn)(timed))

    def undo() -> None:
        for cls, name, fn in originals:
            setattr(cls, name, fn)

    return undo


def _timed(
    fn: Callable[..., Any], name: str, samples: dict[str, list[float]], loop_thread: int
) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != loop_thread:
            return fn(*args, **kwargs)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            samples.setdefault(name, []).append(time.perf_counter() - start)

    return timed


async def _heartbeat(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(HEARTBEAT_S)
        lags.append(max(loop.time() - start - HEARTBEAT_S, 0.0))


async def _load(db: Path, corpus: Path, queries: list[str], regions: list[str], subscribers: int,
                samples: dict[str, list[float]]) -> dict[str, Any]:  # fmt: skip
    from bot.app import build_application, running
    from bot.config import Settings
    from bot.services import Services
    from digests.regions import load_gazetteer
    from digests.store import Store
    from fakebotapi import FakeTelegram, Limits

    subs = _chats(subscribers, 0)
    _subscribe(db, subs)
    fake = await FakeTelegram(TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)).start()
    for chat_id, kind in subs:
        fake.add_chat(chat_id, kind)
    settings = Settings(
        token=TOKEN, base_url=fake.base_url, db=str(db), lang="zh", admins=frozenset(),
        corpus=str(corpus), poll_seconds=0.5,
    )  # fmt: skip
    store = Store(db)
    services = Services(store=store, gazetteer=load_gazetteer(), settings=settings)
    app = build_application(
        services, token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url,
        poll_timeout=1,
    )  # fmt: skip
    lags: list[float] = []
    stop = asyncio.Event()
    phases: dict[str, float] = {}
    try:
        async with running(app, poll_timeout=1):
            await fake.wait_for_call("getUpdates", timeout=60)
            beat = asyncio.create_task(_heartbeat(lags, stop))
            undo = instrument_store(samples)
            try:
                users = [50_000 + i for i in range(len(queries))]
                start = time.monotonic()
                for user, query in zip(users, queries, strict=True):
                    fake.user_message(user, "/search " + query, language_code="zh-hans")
                await fake.wait_for(lambda: all(fake.messages_to(u) for u in users), timeout=600)
                phases["searches_s"] = time.monotonic() - start
                # distinct users: one chat's 1 msg/s limit would otherwise pace the whole burst
                users = [60_000 + i for i in range(2 * len(regions))]
                start = time.monotonic()
                for i, name in enumerate(regions):
                    fake.user_message(users[2 * i], "/region " + name, language_code="zh-hans")
                    fake.user_message(users[2 * i + 1], "/latest", language_code="zh-hans")
                await fake.wait_for(lambda: all(fake.messages_to(u) for u in users), timeout=600)
                phases["regions_latest_s"] = time.monotonic() - start
                ids = [c for c, _ in subs]
                start = time.monotonic()
                _drop(corpus, "loop-article.json", *ARTICLE)
                await fake.wait_for(lambda: all(fake.messages_to(c) for c in ids), timeout=600)
                phases["delivery_s"] = time.monotonic() - start
            finally:
                undo()
                stop.set()
                await beat
    finally:
        store.close()
        await fake.stop()
    return {"lags": lags, "phases": phases}


def run(size: int = 10_000, seed: int = 1, searches: int = 300, subscribers: int = 200) -> dict[str, Any]:
    from .corpus import generate
    from .engine import copy_db, ensure_db

    quiet_jieba()
    folder, meta = generate(size, seed)
    source = ensure_db(folder, size, seed, any_engine=True)
    classes = [*meta.rare_words, *meta.medium_words, meta.common_word, meta.thirty_word,
               *(f'"{p}"' for p in meta.phrases)]  # fmt: skip
    queries = [classes[i % len(classes)] for i in range(searches)]
    regions = [*meta.region_queries.values(), "新疆", "喀什", "六师", "兵团"] * 5
    samples: dict[str, list[float]] = {}
    work = Path(tempfile.mkdtemp(prefix="digestbot-loop-"))
    try:
        db = copy_db(source, work / "bot.db")
        corpus = work / "corpus"
        corpus.mkdir()
        out = asyncio.run(_load(db, corpus, queries, regions, subscribers, samples))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    calls = {
        name: {
            "calls": len(v),
            "max_ms": round(max(v) * 1000, 2),
            "p99_ms": round(percentile([x * 1000 for x in v], 99), 2),
            "total_ms": round(sum(v) * 1000, 1),
        }
        for name, v in sorted(samples.items(), key=lambda kv: -max(kv[1]))
    }
    lags_ms = [x * 1000 for x in out["lags"]]
    return {
        "size": size,
        "searches": searches,
        "region_and_latest": len(regions),
        "subscribers": subscribers,
        "phases_s": {k: round(v, 2) for k, v in out["phases"].items()},
        "loop_lag_ms": {
            "max": round(max(lags_ms), 2),
            "p99": round(percentile(lags_ms, 99), 2),
            "samples": len(lags_ms),
        },
        "store_calls_on_loop": calls,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.size, searches=args.searches, subscribers=args.subscribers)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{args.size:,} articles, {args.searches} searches, {result['region_and_latest']} "
          f"region + /latest pairs, one article to {args.subscribers} subscribers")  # fmt: skip
    print(f"phases (s): {result['phases_s']}")
    lag = result["loop_lag_ms"]
    print(f"event loop lag: max {lag['max']} ms, p99 {lag['p99']} ms ({lag['samples']} beats)")
    print(f"{'Store method (on the loop)':<28} {'calls':>6} {'max ms':>8} {'p99 ms':>8} {'total ms':>9}")
    for name, c in result["store_calls_on_loop"].items():
        print(f"{name:<28} {c['calls']:>6} {c['max_ms']:>8} {c['p99_ms']:>8} {c['total_ms']:>9}")


if __name__ == "__main__":
    main()
