"""Three real bot Applications on one store (a SQLite file; a PostgreSQL schema), on webhooks
against one fake Bot API that counts Telegram's limits: only the replica holding the sender lease
sends, and one joining during a burst releases nothing; the holder killed without a word (its
election and sender cancelled where they are, no release, as ``kill -9`` leaves them), another
takes over within the lease time, sends every row, resends at most the messages that were in
flight, stays within the limits, and a lookup meanwhile is answered. The poll jobs run in one
replica only."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path

import psycopg
import pytest

from bot.election import CORPUS_POLL, SOURCE_POLL, Election, budget
from bot.ratelimit import Limiter
from digests.backends import open_store, worker_store
from digests.ingest import ingest
from digests.ledger import Planned
from fakebotapi import FakeTelegram, Limits

from .botkit import TOKEN, BotEnv, running_bot
from .pgkit import BACKENDS, NO_PG, PG_URL, open_backend, pg_schema
from .test_webhooks import free_port, webhook_for

PRIVATE = list(range(30_001, 30_041))
GROUPS = [-100_300_001, -100_300_002]
CHATS = PRIVATE + GROUPS
ARTICLES = 3
CONCURRENCY = 4  # messages in flight at once: the bound on duplicates after a kill
LEASE = 3.0
ASKER = 30_999  # a user who looks something up during the takeover


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with articles and subscribed chats: a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield seeded(str(tmp_path / "shared.db"), tmp_path)
        return
    if not PG_URL:
        pytest.skip(NO_PG)
    with pg_schema() as schema:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        yield seeded(f"{PG_URL}?options=-csearch_path%3D{schema}", tmp_path)


def seeded(target: str, tmp_path: Path) -> str:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(ARTICLES):
        (folder / f"a{i}.json").write_text(
            json.dumps(
                {"title": f"兵团快讯{i}", "text": f"兵团第{i}师职工积极参加培训，学习农业技术。"},
                ensure_ascii=False,
            ),
            "utf-8",
        )
    with open_store(target) as store:
        assert len(ingest(store, [folder], workers=1).added) == ARTICLES
        for chat in CHATS:
            store.upsert_chat(chat, "private" if chat > 0 else "supergroup")
    return target


def sent_pairs(fake: FakeTelegram) -> Counter[tuple[int, str]]:
    return Counter(
        (m.chat_id, (m.text or "").split("\n", 1)[0]) for m in fake.sent if m.chat_id in CHATS
    )


def election_of(env: BotEnv) -> Election:
    election = env.app.bot_data["election"]
    assert isinstance(election, Election)
    return election


async def test_killed_sender_is_replaced_within_the_lease_time(target: str, tmp_path: Path) -> None:
    fake = await FakeTelegram(
        TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)
    ).start()
    fake.method_latency["sendMessage"] = 0.05  # so that messages are in flight at the kill
    for chat in CHATS:
        fake.add_chat(chat, "private" if chat > 0 else "supergroup", title="组")
    fake.add_chat(ASKER, "private")
    total = len(CHATS) * ARTICLES
    corpus = tmp_path / "corpus"  # one folder, polled by one replica at a time
    corpus.mkdir()

    def replica() -> AbstractAsyncContextManager[BotEnv]:
        hook = webhook_for(free_port())  # the last replica started gets the updates
        return running_bot(
            target, fake=fake, webhook=hook, lease_seconds=LEASE, corpus=corpus, poll_seconds=0.2
        )

    try:
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(replica())
            second = await stack.enter_async_context(replica())
            one, two = election_of(first), election_of(second)
            assert one.holds(one.sender_role) and not two.holds(two.sender_role)
            assert one.holds(CORPUS_POLL)  # the first replica started alone: it took every role
            for role in (CORPUS_POLL, SOURCE_POLL):  # each poll job in one replica
                assert one.holds(role) != two.holds(role)
            await fake.wait_for(lambda: two.replicas == 2 and one.replicas == 2, timeout=10)
            with open_store(target) as store:
                now = time.time()
                store.ledger.plan(
                    [Planned(c, s, "instant", now) for c in CHATS for s in range(1, 4)], cursor=3
                )
            first.app.bot_data["sender"].wake()
            polls = [env.services.ingest_status for env in (first, second)]
            await fake.wait_for(lambda: polls[0].rounds + polls[1].rounds >= 3, timeout=10)
            assert min(p.rounds for p in polls) == 0  # the corpus poll runs in one replica
            await fake.wait_for(lambda: sum(sent_pairs(fake).values()) >= total // 4, timeout=30)
            third = await stack.enter_async_context(replica())  # joins during the burst
            three = election_of(third)
            await fake.wait_for(lambda: sum(sent_pairs(fake).values()) >= total // 3, timeout=30)

            killed_at = time.monotonic()
            one.abandon()  # kill -9: nothing released, the sends in flight cut off
            at_kill = sum(sent_pairs(fake).values())
            assert 0 < at_kill < total
            standby = [second, third]
            assert [env.app.bot_data["sender"].stats.sent for env in standby] == [0, 0]

            fake.user_message(ASKER, "/help", language_code="zh-hans")  # a lookup meanwhile
            await fake.wait_for(
                lambda: two.holds(two.sender_role) or three.holds(three.sender_role),
                timeout=LEASE + 5,
            )
            takeover = time.monotonic() - killed_at
            await fake.wait_for(lambda: len(sent_pairs(fake)) >= total, timeout=60)
            print(f"takeover after {takeover:.2f} s (lease {LEASE} s)")  # bounded by the wait above
            assert fake.messages_to(ASKER)  # the lookup was answered
            pairs = sent_pairs(fake)
            assert set(pairs) == {
                (c, f"兵团快讯{i}") for c in CHATS for i in range(ARTICLES)
            }  # nothing lost
            duplicates = sum(pairs.values()) - total
            assert duplicates <= CONCURRENCY
            assert fake.limit_violations == 0, fake.tracker.violations[:5]
            await fake.wait_for(
                lambda: second.store.ledger.counts().get("sent", 0) == total, timeout=10
            )
            assert two.takeovers + three.takeovers == 1  # one new holder, no flapping
            await fake.wait_for(  # the killed replica's corpus poll moves too
                lambda: two.holds(CORPUS_POLL) or three.holds(CORPUS_POLL), timeout=LEASE + 5
            )
            first.take_errors()  # the cancelled sends of the "killed" replica
    finally:
        await fake.stop()


@pytest.mark.parametrize("kind", BACKENDS)
def test_poll_jobs_reuse_the_postgresql_pool(kind: str, tmp_path: Path) -> None:
    """A job round in a worker thread: PostgreSQL's store itself (no new pool per round);
    SQLite's file on the thread's own connection."""
    with open_backend(kind, tmp_path) as store:
        with worker_store(store) as worker:
            if kind == "postgresql":
                assert worker is store
            else:
                assert worker is not store and worker.path == store.path
                assert worker.conn is not store.conn
        assert store.count() == 0  # the application's store is still open


def test_the_rate_budget_leaves_room_for_the_other_replicas_replies() -> None:
    assert budget(30, 1, sender=True) == 30  # alone: delivery as fast as one process ever was
    assert budget(30, 1, sender=False) == 30
    for replicas in (2, 3, 4, 7):
        sender = budget(30, replicas, sender=True)
        others = (replicas - 1) * budget(30, replicas, sender=False)
        assert sender + others <= 30 and sender >= 24


def test_a_seeded_history_merges_with_what_the_limiter_counted() -> None:
    """A new holder has counted its own replies; the old holder's sends are merged in order."""
    now = [100.0]
    limiter = Limiter(monotonic=lambda: now[0], global_per_second=3)
    limiter._record(7, 99.9)  # a reply this replica sent
    limiter.seed([(8, 99.5), (9, 99.95)])  # the previous sender's last deliveries
    assert list(limiter._global) == [99.5, 99.9, 99.95]
    assert limiter._global_ready() >= 99.5 + 1.0  # three in the last second: the window is full
    assert limiter.ready_at(9) >= 99.95 + 1.0  # and chat 9 had one 50 ms ago
