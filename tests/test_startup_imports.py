"""What `digestbot run` loads: nothing its answers do not need.

Memory and start-up time are measured by the benchmarks (``memory``, ``startup``); these tests
only hold the import graph to what they rely on, so that a module-level import added somewhere
cannot bring the sources stack (aiohttp, feedparser, lxml), numpy (sqlite-utils imports it; the
near-duplicate stories use it) or jieba back into every bot process.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from fakebotapi import FakeTelegram

from .botkit import TOKEN
from .conftest import ROOT, SEEDS
from .test_startup import bot_env

#: Never loaded by a bot that answers commands, searches and regions, polls its (empty) corpus
#: folder and has no sources (sqlite-utils, and with it click, only when the schema needs a
#: migration; click and pygments are httpx's command-line client's, tornado the webhook server's
#: of a bot on long polling: bot/footprint.py).
NEVER = (
    "numpy", "sqlite_utils", "aiohttp", "feedparser", "lxml", "readability", "gne", "defusedxml",
    "jieba", "digests.sources", "digests.fetch", "digests.stories", "click", "pygments", "tornado",
)  # fmt: skip

#: Loaded after the first answer at the earliest: the engine's look-up and ingest machinery.
NOT_BEFORE_FIRST_ANSWER = (
    *NEVER, "rjieba", "opencc", "ahocorasick_rs", "digests.regions", "digests.ingest",
    "digests.pipeline", "digests.summarizer", "digests.watch",
)  # fmt: skip

# `digestbot run` as the console script runs it, reporting its modules when it exits
RUN_AND_REPORT = """
import atexit, json, runpy, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules))))
sys.argv = ["digestbot", "run"]
runpy.run_module("bot.cli", run_name="__main__")
"""

# what `digestbot run` does before it first talks to Telegram: settings, store, Application
UP_TO_CONNECT = """
import json, sys
from bot.footprint import import_httpx, import_telegram_ext
import_httpx()
import_telegram_ext(webhooks=False)
from bot.app import build_application
from bot.config import load_settings
from bot.main import open_services

services = open_services(load_settings())
build_application(services, token=services.settings.token, base_url=services.settings.base_url)
print(json.dumps(sorted(sys.modules)))
"""


# a bot's source poll (what bot.sources and the poll job run): add a feed, poll it, report modules
POLL_A_SOURCE = """
import asyncio, json, sys
from digests.fetch import Fetcher
from digests.sources import add_source, poll_round
from digests.store import Store

async def main():
    with Store(sys.argv[1]) as store:
        async with Fetcher() as fetcher:
            source, found = await add_source(store, fetcher, sys.argv[2])
            report = await poll_round(store, fetcher, everything=True)
    return found.items, [r.status for r in report.sources]

items, statuses = asyncio.run(main())
print(json.dumps({"items": items, "statuses": statuses, "modules": sorted(sys.modules)}))
"""


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m in names or m.split(".")[0] in names]


def test_nothing_heavy_is_loaded_before_the_first_answer(tmp_path: Path, seeded_db: Path) -> None:
    db = shutil.copy(seeded_db, tmp_path / "bot.db")  # migrated already, like a running bot's
    env = bot_env(tmp_path, TOKEN, "http://127.0.0.1:9/bot", Path(db))
    out = subprocess.run(
        [sys.executable, "-c", UP_TO_CONNECT], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    assert loaded(json.loads(out.stdout), NOT_BEFORE_FIRST_ANSWER) == []


async def test_a_running_bot_never_loads_the_sources_stack_numpy_or_jieba(
    tmp_path: Path, seeded_db: Path
) -> None:
    db = shutil.copy(seeded_db, tmp_path / "bot.db")
    async with FakeTelegram(TOKEN) as fake:
        user = 4242
        fake.user_message(user, "/start", language_code="zh-hans")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_AND_REPORT, cwd=ROOT,
            env={**bot_env(tmp_path, TOKEN, fake.base_url, Path(db)), "DIGESTBOT_POLL_SECONDS": "0.2"},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await fake.wait_for(lambda: len(fake.messages_to(user)) >= 1, timeout=60)
            for text in ("/search 兵团", "/region 新疆", "/latest", "/subscribe"):
                before = len(fake.messages_to(user))
                fake.user_message(user, text, language_code="zh-hans")
                await fake.wait_for(lambda n=before: len(fake.messages_to(user)) > n, timeout=60)
            # a new article: analysed (summary graph included) and delivered without numpy
            title, _, body = SEEDS[0].read_text(encoding="utf-8").partition("\u3000\u3000")
            (tmp_path / "corpus" / "new.txt").write_text(f"新到 {title}\u3000\u3000{body}", "utf-8")
            await fake.wait_for(
                lambda: any("新到" in (m.text or "") for m in fake.messages_to(user)), timeout=60
            )
            await fake.wait_for_call("getUpdates", timeout=30)
            await asyncio.sleep(1.5)  # the warm-up and a few corpus polls
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    modules = json.loads(stdout.decode().strip().splitlines()[-1])
    assert "rjieba" in modules and "digests.search" in modules  # it did search
    assert loaded(modules, NEVER) == []


async def test_polling_a_source_loads_the_sources_stack_but_never_aiohttp(
    site, tmp_path: Path
) -> None:
    """The fetcher is httpx (python-telegram-bot's HTTP stack, loaded already): aiohttp serves
    only the Bot API emulator and the tests (the feed server here runs in the test process)."""
    site.add("/rss.xml", (ROOT / "tests/data/feeds/rss20.xml").read_bytes())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", POLL_A_SOURCE, str(tmp_path / "s.db"), site.url("/rss.xml"),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    out = json.loads(stdout.decode().strip().splitlines()[-1])
    assert out["items"] == 3 and out["statuses"] == ["added"]
    assert site.hits["/rss.xml"] >= 2  # it did fetch, twice
    assert loaded(out["modules"], ("aiohttp",)) == []
    assert "digests.fetch" in out["modules"] and "httpcore" in out["modules"]


def test_the_garbage_collector_is_back_on_when_run_returns(monkeypatch) -> None:
    """`digestbot run` pauses the cyclic collector during start-up; whatever ends it, the
    collector is on again (here a configuration error ends it at once)."""
    import gc

    from bot.cli import main

    for name in ("DIGESTBOT_WEBHOOK_URL", "DIGESTBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert gc.isenabled()
    assert main(["run", "--webhook"]) == 2
    assert gc.isenabled()
