"""kill -9 of a real `digestbot run` during a burst, restart: nothing lost, nothing that Telegram
accepted sent twice (beyond the messages in flight at the kill), and SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from digests.store import Store
from fakebotapi import FakeTelegram, Limits

from .botkit import TOKEN
from .conftest import ROOT

SUBSCRIBERS = list(range(20_001, 20_061))
ARTICLES = 3
CONCURRENCY = 4  # the sender's default: messages in flight at once


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def sent_pairs(fake: FakeTelegram) -> Counter:
    return Counter(
        (m.chat_id, (m.text or "").split("\n", 1)[0]) for m in fake.sent if m.chat_id in SUBSCRIBERS
    )


async def test_kill_9_during_a_burst_then_restart(tmp_path: Path) -> None:
    db, corpus = tmp_path / "k.db", tmp_path / "corpus"
    corpus.mkdir()
    with Store(db) as store:
        for user in SUBSCRIBERS:
            store.upsert_chat(user, "private")
            store.add_subscription(user, [], [])
    fake = await FakeTelegram(
        TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)
    ).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, DIGESTBOT_DB=str(db),
        DIGESTBOT_CORPUS=str(corpus), DIGESTBOT_POLL_SECONDS="0.2", DIGESTBOT_LOG_LEVEL="INFO",
    )  # fmt: skip
    proc = None
    try:
        for user in SUBSCRIBERS:
            fake.add_chat(user, "private")
        proc = await start_bot(env)
        await fake.wait_for_call("getUpdates", timeout=60)
        for i in range(ARTICLES):
            (corpus / f"a{i}.json").write_text(
                json.dumps(
                    {"title": f"突发新闻{i}", "text": f"兵团第{i}条新闻，职工积极参加培训。"},
                    ensure_ascii=False,
                ),
                "utf-8",
            )
        total = len(SUBSCRIBERS) * ARTICLES
        await fake.wait_for(lambda: sum(sent_pairs(fake).values()) >= total // 3, timeout=60)
        proc.kill()  # SIGKILL in the middle of the burst
        await proc.wait()
        at_kill = sum(sent_pairs(fake).values())
        violations_before = fake.limit_violations
        assert 0 < at_kill < total

        proc = await start_bot(env)
        await fake.wait_for(lambda: len(sent_pairs(fake)) >= total, timeout=120)
        pairs = sent_pairs(fake)
        assert len(pairs) == total  # every (chat, article) delivered: nothing lost
        duplicates = sum(pairs.values()) - total
        assert duplicates <= CONCURRENCY  # only messages in flight at the kill may repeat
        assert fake.limit_violations == 0, (violations_before, fake.violations)

        proc.send_signal(signal.SIGTERM)  # graceful shutdown
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert TOKEN not in stderr.decode()
        proc = None
        with Store(db) as store:
            statuses = Counter(d.status for d in store.ledger.rows())
        assert statuses == {"sent": total}
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
