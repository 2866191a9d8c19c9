"""Loaders that run once per process, even when threads ask for them at the same moment.

``functools.cache`` keeps one result, but two threads that miss it together both compute it. The
bot's warm-up job and a source poll's first analysis did just that, each in a worker thread, and
built the gazetteer twice at once: its CPU twice and its peak memory twice (docs/benchmarks.md).
:func:`once` serialises the first call; later calls return the result without taking the lock.
A child forked while another thread held the lock (the ingest's fork-context pool) gets a fresh
lock: the holder was not copied into it, so the copied lock would never be released there.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def once(load: Callable[[], T]) -> Callable[[], T]:
    """``load()``'s result, computed by the first caller while any others wait for it (an
    exception reaches the caller whose call raised it, and the next call tries again)."""
    lock = threading.Lock()
    done: list[T] = []

    def unlock_in_child() -> None:
        nonlocal lock
        lock = threading.Lock()

    if hasattr(os, "register_at_fork"):  # POSIX
        os.register_at_fork(after_in_child=unlock_in_child)

    @functools.wraps(load)
    def loaded() -> T:
        if done:
            return done[0]
        with lock:
            if not done:
                done.append(load())
        return done[0]

    return loaded
