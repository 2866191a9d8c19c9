"""The rate limiter's schedule, with a fake monotonic clock (no sleeping on real time)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.ratelimit import Limiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def drive(limiter: Limiter, clock: Clock, chat_ids: list[int]) -> list[float]:
    """Acquire a slot per chat in order, advancing the fake clock instead of sleeping."""
    times = []
    for chat_id in chat_ids:
        while True:
            wait = max(limiter.ready_at(chat_id), limiter._global_ready()) - clock.now
            if wait <= 0:
                break
            clock.now += wait
        await limiter._acquire(chat_id)
        times.append(clock.now)
    return times


def windows(times: list[float], span: float) -> int:
    return max(sum(1 for t in times if s <= t < s + span) for s in times)


async def test_global_limit_never_exceeds_30_per_second() -> None:
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    times = await drive(limiter, clock, list(range(1, 200)))
    assert windows(times, 1.0) <= 30
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 27 <= rate <= 30


async def test_private_chat_once_per_second_group_20_per_minute() -> None:
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    private = await drive(limiter, clock, [5] * 5)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(private))
    group = await drive(limiter, clock, [-100] * 41)
    assert windows(group, 60.0) <= 20
    assert group[40] - group[0] >= 120


async def test_blocked_chat_waits_retry_after() -> None:
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    limiter.block(7, 5.0)
    assert limiter.ready_at(7) == 105.0 and limiter.ready_at(8) == 0.0


async def test_seeded_history_counts_after_a_restart() -> None:
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    limiter.seed([(9, 99.8)])
    assert limiter.ready_at(9) > clock.now  # sent 0.2 s ago: not yet


async def test_disabled_limiter_never_waits() -> None:
    limiter = Limiter(enabled=False)
    assert limiter.ready_at(1) == 0.0
    calls = []

    async def callback():
        calls.append(1)
        return True

    results = await asyncio.gather(
        *[
            limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": 1}, None)
            for _ in range(50)
        ]
    )
    assert all(results) and len(calls) == 50


async def test_a_group_also_gets_one_message_a_second() -> None:
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    group = await drive(limiter, clock, [-100] * 5)
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(group))


async def test_raise_429_hands_the_wait_to_the_caller() -> None:
    from telegram.error import RetryAfter

    from bot.ratelimit import RAISE_429

    limiter = Limiter()
    calls = []

    async def callback():
        calls.append(1)
        raise RetryAfter(30)

    with pytest.raises(RetryAfter):
        await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": 5}, RAISE_429)
    assert calls == [1]  # not retried after 30 s inside the call
    assert limiter.ready_at(5) >= limiter.monotonic() + 29


async def test_chats_that_no_longer_delay_anything_are_forgotten() -> None:
    """The per-chat history does not grow with every chat ever answered."""
    clock = Clock()
    limiter = Limiter(monotonic=clock)
    await drive(limiter, clock, list(range(1, 301)) + [-100] * 3)
    limiter.block(7, 5.0)
    assert len(limiter._chats) >= 300
    clock.now += 30.0
    await drive(limiter, clock, [1])
    assert -100 in limiter._chats  # the group's minute is not over: its sends still count
    clock.now += 61.0
    await drive(limiter, clock, [2])
    assert set(limiter._chats) == {2} and limiter._blocked_until == {}
    assert limiter.ready_at(1) == 0.0 and limiter.ready_at(-100) == 0.0
