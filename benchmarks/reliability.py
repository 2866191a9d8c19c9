"""Delivery under faults, against the local Bot API emulator (127.0.0.1 only): chats in 429 beside
healthy ones, a slow Bot API, and a chat that answers 500 to every send. The figures and what
they mean are in docs/reliability.md."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from contextlib import suppress
from typing import Any

from .botbench import _chats, _drop, bot_run

TEXT = "兵团职工积极参加培训，学习农业技术。第六师一〇二团组织职工开展技能比武。"


async def _others_served(n_others: int, n_blocked: int, retry_after: int) -> dict[str, object]:
    blocked = [(5_000 + i, "private") for i in range(n_blocked)]
    others = _chats(n_others, 0)
    ids = [c for c, _ in others]

    def prepare(fake: Any) -> None:
        for chat_id, _ in blocked:
            fake.rate_limit_next(chat_id, retry_after=retry_after, count=1000)

    async with bot_run(blocked + others, prepare=prepare) as run:  # the blocked are planned first
        start = time.monotonic()
        _drop(run.corpus, "a.json", "全体推送", TEXT)
        await run.fake.wait_for(
            lambda: all(run.fake.messages_to(c) for c in ids), timeout=60 + 4 * retry_after
        )
        seconds = time.monotonic() - start
        return {
            "others": n_others,
            "in_429": n_blocked,
            "seconds_to_serve_others": round(seconds, 2),
            "violations": run.fake.limit_violations,
        }


async def _slow_api(n_chats: int, latency: float, read_timeout: float | None) -> dict[str, object]:
    chats = _chats(n_chats, 0)
    ids = [c for c, _ in chats]
    async with bot_run(chats, backoff_base=0.5) as run:
        sender = run.app.bot_data["sender"]
        if read_timeout is not None:
            sender.read_timeout = read_timeout
        run.fake.method_latency["sendMessage"] = latency
        start = time.monotonic()
        _drop(run.corpus, "a.json", "慢速接口", TEXT)

        def settled() -> bool:
            counts = run.store.ledger.counts()
            return bool(counts) and set(counts) <= {"sent", "dead", "unsure"}

        with suppress(TimeoutError):  # the old code never settles: report what happened
            await run.fake.wait_for(settled, timeout=90)
        seconds = time.monotonic() - start
        await asyncio.sleep(latency + 1.0)  # answers still on their way
        copies = Counter(m.chat_id for m in run.fake.sent if m.chat_id in ids)
        per_chat = [copies[c] for c in ids]
        return {
            "chats": n_chats,
            "api_latency_s": latency,
            "client_read_timeout_s": read_timeout or sender.read_timeout,
            "max_copies": max(per_chat),
            "mean_copies": round(sum(per_chat) / len(per_chat), 2),
            "lost": sum(1 for n in per_chat if n == 0),
            "statuses": dict(run.store.ledger.counts()),
            "seconds_to_settle": round(seconds, 1),
        }


async def _dead_letter(backoff_base: float) -> dict[str, object]:
    chats = [(6_001, "private"), (6_002, "private")]

    def prepare(fake: Any) -> None:
        fake.fail_next("sendMessage", status=500, count=1000, chat_id=6_001)

    async with bot_run(chats, backoff_base=backoff_base, prepare=prepare) as run:
        _drop(run.corpus, "a.json", "五百", TEXT)

        def dead() -> bool:
            rows = run.store.ledger.rows(chat_id=6_001)
            return bool(rows) and rows[0].status == "dead"

        await run.fake.wait_for(dead, timeout=120)
        calls = [
            c for c in run.fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == "6001"
        ]
        return {
            "backoff_base_s": backoff_base,
            "attempts": len(calls),
            "seconds_first_try_to_dead_letter": round(time.time() - calls[0].time, 1),
            "gaps_s": [round(b.time - a.time, 1) for a, b in itertools.pairwise(calls)],
        }


def reliability_bench(quick: bool = False) -> dict[str, object]:
    """The issue-12 figures: 300 chats beside 4 in 429 (retry_after 30) vs alone; copies per
    (chat, article) with a 6 s Bot API (client waiting, and client timing out at 5 s as PTB's
    default does); time from the first 500 to the dead letter with the documented backoff.
    ``quick``: 60 chats beside the 4, 4 slow chats, a 0.5 s backoff base (the same shape)."""
    others, slow_chats, base = (60, 4, 0.5) if quick else (300, 12, 2.0)
    return {
        "others_with_4_in_429": asyncio.run(_others_served(others, 4, 30)),
        "others_alone": asyncio.run(_others_served(others, 0, 30)),
        "slow_api_6s": asyncio.run(_slow_api(slow_chats, 6.0, None)),
        "slow_api_6s_client_timeout_5s": asyncio.run(_slow_api(slow_chats, 6.0, 5.0)),
        "dead_letter_500": asyncio.run(_dead_letter(base)),
    }
