"""The backends part's store sizes: a full run that includes 1M does not build a PostgreSQL store
of a million articles (hours here), it compares the backends at 100k."""

from __future__ import annotations

from benchmarks.backends import QUICK_INGEST, store_sizes


def test_a_run_up_to_1m_searches_stores_of_100k() -> None:
    assert store_sizes([1000, 10_000, 100_000, 1_000_000], quick=False) == (10_000, 100_000)


def test_the_sizes_asked_for_are_used_up_to_the_caps() -> None:
    assert store_sizes([10_000, 100_000], quick=False) == (10_000, 100_000)
    assert store_sizes([1000], quick=False) == (1000, 1000)
    assert store_sizes([1000], quick=True) == (QUICK_INGEST, 1000)


def test_only_sizes_over_the_caps_fall_back_to_the_smallest() -> None:
    assert store_sizes([1_000_000], quick=False) == (1_000_000, 1_000_000)
    assert store_sizes([200_000, 1_000_000], quick=False) == (200_000, 200_000)
