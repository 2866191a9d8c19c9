"""No single chat, article or answer may stall delivery (issue 12), end to end over HTTP: a bad
stored setting, chats in 429, a slow Bot API, timeouts, a huge title, a 5xx chat, a group burst."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from digests.ledger import Status
from digests.store import Store
from fakebotapi import FakeTelegram, Limits

from .botkit import TOKEN, drop, running_bot

ADMIN = 9001


def subscribe(store: Store, chat_id: int, mode: str = "instant") -> None:
    store.upsert_chat(chat_id, "private" if chat_id > 0 else "supergroup")
    store.add_subscription(chat_id, [], [], mode=mode)


def copies(fake: FakeTelegram, chat_id: int) -> Counter:
    return Counter((m.text or "").split("\n", 1)[0] for m in fake.messages_to(chat_id))


async def test_a_stored_impossible_time_skips_that_chat_only_and_tells_it_once(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 601)
        subscribe(store, 602)
        store.conn.execute("UPDATE subscriptions SET mode = 'daily 25:00' WHERE chat_id = 602")
        store.conn.commit()
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        for chat in (601, 602):
            env.fake.add_chat(chat, "private")
        drop(corpus, "a.json", "第一篇")
        (msg,) = await env.fake.wait_for_messages(601, 1, timeout=15)
        assert msg.text.startswith("第一篇")
        (told,) = await env.fake.wait_for_messages(602, 1, timeout=10)
        assert "/settings" in told.text and "\n" not in told.text
        drop(corpus, "b.json", "第二篇")
        await env.fake.wait_for_messages(601, 2, timeout=15)
        assert len(env.fake.messages_to(602)) == 1  # told once, not every round
        assert env.store.ledger.rows(chat_id=602) == []


async def test_chats_in_429_never_hold_a_sending_slot(paths) -> None:
    """4 chats answer 429 retry_after 30 (planned first, so they take the 4 slots first); the
    40 others are served long before 30 s have passed."""
    db, corpus = paths
    blocked, others = [701, 702, 703, 704], list(range(710, 750))
    with Store(db) as store:
        for chat in blocked + others:
            subscribe(store, chat)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, concurrency=4) as env:
        for chat in blocked + others:
            env.fake.add_chat(chat, "private")
            if chat in blocked:
                env.fake.rate_limit_next(chat, retry_after=30, count=5)
        drop(corpus, "a.json", "全体推送")
        await env.fake.wait_for(lambda: all(env.fake.messages_to(c) for c in others), timeout=20)
        assert not any(env.fake.messages_to(c) for c in blocked)
        now = env.services.clock().timestamp()
        for chat in blocked:
            (row,) = env.store.ledger.rows(chat_id=chat)
            assert row.status == Status.PENDING and row.due_at > now + 20  # waits, unclaimed


async def test_a_slow_bot_api_is_waited_for_not_resent(paths) -> None:
    """sendMessage answers after 6 s (PTB's default read timeout is 5 s): one copy each."""
    db, corpus = paths
    chats = [801, 802, 803]
    with Store(db) as store:
        for chat in chats:
            subscribe(store, chat)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        for chat in chats:
            env.fake.add_chat(chat, "private")
        env.fake.method_latency["sendMessage"] = 6.0
        drop(corpus, "a.json", "慢速接口")
        await env.fake.wait_for(
            lambda: env.store.ledger.counts().get(Status.SENT, 0) == len(chats), timeout=30
        )
        await asyncio.sleep(0.5)
        assert [copies(env.fake, c)["慢速接口"] for c in chats] == [1, 1, 1]


async def test_timeouts_give_at_most_one_duplicate_and_retry_leaves_them(paths) -> None:
    """Every answer comes after the client gave up (the message is posted all the same): the
    row is sent once more, then marked unsure; /retry does not send it a third time."""
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 901)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, admins=frozenset({ADMIN})) as env:
        env.fake.add_chat(901, "private")
        env.fake.add_chat(ADMIN, "private")
        env.app.bot_data["sender"].read_timeout = 0.5
        env.fake.method_latency["sendMessage"] = 1.0
        drop(corpus, "a.json", "超时文章")
        await env.fake.wait_for(
            lambda: [r.status for r in env.store.ledger.rows(chat_id=901)] == [Status.UNSURE],
            timeout=20,
        )
        await env.fake.wait_for(lambda: copies(env.fake, 901)["超时文章"] == 2, timeout=5)
        env.fake.method_latency.clear()
        (answer,) = await env.say("/retry", chat=ADMIN)
        assert "0" in answer.text
        await asyncio.sleep(1.0)
        assert copies(env.fake, 901)["超时文章"] == 2
        (pending,) = await env.say("/pending", chat=ADMIN)
        assert "901" in pending.text


async def test_a_huge_title_is_cut_on_text_and_delivered(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 1001)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2) as env:
        env.fake.add_chat(1001, "private")
        drop(corpus, "a.json", "长标题<b>&amp;" * 600)  # 7,800 characters of title
        (msg,) = await env.fake.wait_for_messages(1001, 1, timeout=15)
        assert msg.text.startswith("长标题<b>&amp;长标题") and len(msg.text) <= 4096
        (row,) = env.store.ledger.rows(chat_id=1001)
        await env.fake.wait_for(
            lambda: env.store.ledger.rows(chat_id=1001)[0].status == Status.SENT, timeout=5
        )
        article = env.store.get_many([row.seq])[row.seq]
        assert len(article.title) <= 200 and article.paragraphs[0].startswith("长标题<b>")
        # an article stored before the cap, with a huge title: /article still answers
        env.store.conn.execute(
            "UPDATE articles SET title = ? WHERE seq = ?", ["<i>大" * 3000, row.seq]
        )
        env.store.conn.commit()
        (card,) = await env.say(f"/article {article.id}", chat=1001)
        assert card.text.startswith("<i>大<i>大") and "…" in card.text


async def test_a_chat_answering_500_is_a_dead_letter_after_five_tries(paths) -> None:
    db, corpus = paths
    with Store(db) as store:
        subscribe(store, 1101)
        subscribe(store, 1102)
    async with running_bot(db, corpus=corpus, poll_seconds=0.2, backoff_base=0.1) as env:
        for chat in (1101, 1102):
            env.fake.add_chat(chat, "private")
        env.fake.fail_next("sendMessage", status=500, count=1000, chat_id=1101)
        drop(corpus, "a.json", "五百")
        await env.fake.wait_for(
            lambda: [r.status for r in env.store.ledger.rows(chat_id=1101)] == [Status.DEAD],
            timeout=20,
        )
        calls = [
            c for c in env.fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == "1101"
        ]
        assert [c.status for c in calls] == [500] * 5
        gaps = [b.time - a.time for a, b in itertools.pairwise(calls)]
        assert all(gap >= want * 0.9 for gap, want in zip(gaps, [0.1, 0.2, 0.4, 0.8], strict=True))
        assert env.fake.messages_to(1102)


async def test_a_burst_to_one_group_keeps_one_message_a_second(paths) -> None:
    """Six articles at once for one supergroup: never more than one message within a second
    (the fake counts a violation otherwise), and all six arrive."""
    db, corpus = paths
    group = -1_000_000_000_123
    with Store(db) as store:
        subscribe(store, group)
    fake = await FakeTelegram(
        TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)
    ).start()
    try:
        fake.add_chat(group, "supergroup")
        async with running_bot(db, corpus=corpus, poll_seconds=0.2, fake=fake) as env:
            for i in range(6):
                drop(corpus, f"g{i}.json", f"群组新闻{i}", f"兵团第{i}条新闻，职工积极参加培训。")
            await env.fake.wait_for(lambda: len(fake.messages_to(group)) >= 6, timeout=30)
        assert fake.limit_violations == 0, fake.violations
        assert fake.max_rate(group, 1.0) == 1
    finally:
        await fake.stop()


def test_which_failures_count_as_maybe_sent() -> None:
    """A connection reset or read timeout after the request left may have posted the message;
    a refused connection, a pool timeout or an answer from Telegram (5xx) did not."""
    from telegram.error import NetworkError, TimedOut

    from bot.sender import outcome_of

    assert outcome_of(TimedOut()) == (True, True)
    assert outcome_of(NetworkError("httpx.RemoteProtocolError: peer closed connection")) == (
        True,
        True,
    )
    assert outcome_of(NetworkError("httpx.ReadError: connection reset")) == (True, True)
    assert outcome_of(NetworkError("httpx.ConnectError: refused")) == (True, False)
    assert outcome_of(TimedOut("Pool timeout: All connections are occupied")) == (True, False)
    assert outcome_of(NetworkError("Internal Server Error")) == (True, False)
