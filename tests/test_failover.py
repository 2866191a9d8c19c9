"""Replicas on PostgreSQL behind a round-robin balancer, one of them killed with ``kill -9``:
real ``digestbot run --webhook`` processes (:mod:`fakebotapi.replicas`), the fake Bot API
POSTing updates through :mod:`fakebotapi.balancer`, a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from digests.ingest import ingest
from digests.pgstore import PgStore
from fakebotapi import FakeTelegram
from fakebotapi.balancer import RoundRobin
from fakebotapi.replicas import ReplicaSet

from .botkit import TOKEN
from .conftest import CORPUS, GRASSROOTS_TITLE, ROOT
from .pgkit import PG_URL, pg_schema, requires_pg

LOOKUPS = (("/search 第一书记", GRASSROOTS_TITLE), ("/region 喀什", GRASSROOTS_TITLE))


@pytest.fixture
def pg_url():
    """A schema of its own on the test server, holding the two seed articles."""
    if not PG_URL:
        pytest.skip("DIGESTBOT_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    with pg_schema() as schema:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        with PgStore(url) as store:
            assert len(ingest(store, [CORPUS], workers=1).added) == 2
        yield url


def replica_env(url: str, corpus: Path) -> dict[str, str]:
    corpus.mkdir(exist_ok=True)
    return {
        "DIGESTBOT_DATABASE_URL": url,
        "DIGESTBOT_CORPUS": str(corpus),
        "DIGESTBOT_POLL_SECONDS": "0.3",
    }


def ask(fake: FakeTelegram, user: int, n: int) -> str:
    """Inject lookup ``n`` from ``user``; return the title its answer must show."""
    text, expected = LOOKUPS[n % len(LOOKUPS)]
    fake.user_message(user, text, language_code="zh-hans")
    return expected


def answered(fake: FakeTelegram, expected: dict[int, str]) -> set[int]:
    return {
        user
        for user, title in expected.items()
        if any(title in (m.text or "") for m in fake.messages_to(user))
    }


async def test_balancer_goes_round_robin_and_retries_a_dead_backend_on_the_next() -> None:
    from aiohttp import web

    seen: list[int] = []

    def backend(n: int) -> web.Application:
        async def hook(request: web.Request) -> web.Response:
            seen.append(n)
            return web.Response(text=f"b{n}")

        async def health(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_get("/healthz", health)
        return app

    runners = []
    for n in range(3):
        runner = web.AppRunner(backend(n))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
    urls = [f"http://127.0.0.1:{r.addresses[0][1]}" for r in runners]
    import aiohttp

    try:
        async with RoundRobin(urls) as lb, aiohttp.ClientSession() as client:
            for _ in range(6):
                async with client.post(lb.url("/hook"), json={}) as response:
                    assert response.status == 200
            assert seen == [0, 1, 2, 0, 1, 2]
            await runners[1].cleanup()  # backend 1 dies; the next check or request notices
            runners[1] = None
            seen.clear()
            for _ in range(6):
                async with client.post(lb.url("/hook"), json={}) as response:
                    assert response.status == 200 and (await response.text()) != "b1"
            assert sorted(seen) == [0, 0, 0, 2, 2, 2]
            assert lb.backends[1].healthy is False
    finally:
        for runner in runners:
            if runner is not None:
                await runner.cleanup()


@requires_pg
async def test_three_replicas_answer_lookups_round_robin(pg_url: str, tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN) as fake:
        env = replica_env(pg_url, tmp_path / "corpus")
        async with ReplicaSet(fake, 3, env=env, workdir=tmp_path / "logs", cwd=ROOT) as replicas:
            await fake.wait_for_call("setWebhook", 3, timeout=30)
            expected: dict[int, str] = {}
            for n in range(6):  # one at a time: the balancer's rotation is visible
                user = 30_000 + n
                expected[user] = ask(fake, user, n)
                await fake.wait_for(lambda u=user: answered(fake, {u: expected[u]}), timeout=30)
            assert [b.forwarded for b in replicas.balancer.backends] == [2, 2, 2]
            assert all(r.alive for r in replicas.replicas)
        assert not any(r.alive for r in replicas.replicas)  # stopped on leaving


@requires_pg
async def test_three_replicas_answer_lookups_round_robin_while_one_is_killed(
    pg_url: str, tmp_path: Path
) -> None:
    async with FakeTelegram(TOKEN) as fake:
        env = replica_env(pg_url, tmp_path / "corpus")
        async with ReplicaSet(fake, 3, env=env, workdir=tmp_path / "logs", cwd=ROOT) as replicas:
            await fake.wait_for_call("setWebhook", 3, timeout=30)
            expected: dict[int, str] = {}
            for n in range(6):  # one at a time: the balancer's rotation is visible
                user = 30_000 + n
                expected[user] = ask(fake, user, n)
                await fake.wait_for(lambda u=user: answered(fake, {u: expected[u]}), timeout=30)
            assert [b.forwarded >= 2 for b in replicas.balancer.backends] == [True] * 3
            # a burst of lookups; replica 1 dies just after it took one of them (journaled,
            # answered 200, not yet handled), while the others keep coming
            taken = replicas.balancer.backends[1].forwarded
            for n in range(6, 30):
                user = 30_000 + n
                expected[user] = ask(fake, user, n)
            for _ in range(400):
                if replicas.balancer.backends[1].forwarded > taken:
                    break
                await asyncio.sleep(0.005)
            await replicas.kill(1)
            await fake.wait_for(lambda: answered(fake, expected) == set(expected), timeout=60)
            assert not replicas.replicas[1].alive
            # the lookup replica 1 had taken (journaled, 200) but not answered was adopted
            assert any("adopted " in r.log() for r in replicas.alive)
            for user in expected:  # each answered once
                hits = [m for m in fake.messages_to(user) if expected[user] in (m.text or "")]
                assert len(hits) == 1, (user, [m.text for m in fake.messages_to(user)])
