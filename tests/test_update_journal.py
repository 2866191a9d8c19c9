"""kill -9 of a real `digestbot run` with commands fetched but not yet answered: after the
restart every command is answered (updates are journaled before Telegram is told they arrived)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from telegram import Update

from bot.updates import JournaledQueue
from fakebotapi import FakeTelegram

from .botkit import TOKEN
from .test_kill_restart import start_bot

USERS = list(range(30_001, 30_066))


def answered(fake: FakeTelegram) -> set[int]:
    return {m.chat_id for m in fake.sent if m.chat_id in USERS}


async def test_kill_9_with_fetched_updates_loses_none(
    bot_db_template: Path, tmp_path: Path
) -> None:
    db = tmp_path / "k.db"
    shutil.copy(bot_db_template, db)
    fake = await FakeTelegram(TOKEN, latency=0.05).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, DIGESTBOT_DB=str(db),
        DIGESTBOT_CORPUS=str(tmp_path / "corpus"), DIGESTBOT_LOG_LEVEL="INFO",
    )  # fmt: skip
    proc = None
    try:
        proc = await start_bot(env)
        await fake.wait_for_call("getUpdates", timeout=60)
        for user in USERS:
            fake.user_message(user, "/search 兵团")
        await fake.wait_for(lambda: len(answered(fake)) >= 3, timeout=60)
        proc.kill()  # SIGKILL: most commands were fetched (and acknowledged) already
        await proc.wait()
        at_kill = len(answered(fake))
        assert at_kill < len(USERS)

        proc = await start_bot(env)
        await fake.wait_for(lambda: len(answered(fake)) == len(USERS), timeout=60)
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        proc = None
        per_user = [sum(1 for m in fake.sent if m.chat_id == u) for u in USERS]
        assert sum(per_user) - len(USERS) <= 8  # only commands in hand at the kill may repeat
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()


def _update(update_id: int, text: str) -> Update:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": text}
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def test_a_resent_update_is_queued_once_a_new_one_reusing_its_id_again(store) -> None:
    queue = JournaledQueue(store)
    await queue.put(_update(1000, "/start"))
    await queue.put(_update(1000, "/start"))  # Telegram sends it again: not acknowledged yet
    assert queue.qsize() == 1
    store.finish_update(1000)
    await queue.put(_update(1000, "/help"))  # ids chosen afresh (or another bot): a new update
    assert queue.qsize() == 2
    assert [u for u, _ in store.unfinished_updates()] == [1000]


async def test_journaling_waits_for_the_write_lock_off_the_event_loop(store) -> None:
    """Another connection holding SQLite's write lock (the bot's corpus poll storing a batch, a
    bulk ingest beside the bot) delays the journal's write, not the event loop: it froze every
    chat while it waited."""
    import sqlite3

    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as an ingest's transaction holds it
    queue = JournaledQueue(store)
    try:
        put = asyncio.ensure_future(queue.put(_update(2000, "/start")))
        for _ in range(20):  # the loop goes on (blocked, it would run none of these first)
            await asyncio.sleep(0.01)
            assert not put.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(put, 30)
        assert queue.qsize() == 1
        assert [u for u, _ in store.unfinished_updates()] == [2000]
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        queue.writer.close()
