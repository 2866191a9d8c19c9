"""Bot benchmarks against the local Bot API emulator (127.0.0.1 only): delivery throughput with
and without Telegram's limits (and a bare PTB baseline), the memory of ``digestbot run`` holding
a large corpus, its start-up time, and its reply latency to /search and /region beside /help."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import ROOT, peak_rss_mb

TOKEN = "987654321:AAH-bench-secret-token-abcdefghijklmnop"
PRIVATE_BASE = 10_000
GROUP_BASE = -1_000_000_000_000  # supergroup ids: -100…
LONG_ARTICLE = "000_a15a60a554419481.txt"
ARTICLE = (
    "兵团全体推送测试",
    "兵团职工积极参加培训，学习农业技术。第六师一〇二团组织职工开展技能比武，"
    "提升连队农业机械化水平。",
)


def _long_article() -> tuple[str, str]:
    """(title, text) of a whole article of the shipped corpus (~2,000 characters, ~40
    sentences): a digest cycle of it runs the whole analysis, summary graph included, as a real
    article does (``ARTICLE``, two sentences, stops before the summary graph)."""
    # the corpus format: paragraphs separated by two full-width spaces, the first the title
    title, _, text = (ROOT / "corpus" / LONG_ARTICLE).read_text("utf-8").partition("\u3000\u3000")
    return "推送测试 " + title, text


def _drop(corpus: Path, name: str, title: str, text: str) -> None:
    """Write a new article the way a feed does: elsewhere, then moved in."""
    tmp = corpus / (name + ".part")
    tmp.write_text(json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8")
    tmp.rename(corpus / name)


def _chats(n_private: int, n_groups: int) -> list[tuple[int, str]]:
    return [(PRIVATE_BASE + i, "private") for i in range(n_private)] + [
        (GROUP_BASE - 1 - i, "supergroup") for i in range(n_groups)
    ]


def _subscribe(db: Path | str, chats: list[tuple[int, str]]) -> None:
    from digests.backends import open_store

    with open_store(db) as store:
        for chat_id, kind in chats:
            store.upsert_chat(chat_id, kind)
            store.add_subscription(chat_id, [], [])


def _seed_db(db: Path | str) -> None:
    from digests.backends import open_store
    from digests.ingest import ingest

    with open_store(db) as store:
        ingest(store, [ROOT / "corpus"], workers=1, progress=False)


def _rate(times: list[float]) -> float:
    if len(times) < 2 or times[-1] <= times[0]:
        return float("nan")
    return (len(times) - 1) / (times[-1] - times[0])


# -- delivery ----------------------------------------------------------------------------------
@dataclass
class BotRun:
    fake: Any
    app: Any
    store: Any
    corpus: Path


@asynccontextmanager
async def bot_run(
    chats: list[tuple[int, str]],
    *,
    limits: bool = True,
    concurrency: int = 4,
    backoff_base: float = 2.0,
    prepare: Callable[[Any], None] | None = None,
    database: str | None = None,
) -> AsyncIterator[BotRun]:
    """The real bot against a fake Bot API in strict sliding windows (``limits``: the bot's rate
    limiter on and the fake enforcing Telegram's limits), ``chats`` subscribed to everything on a
    database holding the seed articles; ``prepare(fake)`` runs before the bot starts.
    ``database`` (an empty PostgreSQL database's URL) replaces the temporary SQLite file."""
    from bot.app import build_application, running
    from bot.config import Settings
    from bot.ratelimit import Limiter
    from bot.services import Services
    from digests.backends import open_store
    from digests.regions import load_gazetteer
    from fakebotapi import FakeTelegram, Limits

    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        db: Path | str = database or Path(tmp) / "d.db"
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        _seed_db(db)
        _subscribe(db, chats)
        fake = await FakeTelegram(
            TOKEN, enforce_limits=limits, limits=Limits(strict_windows=True)
        ).start()
        try:
            for chat_id, kind in chats:
                fake.add_chat(chat_id, kind)
            if prepare is not None:
                prepare(fake)
            settings = Settings(
                token=TOKEN, base_url=fake.base_url, db=str(db), corpus=str(corpus),
                poll_seconds=0.2, log_level="WARNING",
            )  # fmt: skip
            store = open_store(db)
            services = Services(store=store, gazetteer=load_gazetteer(), settings=settings)
            app = build_application(
                services, token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url,
                poll_timeout=1, limiter=Limiter(enabled=limits), concurrency=concurrency,
                backoff_base=backoff_base,
            )  # fmt: skip
            try:
                async with running(app, poll_timeout=1):
                    await asyncio.sleep(0.3)
                    yield BotRun(fake, app, store, corpus)
            finally:
                store.close()
        finally:
            await fake.stop()


async def _deliver_once(
    n_private: int, n_groups: int, *, limits: bool, concurrency: int, database: str | None = None
) -> dict[str, object]:
    chats = _chats(n_private, n_groups)
    ids = {c for c, _ in chats}
    async with bot_run(chats, limits=limits, concurrency=concurrency, database=database) as run:
        fake = run.fake
        dropped = time.monotonic()
        _drop(run.corpus, "new.json", *ARTICLE)
        await fake.wait_for(
            lambda: sum(1 for m in fake.sent if m.chat_id in ids) >= len(ids),
            timeout=60 + len(ids) / 10,
        )
        await asyncio.sleep(0.5)  # let duplicates, if any, arrive
    times = sorted(t for t, c in fake.send_times if c in ids)
    counts = Counter(m.chat_id for m in fake.sent if m.chat_id in ids)
    first = next((m for m in fake.sent if m.chat_id in ids), None)
    sample = (first.text or "") if first else ""
    markup = first.reply_markup if first else None
    return {
        "limits": limits,
        "private": n_private,
        "groups": n_groups,
        "messages": len(times),
        "seconds_first_to_last": round(times[-1] - times[0], 3) if times else None,
        "msgs_per_s": round(_rate(times), 1),
        "msgs_per_s_from_drop": round(len(times) / (times[-1] - dropped), 1),
        "first_message_after_s": round(times[0] - dropped, 3) if times else None,
        "lost": sum(1 for c in ids if counts[c] == 0),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "limit_violations": fake.limit_violations,
        "max_global_per_s": fake.max_global_rate(1.0),
        "concurrency": concurrency,
        "_text": sample,
        "_markup": markup,
    }


async def _bare_ptb(n: int, text: str, markup: dict | None, concurrency: int) -> dict[str, object]:
    """A bare ``Bot.send_message`` loop (``concurrency`` at a time) against the same fake,
    sending the same message as the bot did (text, inline keyboard, no link preview)."""
    from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
    from telegram.constants import ParseMode
    from telegram.request import HTTPXRequest

    from fakebotapi import FakeTelegram

    chats = _chats(n, 0)
    keyboard = InlineKeyboardMarkup.de_json(markup, None) if markup else None
    fake = await FakeTelegram(TOKEN, enforce_limits=False).start()
    try:
        for chat_id, kind in chats:
            fake.add_chat(chat_id, kind)
        request = HTTPXRequest(connection_pool_size=max(8, concurrency * 2))
        bot = Bot(TOKEN, base_url=fake.base_url, request=request)
        async with bot:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for chat_id, _ in chats:
                queue.put_nowait(chat_id)

            async def worker() -> None:
                while not queue.empty():
                    chat_id = queue.get_nowait()
                    await bot.send_message(
                        chat_id,
                        text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=keyboard,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )

            start = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.monotonic() - start
        return {
            "messages": n,
            "seconds": round(seconds, 3),
            "msgs_per_s": round(n / seconds, 1),
            "concurrency": concurrency,
        }
    finally:
        await fake.stop()


def delivery_bench(n_private: int, n_groups: int, concurrency: int = 4) -> dict[str, object]:
    """One new article to ``n_private`` private chats and ``n_groups`` supergroups, with limits
    on (strict windows) and off, and the bare PTB loop for comparison.

    The limits-off run and the bare loop alternate twice and the faster of each pair is kept:
    both run the fake server in the same process, and one run of a few seconds is at the mercy
    of this VM's speed drifts."""
    on = asyncio.run(_deliver_once(n_private, n_groups, limits=True, concurrency=concurrency))
    on.pop("_text", None)
    on.pop("_markup", None)
    offs: list[dict[str, object]] = []
    bares: list[dict[str, object]] = []
    for _ in range(2):
        off = asyncio.run(_deliver_once(n_private, n_groups, limits=False, concurrency=concurrency))
        text = str(off.pop("_text", "")) or ARTICLE[0]
        markup = off.pop("_markup", None)
        offs.append(off)
        bares.append(
            asyncio.run(_bare_ptb(n_private + n_groups, text, markup, concurrency))  # type: ignore[arg-type]
        )
    off = max(offs, key=lambda r: r["msgs_per_s"])  # type: ignore[arg-type, return-value]
    bare = max(bares, key=lambda r: r["msgs_per_s"])  # type: ignore[arg-type, return-value]
    ratio = off["msgs_per_s"] / bare["msgs_per_s"] if bare["msgs_per_s"] else float("nan")  # type: ignore[operator]
    return {
        "limits_on": on,
        "limits_off": off,
        "bare_ptb": bare,
        "off_vs_bare": round(ratio, 2),
        "limits_off_runs": [r["msgs_per_s"] for r in offs],
        "bare_ptb_runs": [r["msgs_per_s"] for r in bares],
    }


# -- digestbot run as a subprocess ---------------------------------------------------------------
def _forget_updates(db: Path) -> None:
    """Each run talks to a new fake Bot API, whose update ids start again at 1000: the update
    journal of an earlier run on the same database would take them for updates already handled."""
    with sqlite3.connect(db) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'update_journal'").fetchone():
            conn.execute("DELETE FROM update_journal")
    conn.close()


def _env(fake_url: str, db: Path, corpus: Path) -> dict[str, str]:
    _forget_updates(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake_url, DIGESTBOT_DB=str(db),
        DIGESTBOT_CORPUS=str(corpus), DIGESTBOT_POLL_SECONDS="0.2", DIGESTBOT_LOG_LEVEL="WARNING",
    )  # fmt: skip
    return env


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


async def _stop(proc: asyncio.subprocess.Process) -> int | None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return proc.returncode


def _max_seq(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        seq = conn.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]
    conn.close()
    return int(seq)


async def _add_source(db: Path, url: str) -> int:
    from digests.backends import open_store
    from digests.fetch import Fetcher, Policy
    from digests.sources import add_source

    with open_store(db) as store:
        async with Fetcher(Policy.parse("127.0.0.1")) as fetcher:
            source, _ = await add_source(store, fetcher, url)
    return source.id


def _remove_source(db: Path, source_id: int) -> None:
    """(at 1M the run works on the cached database: the next run's bot must not poll it)"""
    from digests.backends import open_store

    with open_store(db) as store:
        store.remove_source(source_id)


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``predicate()`` holds (checked every 0.1 s); TimeoutError after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def _memory(
    db: Path, queries: list[str], n_searches: int, subscribers: int, source: bool
) -> dict:
    from fakebotapi import FakeTelegram, Limits

    from .site import ITEMS, NewsSite

    work = db.parent
    corpus = work / "corpus-mem"
    corpus.mkdir(exist_ok=True)
    subs = _chats(subscribers, 0)
    _subscribe(db, subs)
    log = work / "memory.log"
    site = await NewsSite(stamp=f"（{time.time_ns()}）").start() if source else None
    source_id = None
    if site is not None:
        try:
            source_id = await _add_source(db, site.feed_url)
        except BaseException:
            await site.stop()
            raise
    stored_before = _max_seq(db)
    fake = await FakeTelegram(
        TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)
    ).start()
    proc = None
    try:
        for chat_id, kind in subs:
            fake.add_chat(chat_id, kind)
        started = time.monotonic()
        env = _env(fake.base_url, db, corpus)
        env["DIGESTBOT_FETCH_ALLOW"] = "127.0.0.1"  # the news site on the loopback interface
        proc = await _start(env, log)
        await fake.wait_for_call("getUpdates", timeout=180)
        ready_s = time.monotonic() - started
        rss_idle = peak_rss_mb(proc.pid)
        source_s = rss_source = None
        if site is not None:
            # the source's first poll (0.5 s after start): every item's page fetched, extracted
            # and stored (quietly: a first poll is a baseline)
            served = site
            source_s = await _until(
                lambda: served.pages_served >= ITEMS and _max_seq(db) >= stored_before + ITEMS,
                120, "the source's first poll",
            )  # fmt: skip
            rss_source = peak_rss_mb(proc.pid)
        users = [50_000 + i for i in range(n_searches)]
        sent_at: dict[int, float] = {}
        for i, user in enumerate(users):
            sent_at[user] = time.monotonic()
            fake.user_message(user, "/search " + queries[i % len(queries)], language_code="zh-hans")
        await fake.wait_for(
            lambda: all(fake.messages_to(u) for u in users), timeout=60 + n_searches
        )
        replies = [fake.messages_to(u)[0] for u in users]
        burst_s = time.monotonic() - min(sent_at.values())
        rss_search = peak_rss_mb(proc.pid)
        sub_ids = [c for c, _ in subs]
        before = {c: len(fake.messages_to(c)) for c in sub_ids}
        t_drop = time.monotonic()
        # a file and title of its own per run: at 1M the run works on the cached database, which
        # holds the previous runs' article (the same one again would be a duplicate, and the
        # same file changed would replace its article: neither is sent)
        title, text = _long_article()
        stamp = time.time_ns()
        _drop(corpus, f"digest-article-{stamp}.json", f"{title}（{stamp}）", text)
        await fake.wait_for(
            lambda: all(len(fake.messages_to(c)) > before[c] for c in sub_ids), timeout=120
        )
        digest_s = time.monotonic() - t_drop
        peak = peak_rss_mb(proc.pid)
        code = await _stop(proc)
        proc = None
        return {
            "ready_s": round(ready_s, 2),
            "searches": n_searches,
            "search_burst_s": round(burst_s, 2),
            "search_answered": sum(1 for r in replies if r.text),
            "digest_delivered_s": round(digest_s, 2),
            "subscribers": subscribers,
            "rss_after_start_mb": round(rss_idle or 0, 1),
            **(
                {
                    "source_items": ITEMS,
                    "source_stored_s": round(source_s or 0, 2),
                    "peak_rss_after_source_mb": round(rss_source or 0, 1),
                }
                if site is not None
                else {}
            ),
            "peak_rss_after_searches_mb": round(rss_search or 0, 1),
            "peak_rss_mb": round(peak or 0, 1),
            "exit_code": code,
        }
    finally:
        if proc is not None:
            proc.kill()
            await proc.wait()
        await fake.stop()
        if site is not None:
            await site.stop()
        if source_id is not None:
            _remove_source(db, source_id)


def memory_bench(
    db: Path, queries: list[str], n_searches: int = 200, subscribers: int = 5, source: bool = False
) -> dict[str, object]:
    """Peak RSS (VmHWM) of ``digestbot run`` on a copy of ``db`` after a burst of searches from
    ``n_searches`` users and one digest cycle (a new article to ``subscribers`` chats); with
    ``source``, the bot first polls one feed source (a news site on 127.0.0.1,
    :mod:`benchmarks.site`: every item's page fetched and extracted)."""
    from .engine import copy_db

    with tempfile.TemporaryDirectory(prefix="bench-mem-", dir=db.parent) as tmp:
        work = copy_db(db, Path(tmp) / "mem.db")
        result = asyncio.run(_memory(work, queries, n_searches, subscribers, source))
        result["db_mb"] = round(db.stat().st_size / 2**20, 1)
        return result


async def _startup_once(db: Path, corpus: Path, log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the bot) from its start to its answer to /start."""
    from fakebotapi import FakeTelegram

    from .common import cpu_seconds

    fake = await FakeTelegram(TOKEN).start()
    proc = None
    try:
        user = 70_001
        fake.user_message(user, "/start", language_code="zh-hans")
        start = time.monotonic()
        proc = await _start(_env(fake.base_url, db, corpus), log)
        await fake.wait_for(lambda: fake.messages_to(user), timeout=180)
        seconds = time.monotonic() - start
        cpu = cpu_seconds(proc.pid) or float("nan")
        await _stop(proc)
        proc = None
        return seconds, cpu
    finally:
        if proc is not None:
            proc.kill()
            await proc.wait()
        await fake.stop()


PACKAGES = ("bot", "digests")  # the project's code a running bot imports


def compile_bytecode() -> None:
    """Write the bytecode of the bot's own modules, as an install does (``pip install .`` and the
    Docker image compile what they install). A checkout writes it at its first start, unless
    ``PYTHONDONTWRITEBYTECODE`` is set, as on the benchmark machine: there every start compiled
    them again, which is not what a deployed bot's start-up costs."""
    import compileall

    for package in PACKAGES:
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"{package}: some modules do not compile")


STARTUP_RUNS = 5  # timed starts; the median is the figure


def startup_bench(db: Path, runs: int = STARTUP_RUNS) -> dict[str, object]:
    """Seconds from starting ``digestbot run`` to its answer to ``/start`` (its modules compiled
    first, and one untimed warm-up run, so jieba's cache exists), median of ``runs``; beside it
    the CPU seconds the bot used by then (the figure other processes on the machine hardly
    move)."""
    from .engine import copy_db

    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-start-", dir=db.parent) as tmp:
        work = copy_db(db, Path(tmp) / "start.db")
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        log = Path(tmp) / "startup.log"
        warm, _ = asyncio.run(_startup_once(work, corpus, log))
        measured = [asyncio.run(_startup_once(work, corpus, log)) for _ in range(runs)]
    times = [t for t, _ in measured]
    cpus = [c for _, c in measured]
    return {
        "warmup_s": round(warm, 2),
        "runs_s": [round(t, 2) for t in times],
        "median_s": round(statistics.median(times), 2),
        "cpu_runs_s": [round(c, 2) for c in cpus],
        "cpu_median_s": round(statistics.median(cpus), 2),
    }


async def _replies(db: Path, commands: dict[str, list[str]], n: int) -> dict[str, list[float]]:
    from fakebotapi import FakeTelegram

    work = db.parent
    corpus = work / "corpus-reply"
    corpus.mkdir(exist_ok=True)
    fake = await FakeTelegram(TOKEN).start()
    proc = None
    try:
        proc = await _start(_env(fake.base_url, db, corpus), work / "reply.log")
        await fake.wait_for_call("getUpdates", timeout=180)
        samples: dict[str, list[float]] = {kind: [] for kind in commands}
        user = 80_000
        for round_ in range(n + 3):  # 3 untimed warm-up rounds (first search, caches)
            for kind, texts in commands.items():  # interleaved: drift hits every kind alike
                user += 1
                sent = time.monotonic()
                fake.user_message(user, texts[round_ % len(texts)], language_code="zh-hans")
                await fake.wait_for(lambda u=user: fake.messages_to(u), timeout=60)
                if round_ >= 3:
                    samples[kind].append((time.monotonic() - sent) * 1000.0)
        await _stop(proc)
        proc = None
        return samples
    finally:
        if proc is not None:
            proc.kill()
            await proc.wait()
        await fake.stop()


def reply_bench(
    db: Path, searches: list[str], regions: list[str], n: int = 50
) -> dict[str, dict[str, float]]:
    """Send → reply latency through ``digestbot run`` (real HTTP to the emulator, one request at
    a time, each from a new private chat) for /help (the round-trip baseline), /search and
    /region, interleaved; p50/p95 of each and the excess over /help's."""
    from .common import latency_stats

    commands = {
        "help": ["/help"],
        "search": ["/search " + q for q in searches],
        "region": ["/region " + r for r in regions],
    }
    # The cached database itself (a copy at 1M articles would be ~10 GB): the bot adds only
    # chat rows and its state keys, which no other benchmark reads.
    samples = asyncio.run(_replies(db, commands, n))
    out: dict[str, dict[str, float]] = {k: latency_stats(v) for k, v in samples.items()}
    for kind in ("search", "region"):
        out[kind]["p95_over_help_ms"] = round(out[kind]["p95_ms"] - out["help"]["p95_ms"], 2)
    return out
