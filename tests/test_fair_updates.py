"""One chat flooding the bot must not hold up anyone else: updates are handled concurrently, one
at a time per chat, and a flooding chat is throttled (one warning, then silence)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.ratelimit import Limiter

from .botkit import running_bot

FLOOD, OTHER = 7001, 7002


def handled(store) -> int:
    return store.conn.execute("SELECT count(*) FROM update_journal WHERE done = 1").fetchone()[0]


async def test_a_flood_from_one_chat_does_not_hold_up_another_user(
    bot_db_template: Path, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    # Telegram's limits, with a private chat's interval shortened so the test stays short
    async with running_bot(db, limiter=Limiter(private_interval=0.2)) as env:
        for _ in range(200):
            env.fake.user_message(FLOOD, "/search 兵团", language_code="en")
        env.fake.user_message(OTHER, "/search 棉花", language_code="zh-hans")
        answer = await env.fake.wait_for_messages(OTHER, 1, timeout=30)
        assert "棉花" in (answer[0].text or "")
        order = [m.chat_id for m in env.fake.sent]
        before_other = order[: order.index(OTHER)].count(FLOOD)
        assert before_other < 15, before_other  # not behind the flood's 200 answers

        await env.fake.wait_for(lambda: handled(env.store) >= 201, timeout=60)
        flood = [m.text or "" for m in env.fake.messages_to(FLOOD)]
        warnings = [text for text in flood if "Too many requests" in text]
        assert len(warnings) == 1, flood[-3:]
        assert "wait" in warnings[0]
        assert 5 <= len(flood) - 1 <= 15  # the burst was answered, the rest dropped silently
        assert not env.store.unfinished_updates()
