"""Two processes adding articles to one PostgreSQL at once, in the interleavings that broke it:
batches sharing texts in different orders (each waited for the other's uncommitted copy:
deadlock), and an article committed after a later-numbered one had been planned (the planning
cursor had moved past its number: never delivered). Each interleaving is forced with ``add``'s
``on_added`` hook, which runs inside the adding transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from digests.planning import plan
from digests.store import Store

from .pgkit import open_backend, requires_pg
from .test_store import make

pytestmark = requires_pg


@pytest.fixture
def store(tmp_path: Path, clock) -> Iterator[Store]:
    with open_backend("postgresql", tmp_path, clock) as s:
        yield s


def run(target, *args) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def test_batches_sharing_texts_in_opposite_orders_do_not_deadlock(store: Store) -> None:
    both_inserted_one = threading.Barrier(2)
    errors: list[BaseException] = []
    statuses: list[list[str]] = []

    def writer(batch: list[int]) -> None:
        def first_in(seq: int, art: object) -> None:  # wait (1 s at most) for the other writer
            with suppress(threading.BrokenBarrierError):
                both_inserted_one.wait(timeout=1.0)

        try:
            statuses.append([r.status for r in store.add([make(n) for n in batch], on_added=first_in)])
        except BaseException as exc:
            errors.append(exc)

    threads = [run(writer, [1, 2]), run(writer, [2, 1])]
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert sorted(s for got in statuses for s in got) == ["added", "added", "duplicate", "duplicate"]
    assert store.count() == 2


def test_an_article_committed_after_a_later_one_was_planned_is_still_planned(
    store: Store, clock
) -> None:
    store.upsert_chat(1, "private")
    store.add_subscription(1, [], [])  # everything from now on
    numbered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:  # takes its number first, commits last
        def hold(seq: int, art: object) -> None:
            numbered.set()
            release.wait(timeout=20)

        try:
            store.add([make(1)], on_added=hold)
        except BaseException as exc:
            errors.append(exc)

    slow = run(slow_writer)
    assert numbered.wait(timeout=20)
    assert [r.status for r in store.add([make(2)])] == ["added"]  # a higher number, committed
    planner = run(plan, store, clock)  # waits for the slow writer's commit instead of skipping it
    planner.join(timeout=0.5)
    release.set()
    slow.join(timeout=20)
    planner.join(timeout=20)
    plan(store, clock)
    assert errors == []
    planned = sorted(row.seq for row in store.ledger.rows(chat_id=1))
    assert planned == sorted(a.seq for a in store.after(0)), "an article was never planned"
    assert len(planned) == 2
