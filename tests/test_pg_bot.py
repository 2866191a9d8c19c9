"""The bot end to end on PostgreSQL: the real Application, the fake Bot API over HTTP, the store
on the test server — lookups, /subscribe, the corpus poll, planning and the sender, and an ingest
from another process (another pool) picked up and delivered once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digests.ingest import ingest
from digests.pgstore import PgStore

from .botkit import running_bot
from .conftest import GRASSROOTS_TITLE
from .pgkit import requires_pg, seeded_schema
from .test_bot_delivery import drop

pytestmark = requires_pg
USER = 7001


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from seeded_schema()


async def test_lookup_subscribe_and_delivery_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    async with running_bot(pg_url, corpus=corpus, poll_seconds=0.2) as env:
        assert isinstance(env.store, PgStore)
        (reply,) = await env.say("/search 第一书记", chat=USER)
        assert GRASSROOTS_TITLE in reply.text
        (reply,) = await env.say("/subscribe 驻村工作队", chat=USER)
        assert env.store.subscriptions(USER)[0].keywords == ["驻村工作队"]
        drop(
            corpus,
            "new.json",
            "叶城县驻村工作队助力振兴",
            "叶城县驻村工作队走访农户，帮助群众发展庭院经济。",
        )
        (msg,) = (await env.fake.wait_for_messages(USER, 3, timeout=20))[-1:]
        assert msg.text.startswith("叶城县驻村工作队助力振兴")
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        drop(
            outside,
            "x.json",
            "外部导入的驻村工作队",
            "驻村工作队员每天入户了解情况，解决实际困难。",
        )
        with PgStore(pg_url) as other:  # as `digestbot ingest` on another machine would
            assert [r.status for r in ingest(other, [outside], workers=1).added] == ["added"]
        (msg,) = (await env.fake.wait_for_messages(USER, 4, timeout=20))[-1:]
        assert msg.text.startswith("外部导入的驻村工作队")
        await env.fake.wait_for(lambda: env.store.ledger.counts() == {"sent": 2}, timeout=10)
        assert env.take_errors() == []
