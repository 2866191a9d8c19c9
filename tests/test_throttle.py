"""The per-chat token bucket, driven by a hand-moved clock."""

from __future__ import annotations

from bot.throttle import ChatThrottle, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_one_warning_then_silence() -> None:
    clock = Clock()
    throttle = ChatThrottle(capacity=5, rate=1.0, monotonic=clock)
    verdicts = [throttle.check(1)[0] for _ in range(20)]
    assert verdicts[:5] == [Verdict.ALLOW] * 5
    assert verdicts[5] is Verdict.WARN
    assert verdicts[6:] == [Verdict.DROP] * 14
    assert throttle.check(2)[0] is Verdict.ALLOW  # another chat is not affected


def test_the_warning_says_how_long_to_wait_and_a_calm_chat_is_let_in_again() -> None:
    clock = Clock()
    throttle = ChatThrottle(capacity=4, rate=0.5, monotonic=clock)
    for _ in range(4):
        assert throttle.check(1)[0] is Verdict.ALLOW
    verdict, wait = throttle.check(1)
    assert verdict is Verdict.WARN and wait == 6  # from -1 back to 2 tokens at 0.5/s
    clock.now += wait - 1
    assert throttle.check(1)[0] is Verdict.DROP  # not calm yet (and that cost a token)
    clock.now += 20
    assert throttle.check(1)[0] is Verdict.ALLOW


def test_a_chat_that_keeps_flooding_stays_throttled() -> None:
    clock = Clock()
    throttle = ChatThrottle(capacity=4, rate=1.0, monotonic=clock)
    verdicts = []
    for _ in range(200):  # 5 requests a second, for 40 s
        clock.now += 0.2
        verdicts.append(throttle.check(1)[0])
    assert verdicts.count(Verdict.WARN) == 1
    assert verdicts.count(Verdict.ALLOW) <= 4 + 2


def test_a_steady_user_is_never_refused() -> None:
    clock = Clock()
    throttle = ChatThrottle(capacity=10, rate=0.5, monotonic=clock)
    for _ in range(100):
        clock.now += 2.0
        assert throttle.check(1)[0] is Verdict.ALLOW


def test_many_chats_are_remembered_within_a_bound() -> None:
    clock = Clock()
    throttle = ChatThrottle(capacity=2, rate=1.0, monotonic=clock, max_chats=10)
    for chat in range(100):
        throttle.check(chat)
        clock.now += 5
    assert len(throttle._buckets) <= 10
