"""Updates a dead process had taken are adopted by a live one, once: the store's touch/adopt on
both backends, and the job's rule (held updates are touched, stale ones adopted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adoption import STALE_SECONDS

from .pgkit import BACKENDS, open_backend


@pytest.mark.parametrize("kind", BACKENDS)
def test_only_untouched_unfinished_updates_are_adopted_and_only_once(
    kind: str, tmp_path: Path
) -> None:
    with open_backend(kind, tmp_path) as store:
        t0 = 1_000_000.0
        for update_id in (1, 2, 3):
            assert store.journal_update(update_id, f'{{"n": {update_id}}}', t0)
        store.finish_update(3)  # handled: never adopted
        store.touch_updates([2], t0 + 4)  # its process is alive and holds it
        now = t0 + STALE_SECONDS + 1
        assert store.adopt_updates(now - STALE_SECONDS, now) == [(1, '{"n": 1}')]
        assert store.adopt_updates(now - STALE_SECONDS, now) == []  # taken: not again
        later = now + STALE_SECONDS + 1  # the adopter died too; 2's holder as well
        assert [u for u, _ in store.adopt_updates(later - STALE_SECONDS, later)] == [1, 2]
        store.touch_updates([], later)  # nothing held: nothing to do
        store.finish_update(1)
        store.finish_update(2)
        much_later = later + 3600
        assert store.adopt_updates(much_later - STALE_SECONDS, much_later) == []
        assert store.unfinished_updates() == []
