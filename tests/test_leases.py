"""Named leases (digests.leases) on both backends: two store instances (as two processes would
have) competing for one lease, expiry and takeover with a clock the test moves, a stale holder's
renewal refused, release, and the ledger's fenced claim."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from digests.leases import Leases
from digests.ledger import Ledger, Planned, Status
from digests.store import Store

from .pgkit import BACKENDS, two_stores


class Wall:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    with two_stores(request.param, tmp_path) as pair:
        yield pair


@pytest.fixture
def wall() -> Wall:
    return Wall()


def test_one_holder_at_a_time_then_takeover_after_expiry(stores, wall) -> None:
    a = Leases(stores[0], "a", ttl=5, clock=wall)
    b = Leases(stores[1], "b", ttl=5, clock=wall)
    first = a.acquire("sender:1")
    assert first is not None and (first.holder, first.epoch) == ("a", 1)
    assert b.acquire("sender:1") is None  # held by a
    assert b.current("sender:1") == first  # b sees who holds it
    wall.now += 4.9
    assert b.acquire("sender:1") is None  # not expired yet
    again = a.acquire("sender:1")  # a's own lease: renewed, same epoch
    assert again is not None and again.epoch == 1 and again.expires_at == wall.now + 5
    wall.now += 5.0  # a stopped renewing (killed): the lease expires
    assert b.current("sender:1") is None
    taken = b.acquire("sender:1")
    assert taken is not None and (taken.holder, taken.epoch) == ("b", 2)
    assert a.renew(again) is None  # the stale holder finds out at its next renewal
    assert a.acquire("sender:1") is None  # and cannot take it back while b renews
    renewed = b.renew(taken)
    assert renewed is not None and renewed.epoch == 2


def test_renew_and_release(stores, wall) -> None:
    a = Leases(stores[0], "a", ttl=5, clock=wall)
    b = Leases(stores[1], "b", ttl=5, clock=wall)
    lease = a.acquire("corpus-poll")
    assert lease is not None
    for _ in range(10):  # renewed in time, the lease is never lost
        wall.now += 4
        renewed = a.renew(lease)
        assert renewed is not None and renewed.epoch == lease.epoch
        assert b.acquire("corpus-poll") is None
    assert a.release(lease)
    assert not a.release(lease)  # once
    assert b.current("corpus-poll") is None
    taken = b.acquire("corpus-poll")  # at once after a release, with the next epoch
    assert taken is not None and taken.epoch == lease.epoch + 1
    mine_again = a.acquire("corpus-poll")
    assert mine_again is None


def test_leases_are_independent_and_listed_by_prefix(stores, wall) -> None:
    a = Leases(stores[0], "a", ttl=5, clock=wall)
    b = Leases(stores[1], "b", ttl=5, clock=wall)
    assert a.acquire("replica:a") and b.acquire("replica:b") and a.acquire("source-poll")
    assert b.acquire("corpus-poll") is not None and b.acquire("source-poll") is None
    assert [x.holder for x in a.live("replica:")] == ["a", "b"]
    wall.now += 3
    assert b.acquire("replica:b")
    wall.now += 3  # a's expired, b's renewed
    assert [x.holder for x in b.live("replica:")] == ["b"]


def _attempt(store: Store, who: str, name: str, winners: list[str], lock: threading.Lock) -> None:
    own = Store(store.path) if not hasattr(store, "pool") else None  # a connection per "process"
    try:
        if Leases(own or store, who, ttl=30).acquire(name) is not None:
            with lock:
                winners.append(who)
    finally:
        if own is not None:
            own.close()


def test_racing_acquires_give_one_holder(stores) -> None:
    """Six threads, each with its own connection (PostgreSQL: two pools), try at once: exactly
    one wins each round."""
    for round_ in range(5):
        winners: list[str] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=_attempt, args=(stores[i % 2], f"p{i}", f"race:{round_}", winners, lock)
            )
            for i in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(winners) == 1, winners


def test_a_fenced_claim_fails_once_the_lease_changed_hands(stores, wall) -> None:
    store_a, store_b = stores
    store_a.upsert_chat(1, "private")
    ledger_a, ledger_b = Ledger(store_a, clock=wall), Ledger(store_b, clock=wall)
    ledger_a.plan([Planned(1, s, "instant", wall()) for s in (1, 2, 3)], cursor=3)
    ids = [r.id for r in ledger_a.rows()]
    a = Leases(store_a, "a", ttl=5, clock=wall)
    b = Leases(store_b, "b", ttl=5, clock=wall)
    lease_a = a.acquire("sender:1")
    assert lease_a is not None
    assert ledger_a.claim([ids[0]], lease_a.fence)  # a holds it: a claims
    wall.now += 6
    lease_b = b.acquire("sender:1")
    assert lease_b is not None
    assert not ledger_a.claim([ids[1]], lease_a.fence)  # a lost it: no claim, nothing moved
    assert [r.status for r in ledger_b.rows()] == [Status.SENDING, Status.PENDING, Status.PENDING]
    assert ledger_b.release_in_flight() == 1  # the new holder resends what a had in flight
    assert ledger_b.claim([ids[0], ids[1]], lease_b.fence)
    assert not ledger_b.claim([ids[2]], lease_a.fence)  # an old epoch fences b's own stale copy


def test_lease_seconds_from_the_environment() -> None:
    assert load_settings({}).lease_seconds == 5.0
    assert load_settings({"DIGESTBOT_LEASE_SECONDS": "2.5"}).lease_seconds == 2.5
    for bad in ("0.5", "soon"):
        with pytest.raises(ConfigError, match="DIGESTBOT_LEASE_SECONDS"):
            load_settings({"DIGESTBOT_LEASE_SECONDS": bad})
