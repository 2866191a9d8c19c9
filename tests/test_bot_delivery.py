"""End to end over HTTP: new articles reach exactly the matching subscribers, daily digests at
the scheduled time, and 403 / 429 / migration / 5xx handling, admin commands and uploads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digests.ingest import ingest
from digests.regions import load_gazetteer
from digests.store import Store
from digests.subscriptions import parse_filters

from .botkit import TOKEN, drop, running_bot
from .conftest import FakeClock

ADMIN = 9001
CHATS = {"all": 101, "keyword": 102, "region": 103, "division": 104, "other": 105}


def subscribe(store: Store, chat_id: int, words: str = "", mode: str = "instant") -> None:
    store.upsert_chat(chat_id, "private" if chat_id > 0 else "supergroup")
    request = parse_filters(words.split(), load_gazetteer())
    store.add_subscription(chat_id, request.keywords, request.regions, mode=mode)


async def test_dropped_file_reaches_exactly_the_matching_subscribers(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, CHATS["all"])
        subscribe(store, CHATS["keyword"], "驻村工作队")
        subscribe(store, CHATS["region"], "喀什")  # the article names only 叶城县, inside 喀什地区
        subscribe(store, CHATS["division"], "六师")
        subscribe(store, CHATS["other"], "棉花 伊犁")
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        for chat in CHATS.values():
            env.fake.add_chat(chat, "private")
        drop(corpus, "new.json", "叶城县驻村工作队 <b>助力</b> & 振兴",
             "叶城县驻村工作队走访农户，帮助群众发展庭院经济。工作队员每天入户了解情况，解决实际困难。")  # fmt: skip
        for key in ("all", "keyword", "region"):
            (msg,) = await env.fake.wait_for_messages(CHATS[key], 1, timeout=15)
            assert msg.text.startswith(
                "叶城县驻村工作队 <b>助力</b> & 振兴"
            )  # escaped, shown verbatim
            assert "\n地区：叶城县" in msg.text  # the regions line (the title names it too)
            assert msg.buttons()[0]["callback_data"].startswith("f:")
        await env.fake.wait_for(lambda: env.store.ledger.counts().get("sent", 0) == 3, timeout=10)
        assert env.fake.messages_to(CHATS["division"]) == []
        assert env.fake.messages_to(CHATS["other"]) == []
        rows = env.store.ledger.rows()
        assert {(r.chat_id, r.status) for r in rows} == {
            (CHATS[k], "sent") for k in ("all", "keyword", "region")
        }
        assert all(r.message_id for r in rows)


async def test_articles_from_digestbot_ingest_are_picked_up(paths, tmp_path: Path) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, CHATS["all"])
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(CHATS["all"], "private")
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        (outside / "x.json").write_text(
            json.dumps(
                {"title": "外部导入", "text": "兵团职工积极参加培训，学习农业技术。"},
                ensure_ascii=False,
            ),
            "utf-8",
        )
        with Store(db) as other:  # as `digestbot ingest` would, in another connection
            ingest(other, [outside], workers=1)
        (msg,) = await env.fake.wait_for_messages(CHATS["all"], 1, timeout=15)
        assert msg.text.startswith("外部导入")


async def test_daily_digest_bundles_articles_at_the_scheduled_time(paths) -> None:
    db, corpus = paths
    clock = FakeClock()  # 2026-11-25 08:00 UTC = 16:00 in Beijing
    with Store(db, clock=clock) as store:
        subscribe(store, CHATS["all"], "", mode="daily 18:00")
        subscribe(store, CHATS["keyword"], "兵团")  # instant, for contrast
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, clock=clock) as env:
        for chat in (CHATS["all"], CHATS["keyword"]):
            env.fake.add_chat(chat, "private")
        for i in range(3):
            drop(
                corpus,
                f"d{i}.json",
                f"兵团新闻第{i}条",
                f"兵团第{i}次举办培训活动，职工踊跃参加学习。",
            )
        await env.fake.wait_for_messages(CHATS["keyword"], 3, timeout=20)
        await env.fake.wait_for(
            lambda: len(env.store.ledger.rows(chat_id=CHATS["all"])) == 3, timeout=10
        )
        assert env.fake.messages_to(CHATS["all"]) == []  # not before 18:00
        clock.advance(hours=1, minutes=59)
        env.app.bot_data["sender"].wake()
        assert env.fake.messages_to(CHATS["all"]) == []
        clock.advance(minutes=2)  # 18:01 Beijing time
        env.app.bot_data["sender"].wake()
        (digest,) = await env.fake.wait_for_messages(CHATS["all"], 1, timeout=10)
        assert "每日摘要" in digest.text and "3 篇" in digest.text
        assert all(f"兵团新闻第{i}条" in digest.text for i in range(3))
        assert len(digest.buttons()) == 3
        await env.fake.wait_for(
            lambda: {r.status for r in env.store.ledger.rows(chat_id=CHATS["all"])} == {"sent"},
            timeout=10,
        )
        assert len({r.message_id for r in env.store.ledger.rows(chat_id=CHATS["all"])}) == 1


async def test_blocked_chat_is_paused_others_still_served(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 201)
        subscribe(store, 202)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(201, "private")
        env.fake.add_chat(202, "private")
        env.fake.block(201)
        drop(corpus, "a.json", "新文章", "兵团职工积极参加培训，学习农业技术。")
        await env.fake.wait_for_messages(202, 1, timeout=15)
        await env.fake.wait_for(lambda: env.store.get_chat(201).status == "paused", timeout=10)
        assert "blocked" in env.store.get_chat(201).status_reason
        assert [r.status for r in env.store.ledger.rows(chat_id=201)] == ["skipped"]


async def test_429_waits_retry_after_then_resends(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 301)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(301, "private")
        env.fake.rate_limit_next(301, retry_after=1, count=1)
        drop(corpus, "a.json", "新文章", "兵团职工积极参加培训，学习农业技术。")
        (_msg,) = await env.fake.wait_for_messages(301, 1, timeout=15)
        calls = [
            c for c in env.fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == "301"
        ]
        assert [c.status for c in calls] == [429, 200]
        assert calls[1].time - calls[0].time >= 0.95
        assert len(env.fake.messages_to(301)) == 1


async def test_migrated_group_gets_new_id_and_the_message(paths) -> None:
    db, corpus = paths
    old, new = -5001, -1005001
    with Store(db) as store:
        subscribe(store, old, "兵团")
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(old, "group")
        env.fake.migrate(old, new)
        drop(corpus, "a.json", "兵团新闻", "兵团职工积极参加培训，学习农业技术。")
        (msg,) = await env.fake.wait_for_messages(new, 1, timeout=15)
        assert msg.text.startswith("兵团新闻")
        await env.fake.wait_for(
            lambda: [r.status for r in env.store.ledger.rows(chat_id=new)] == ["sent"], timeout=10
        )
        assert env.store.get_chat(old) is None
        assert env.store.get_chat(new) is not None and len(env.store.subscriptions(new)) == 1


async def test_repeated_5xx_backs_off_then_dead_letter_and_retry(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 401)
        subscribe(store, 402)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, admins=frozenset({ADMIN})) as env:
        for chat in (401, 402, ADMIN):
            env.fake.add_chat(chat, "private")
        env.fake.fail_next("sendMessage", status=502, count=5, chat_id=401)
        drop(corpus, "a.json", "新文章", "兵团职工积极参加培训，学习农业技术。")
        await env.fake.wait_for_messages(402, 1, timeout=15)  # the other chat is not held up
        await env.fake.wait_for(
            lambda: [r.status for r in env.store.ledger.rows(chat_id=401)] == ["dead"], timeout=20
        )
        calls = [
            c for c in env.fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == "401"
        ]
        assert [c.status for c in calls] == [502] * 5
        (pending,) = await env.say("/pending", chat=ADMIN)
        assert "失败" in pending.text and "401" in pending.text
        (retried,) = await env.say("/retry", chat=ADMIN)
        assert "1" in retried.text
        (msg,) = await env.fake.wait_for_messages(401, 1, timeout=15)
        assert msg.text.startswith("新文章")


async def test_admin_commands_and_upload(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 501)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, admins=frozenset({ADMIN})) as env:
        env.fake.add_chat(501, "private")
        (refused,) = await env.say("/stats", chat=777)
        assert "只有管理员" in refused.text
        before = len(env.fake.messages_to(777))
        env.fake.document(777, "a.txt", "标题\u3000\u3000兵团新闻正文内容。".encode())
        (refused,) = (await env.fake.wait_for_messages(777, before + 1))[before:]
        assert "只有管理员" in refused.text
        await env.say("/help", chat=ADMIN)  # the admin's client speaks Chinese
        before = len(env.fake.messages_to(ADMIN))
        env.fake.document(
            ADMIN,
            "上传 文章.txt",
            "管理员上传\u3000\u3000兵团职工积极参加培训，学习农业技术。".encode("gb18030"),
        )
        (result,) = (await env.fake.wait_for_messages(ADMIN, before + 1, timeout=15))[before:]
        assert "已添加 1 篇" in result.text
        (msg,) = await env.fake.wait_for_messages(501, 1, timeout=15)
        assert msg.text.startswith("管理员上传")
        assert list((corpus / "uploads").iterdir())
        env.fake.document(ADMIN, "bad.json", b"{not json")
        (result,) = (await env.fake.wait_for_messages(ADMIN, before + 2, timeout=15))[before + 1 :]
        assert "拒绝 1 篇" in result.text and "JSON 格式错误" in result.text  # the reason in the admin's language
        (stats,) = await env.say("/stats", chat=ADMIN)
        assert "文章：3" in stats.text and "已发送：1" in stats.text


@pytest.mark.slow
async def test_thousand_subscribers_with_limits_respected(paths) -> None:
    """1,000 private subscribers get one new article: each exactly once, no limit exceeded."""
    from fakebotapi import FakeTelegram, Limits

    db, corpus = paths
    users = list(range(10_000, 11_000))
    with Store(db) as store:
        for user in users:
            subscribe(store, user)
    fake = await FakeTelegram(
        TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)
    ).start()
    try:
        for user in users:
            fake.add_chat(user, "private")
        async with running_bot(
            db, corpus=corpus, poll_seconds=0.2, fake=fake, concurrency=8
        ) as env:
            drop(corpus, "a.json", "全体推送", "兵团职工积极参加培训，学习农业技术。")
            await fake.wait_for(
                lambda: env.store.ledger.counts().get("sent", 0) == len(users), timeout=90
            )
        counts = [len(fake.messages_to(u)) for u in users]
        assert counts == [1] * len(users)
        assert fake.limit_violations == 0
        assert fake.max_global_rate(1.0) <= 30
    finally:
        await fake.stop()
