"""Bot replicas on webhooks (issue 16's figures): update → reply latency through 1 and through 3
``digestbot run --webhook`` processes behind the round-robin balancer, and the time another
replica takes to resume a delivery burst after the one holding the sender lease is killed
with ``kill -9``.

Both use :class:`fakebotapi.replicas.ReplicaSet` (real processes, the emulator POSTing every
update through the balancer) on a store holding the seed articles (``corpus/``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

from .common import ROOT, latency_stats

LOOKUPS = {"help": "/help", "search": "/search 第一书记"}
WARMUP_ROUNDS = 3  # untimed: every replica answers a /search before the clock starts
#: One lookup every PACE_S at most: back to back, the replicas that do not hold the sender lease
#: (6 msg/s of Telegram's 30 between them) would pace their replies, and the figure would be
#: their rate limiter's spacing rather than the time to answer.
PACE_S = 0.5


def _env(target: str, corpus: Path, poll: float) -> dict[str, str]:
    corpus.mkdir(parents=True, exist_ok=True)
    return {
        ("DIGESTBOT_DATABASE_URL" if "://" in target else "DIGESTBOT_DB"): target,
        "DIGESTBOT_CORPUS": str(corpus),
        "DIGESTBOT_POLL_SECONDS": str(poll),
        "DIGESTBOT_LOG_LEVEL": "WARNING",
    }


async def _latency(
    target: str, replicas: int, rounds: int, work: Path, pace_s: float
) -> dict[str, object]:
    from fakebotapi import FakeTelegram
    from fakebotapi.replicas import ReplicaSet

    from .botbench import TOKEN

    tag = uuid.uuid4().hex[:6]
    env = _env(target, work / f"corpus-{tag}", 5.0)
    fake = await FakeTelegram(TOKEN).start()
    try:
        async with ReplicaSet(
            fake, replicas, env=env, workdir=work / f"replicas-{tag}", cwd=ROOT
        ) as rs:
            samples: dict[str, list[float]] = {kind: [] for kind in LOOKUPS}
            user = 90_000
            sent = 0.0
            for round_ in range(rounds + WARMUP_ROUNDS):
                for kind, text in LOOKUPS.items():  # interleaved, one at a time
                    user += 1
                    await asyncio.sleep(max(0.0, sent + pace_s - time.monotonic()))
                    sent = time.monotonic()
                    fake.user_message(user, text, language_code="zh-hans")
                    await fake.wait_for(lambda u=user: fake.messages_to(u), timeout=60)
                    if round_ >= WARMUP_ROUNDS:
                        samples[kind].append((time.monotonic() - sent) * 1000.0)
            dead = [r.index for r in rs.replicas if not r.alive]
            if dead:
                raise RuntimeError(f"replicas {dead} died during the latency run")
    finally:
        await fake.stop()
    return {
        "replicas": replicas,
        "pace_s": pace_s,
        **{k: latency_stats(v) for k, v in samples.items()},
    }


def webhook_latency(
    target: str, replicas: int, rounds: int, work: Path, pace_s: float = PACE_S
) -> dict[str, object]:
    """p50/p95 of update → reply for /help and /search through ``replicas`` webhook replicas
    (``rounds`` of each, one at a time and at most one per ``pace_s``, each from a new private
    chat)."""
    return asyncio.run(_latency(target, replicas, rounds, work, pace_s))


# -- takeover ------------------------------------------------------------------------------------
def _holder_pid(leases, name: str) -> tuple[int, int] | None:
    """(pid, epoch) of the process holding lease ``name`` now (holder ids are host:pid:random)."""
    lease = leases.current(name)
    return (int(lease.holder.rsplit(":", 2)[1]), lease.epoch) if lease else None


async def _poll(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        await asyncio.sleep(step)
    return None


async def _takeover(target: str, replicas: int, subscribers: int, work: Path) -> dict[str, object]:
    from digests.backends import open_store
    from digests.leases import Leases
    from fakebotapi import FakeTelegram, Limits
    from fakebotapi.replicas import ReplicaSet

    from .botbench import ARTICLE, TOKEN, _chats, _drop, _subscribe

    tag = uuid.uuid4().hex[:6]
    corpus = work / f"corpus-{tag}"
    env = _env(target, corpus, 0.3)
    chats = _chats(subscribers, 0)
    ids = {c for c, _ in chats}
    _subscribe(target, chats)
    fake = await FakeTelegram(TOKEN, enforce_limits=True, limits=Limits(strict_windows=True)).start()
    store = open_store(target)
    try:
        leases = Leases(store)
        name = f"sender:{fake.bot_id}"
        for chat_id, kind in chats:
            fake.add_chat(chat_id, kind)
        async with ReplicaSet(
            fake, replicas, env=env, workdir=work / f"replicas-{tag}", cwd=ROOT
        ) as rs:
            if await _poll(lambda: _holder_pid(leases, name), 30) is None:
                raise RuntimeError("no replica took the sender lease")
            _drop(corpus, "burst.json", *ARTICLE)
            kill_after = max(10, subscribers // 5)
            await fake.wait_for(
                lambda: sum(1 for m in fake.sent if m.chat_id in ids) >= kill_after, timeout=120
            )
            pid, epoch = _holder_pid(leases, name) or (0, 0)
            victim = rs.by_pid(pid)
            if victim is None:
                raise RuntimeError(f"the sender lease's holder (pid {pid}) is not a replica")
            await rs.kill(victim.index)
            killed = time.monotonic()
            at_kill = len(fake.send_times)
            new = await _poll(
                lambda: (lambda h: h if h and h[0] != pid else None)(_holder_pid(leases, name)),
                60,
            )
            taken = time.monotonic() - killed
            if new is None or rs.by_pid(new[0]) is None:
                raise RuntimeError("no other replica took the sender lease over")
            await fake.wait_for(lambda: len(fake.send_times) > at_kill, timeout=60)
            resumed = min(t for t, _ in fake.send_times[at_kill:]) - killed
            await fake.wait_for(
                lambda: {m.chat_id for m in fake.sent if m.chat_id in ids} >= ids,
                timeout=120 + subscribers / 10,
            )
            await asyncio.sleep(1.0)  # late duplicates, if any
    finally:
        store.close()
        await fake.stop()
    counts = Counter(m.chat_id for m in fake.sent if m.chat_id in ids)
    return {
        "replicas": replicas,
        "subscribers": subscribers,
        "killed_after_messages": at_kill,
        "lease_taken_over_s": round(taken, 2),
        "sending_resumed_s": round(resumed, 2),
        "epochs": [epoch, new[1]],
        "lost": sum(1 for c in ids if counts[c] == 0),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "limit_violations": fake.limit_violations,
    }


def takeover(target: str, replicas: int, subscribers: int, work: Path) -> dict[str, object]:
    """``kill -9`` of the replica holding the sender lease a fifth of the way through a burst to
    ``subscribers`` private chats (Telegram's limits enforced): seconds until another replica
    holds the lease and until the next message is sent; lost, duplicates, violations."""
    return asyncio.run(_takeover(target, replicas, subscribers, work))
