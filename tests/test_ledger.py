"""The delivery ledger on its own (no Telegram): every transition, the backoff schedule and the
"at most one duplicate" rule, with a clock the test moves."""

from __future__ import annotations

import sqlite3

import pytest

from digests.ledger import Backoff, DeadLetter, Ledger, Planned, Retry, Status
from digests.store import Store


class Wall:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def ledger(store: Store, wall: Wall) -> Ledger:
    for chat in (1, 2):
        store.upsert_chat(chat, "private")
    return Ledger(store, clock=wall)


def planned(ledger: Ledger, wall: Wall, *pairs: tuple[int, int]) -> list[int]:
    ledger.plan(
        [Planned(c, s, "instant", wall()) for c, s in pairs], cursor=max(s for _, s in pairs)
    )
    return [r.id for r in ledger.rows()]


def status(ledger: Ledger) -> list[str]:
    return [r.status for r in ledger.rows()]


def test_plan_is_idempotent_and_moves_the_cursor(ledger: Ledger, store: Store, wall) -> None:
    assert ledger.plan([Planned(1, 5, "instant", wall())], cursor=5) == 1
    assert ledger.plan([Planned(1, 5, "instant", wall()), Planned(2, 5, "instant", wall())], 6) == 1
    assert store.get_state("planned_seq") == "6"
    assert status(ledger) == [Status.PENDING, Status.PENDING]


def test_claim_then_sent(ledger: Ledger, wall) -> None:
    (row,) = planned(ledger, wall, (1, 1))
    assert [r.id for r in ledger.due()] == [row]
    assert ledger.claim([row])
    assert ledger.due() == []
    assert not ledger.claim([row])  # already in flight: never two sends of one row
    ledger.sent([row], message_id=77)
    (got,) = ledger.rows()
    assert (got.status, got.message_id) == (Status.SENT, 77)


def test_claim_is_all_or_nothing(ledger: Ledger, wall) -> None:
    a, b = planned(ledger, wall, (1, 1), (1, 2))
    assert ledger.claim([b])
    assert not ledger.claim([a, b])
    assert [r.status for r in ledger.rows()] == [Status.PENDING, Status.SENDING]


def test_backoff_is_2_4_8_16_then_a_dead_letter(ledger: Ledger, wall) -> None:
    (row,) = planned(ledger, wall, (1, 1))
    outcomes = []
    for _ in range(5):
        assert ledger.claim([row])
        outcome = ledger.failed([row], "NetworkError: Bad Gateway", transient=True)
        outcomes.append(outcome)
        if isinstance(outcome, Retry):
            (got,) = ledger.rows()
            assert got.due_at == wall() + outcome.delay
            assert ledger.due() == []  # not before its time
            wall.now += outcome.delay
    assert [o.delay for o in outcomes if isinstance(o, Retry)] == [2.0, 4.0, 8.0, 16.0]
    assert outcomes[-1] == DeadLetter(Status.DEAD, "NetworkError: Bad Gateway")
    (got,) = ledger.rows()
    assert (got.status, got.attempts, got.error) == (Status.DEAD, 5, "NetworkError: Bad Gateway")


def test_backoff_schedule_with_a_cap() -> None:
    backoff = Backoff(base=1.0, cap=5.0, attempts=6)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0, None]


def test_a_permanent_failure_is_dead_at_once(ledger: Ledger, wall) -> None:
    (row,) = planned(ledger, wall, (1, 1))
    ledger.claim([row])
    assert isinstance(ledger.failed([row], "bad request", transient=False), DeadLetter)
    assert status(ledger) == [Status.DEAD]


def test_maybe_sent_is_resent_once_then_unsure_and_retry_leaves_it(ledger: Ledger, wall) -> None:
    unsure, dead = planned(ledger, wall, (1, 1), (2, 1))
    ledger.claim([unsure])
    first = ledger.failed([unsure], "TimedOut", transient=True, maybe_sent=True)
    assert isinstance(first, Retry)  # one resend: at most one duplicate
    wall.now += first.delay
    ledger.claim([unsure])
    second = ledger.failed([unsure], "TimedOut", transient=True, maybe_sent=True)
    assert second == DeadLetter(Status.UNSURE, "TimedOut")
    ledger.claim([dead])
    ledger.failed([dead], "bad request", transient=False)
    assert ledger.retry() == 1  # only the row known not to have been sent
    assert status(ledger) == [Status.UNSURE, Status.PENDING]


def test_wait_counts_no_attempt(ledger: Ledger, wall) -> None:
    (row,) = planned(ledger, wall, (1, 1))
    ledger.claim([row])
    ledger.wait([row], 30.0, "429")
    (got,) = ledger.rows()
    assert (got.status, got.attempts, got.due_at) == (Status.PENDING, 0, wall() + 30.0)


def test_chat_gone_pauses_and_skips_in_one_transaction(ledger: Ledger, store: Store, wall) -> None:
    a, _, _ = planned(ledger, wall, (1, 1), (1, 2), (2, 1))
    ledger.claim([a])
    assert ledger.chat_gone(1, "Forbidden: bot was blocked by the user") == 2
    assert store.get_chat(1).status == "paused"
    assert status(ledger) == [Status.SKIPPED, Status.SKIPPED, Status.PENDING]
    assert [r.chat_id for r in ledger.due()] == [2]


def test_chat_gone_is_atomic(ledger: Ledger, store: Store, wall) -> None:
    planned(ledger, wall, (1, 1))
    store.conn.execute(
        "CREATE TRIGGER no_skip BEFORE UPDATE ON deliveries WHEN new.status = 'skipped' "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        ledger.chat_gone(1, "blocked")
    assert store.get_chat(1).status == "active"  # the pause was rolled back with the skip


def test_release_in_flight_counts_as_one_unsure_send(ledger: Ledger, wall) -> None:
    (row,) = planned(ledger, wall, (1, 1))
    ledger.claim([row])
    assert ledger.release_in_flight() == 1  # a stop while sending: resent once
    assert status(ledger) == [Status.PENDING]
    ledger.claim([row])
    ledger.release_in_flight()  # in flight at a second stop: not resent again
    assert status(ledger) == [Status.UNSURE]


def test_due_takes_a_bounded_share_per_chat(ledger: Ledger, wall) -> None:
    ledger.plan([Planned(1, s, "instant", wall()) for s in range(1, 301)], cursor=300)
    ledger.plan([Planned(2, 1, "instant", wall() + 1)], cursor=300)
    wall.now += 1
    rows = ledger.due(limit=200, per_chat=100)
    assert sum(r.chat_id == 1 for r in rows) == 100 and any(r.chat_id == 2 for r in rows)


def test_topic_gone_pauses_only_that_topics_subscriptions(ledger: Ledger, store: Store, wall):
    store.upsert_chat(-100, "supergroup")
    in_topic = store.add_subscription(-100, [], [], thread_id=7)
    general = store.add_subscription(-100, ["兵团"], [])
    ledger.plan([Planned(-100, 1, "instant", wall(), 7), Planned(-100, 2, "instant", wall())], 2)
    assert ledger.topic_gone(-100, 7, "Bad Request: TOPIC_CLOSED") == 1
    assert store.get_subscription(in_topic.id).paused == "Bad Request: TOPIC_CLOSED"
    assert store.get_subscription(general.id).paused is None
    assert [r.status for r in ledger.rows(chat_id=-100)] == [Status.SKIPPED, Status.PENDING]


def test_hold_moves_pending_rows_into_one_later_digest(ledger: Ledger, wall) -> None:
    from datetime import UTC, datetime

    a, b = planned(ledger, wall, (1, 1), (1, 2))
    ledger.claim([b])
    until = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    ledger.hold([a, b], "daily 08:00", until)
    held, in_flight = ledger.rows()
    assert (held.mode, held.due_at) == ("daily 08:00", until.timestamp())
    assert (in_flight.mode, in_flight.status) == ("instant", Status.SENDING)  # not touched
