"""Delivery settings a user meets first (issue 13): time zone, quiet hours, changing an existing
subscription's mode, forum topics, and pushed messages in the terminal chat."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import telegram

from bot.buttons import SetMode, encode
from bot.play import USER_ID, TerminalChat
from digests.ledger import Status
from digests.planning import plan
from digests.store import Store
from fakebotapi import FakeTelegram

from .botkit import TOKEN, USER, drop, running_bot
from .conftest import FakeClock

GROUP = -1_000_000_000_777
ADMIN = 7001


async def test_time_zone_is_set_shown_and_followed(bot, tmp_path: Path) -> None:
    (reply,) = await bot.say("/settings tz Asia/Urumqi")
    assert "时区：Asia/Urumqi" in reply.text
    await bot.say("/subscribe daily 10:00")
    (listing,) = await bot.say("/subscriptions")
    assert "Asia/Urumqi" in listing.text and "10:00" in listing.text
    (reply,) = await bot.say("/settings tz UTC+05:30")
    assert "UTC+05:30" in reply.text
    (reply,) = await bot.say("/settings tz +8")
    assert bot.store.get_chat(USER).timezone == "UTC+08:00"
    (reply,) = await bot.say("/settings tz Mars/Olympus")
    assert "无法识别时区" in reply.text and "\n" not in reply.text
    assert bot.store.get_chat(USER).timezone == "UTC+08:00"  # unchanged
    (reply,) = await bot.say("/settings tz Europe/Berlin", language_code="en")
    assert bot.store.get_chat(USER).timezone == "Europe/Berlin"


def test_daily_digest_follows_the_chats_zone(store: Store, clock: FakeClock, tmp_path) -> None:
    from digests.ingest import ingest

    store.upsert_chat(1, "private")
    store.update_chat(1, timezone="Asia/Urumqi")  # UTC+6
    store.add_subscription(1, [], [], mode="daily 10:00")
    (tmp_path / "a.json").write_text(
        json.dumps({"title": "标题", "text": "兵团新闻内容很多很多。"})
    )
    ingest(store, [tmp_path / "a.json"], workers=1)
    plan(store, clock)  # 08:00 UTC = 14:00 in Urumqi: the next 10:00 there is tomorrow 04:00 UTC
    (row,) = store.ledger.rows()
    assert row.due_at == datetime(2026, 11, 26, 4, 0, tzinfo=UTC).timestamp()


async def test_quiet_hours_hold_messages_for_one_catch_up(paths) -> None:
    db, corpus = paths
    clock = FakeClock()  # 08:00 UTC = 16:00 in Beijing
    with Store(db, clock=clock) as store:
        store.upsert_chat(USER, "private")
        store.add_subscription(USER, [], [])
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, clock=clock) as env:
        (reply,) = await env.say("/settings quiet 15:00-18:00")
        assert "免打扰：15:00-18:00" in reply.text
        (bad,) = await env.say("/settings quiet 25:00-07:00")
        assert "免打扰时段无效" in bad.text
        before = len(env.fake.messages_to(USER))
        for i in range(3):
            drop(corpus, f"q{i}.json", f"夜间新闻{i}", f"兵团第{i}次举办培训活动，职工踊跃参加。")
        await env.fake.wait_for(lambda: len(env.store.ledger.rows(chat_id=USER)) == 3, timeout=15)
        env.app.bot_data["sender"].wake()
        await asyncio.sleep(0.5)
        assert len(env.fake.messages_to(USER)) == before  # quiet: nothing yet
        clock.advance(hours=2, minutes=1)  # 18:01 in Beijing
        env.app.bot_data["sender"].wake()
        (digest,) = (await env.fake.wait_for_messages(USER, before + 1, timeout=10))[before:]
        assert all(f"夜间新闻{i}" in digest.text for i in range(3))
        await asyncio.sleep(0.3)
        assert len(env.fake.messages_to(USER)) == before + 1  # one catch-up message
        (reply,) = await env.say("/settings quiet off")
        assert env.store.get_chat(USER).quiet is None


async def test_subscribe_again_with_a_mode_changes_it(bot) -> None:
    await bot.say("/subscribe")
    (reply,) = await bot.say("/subscribe daily 09:00")
    assert "已修改" in reply.text and "09:00" in reply.text
    (sub,) = bot.store.subscriptions(USER)
    assert sub.mode == "daily 09:00"
    (reply,) = await bot.say("/subscribe daily 09:00")
    assert "已经有相同的订阅" in reply.text


async def test_settings_daily_button_keeps_subscriptions_with_their_own_time(bot) -> None:
    await bot.say("/subscribe 兵团")  # follows the chat's default (instant)
    await bot.say("/subscribe 棉花 daily 07:30")  # its own time
    (reply,) = await bot.say("/settings")
    await bot.press(reply, encode(SetMode("daily 08:00")))
    assert [s.mode for s in bot.store.subscriptions(USER)] == ["daily 08:00", "daily 07:30"]
    assert "跟随默认的 1 个订阅已改变" in bot.fake.answers[-1]["text"]  # said, not silent
    (reply,) = await bot.say("/settings instant")
    assert "跟随默认的 1 个订阅已改变" in reply.text
    assert [s.mode for s in bot.store.subscriptions(USER)] == ["instant", "daily 07:30"]
    answered = len(bot.fake.answers)
    bot.fake.callback(reply, "s:mode:daily:25:00", strict=False)  # forged
    await bot.fake.wait_for(lambda: len(bot.fake.answers) > answered, timeout=10)
    assert "按钮已失效" in bot.fake.answers[-1]["text"]  # forged data: refused by bot.buttons
    assert [s.mode for s in bot.store.subscriptions(USER)] == ["instant", "daily 07:30"]


async def test_forum_topic_subscription_delivers_there_and_pauses_when_closed(paths) -> None:
    db, corpus = paths
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(GROUP, "supergroup", title="论坛")
        env.fake.set_admin(GROUP, ADMIN, "administrator")
        (reply,) = await env.group(GROUP, "/subscribe", user_id=ADMIN, message_thread_id=77)
        assert "已订阅" in reply.text and reply.params.get("message_thread_id") in (77, "77")
        (sub,) = env.store.subscriptions(GROUP)
        assert sub.thread_id == 77
        drop(corpus, "a.json", "论坛新闻")
        msg = (await env.fake.wait_for_messages(GROUP, 2, timeout=15))[1]
        assert msg.text.startswith("论坛新闻")
        assert str(msg.params.get("message_thread_id")) == "77"
        env.fake.fail_next(
            "sendMessage", status=400, count=1, chat_id=GROUP,
            description="Bad Request: message thread not found",
        )  # fmt: skip
        drop(corpus, "b.json", "第二篇论坛新闻")
        await env.fake.wait_for(
            lambda: env.store.subscriptions(GROUP)[0].paused is not None, timeout=15
        )
        assert "thread not found" in env.store.subscriptions(GROUP)[0].paused
        assert env.store.ledger.rows(chat_id=GROUP)[-1].status == Status.SKIPPED
        assert env.store.get_chat(GROUP).status == "active"  # the group itself is not paused
        (listing,) = await env.group(GROUP, "/subscriptions", user_id=ADMIN, message_thread_id=77)
        assert "已暂停" in listing.text


async def test_pushed_messages_appear_in_the_terminal_chat(capsys) -> None:
    async with FakeTelegram(TOKEN) as fake:
        fake.add_chat(USER_ID, "private")
        chat = TerminalChat(fake, color=False)
        watcher = asyncio.get_running_loop().create_task(chat.watch_pushes())
        try:
            async with telegram.Bot(TOKEN, base_url=fake.base_url) as bot:
                await bot.send_message(USER_ID, "推送的新文章")
            await fake.wait_for(lambda: chat.seen == 1, timeout=5)
        finally:
            watcher.cancel()
    assert "推送的新文章" in capsys.readouterr().out


async def test_rows_already_waiting_are_held_when_quiet_hours_begin(paths) -> None:
    db, corpus = paths
    clock = FakeClock()  # 16:00 in Beijing
    with Store(db, clock=clock) as store:
        store.upsert_chat(USER, "private")
        store.add_subscription(USER, [], [])
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, clock=clock) as env:
        await env.say("/subscriptions")
        before = len(env.fake.messages_to(USER))
        env.fake.rate_limit_next(USER, retry_after=1, count=1)  # the row waits, planned instant
        drop(corpus, "a.json", "等待中的文章")
        await env.fake.wait_for(
            lambda: (
                [r.error for r in env.store.ledger.rows(chat_id=USER)] == ["429 retry after 1 s"]
            ),
            timeout=15,
        )
        await env.say("/settings quiet 15:00-18:00")
        before += 1
        clock.advance(seconds=2)
        await asyncio.sleep(1.2)  # the chat's 429 block (real time) has passed
        env.app.bot_data["sender"].wake()
        await env.fake.wait_for(
            lambda: env.store.ledger.rows(chat_id=USER)[0].mode == "daily 18:00", timeout=10
        )
        assert len(env.fake.messages_to(USER)) == before
        clock.advance(hours=2)
        env.app.bot_data["sender"].wake()
        (digest,) = (await env.fake.wait_for_messages(USER, before + 1, timeout=10))[before:]
        assert "等待中的文章" in digest.text
