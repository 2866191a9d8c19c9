"""The plot's bot panels find the bot's figures of every corpus size in a results file."""

from __future__ import annotations

from benchmarks.plot import _by_size


def test_bot_figures_come_from_the_run_and_the_reruns_merged_in() -> None:
    results = {
        "memory": {"articles": 100_000, "peak_rss_mb": 130.1},  # the run's own, at its largest
        "memory_1000": {"articles": 1_000, "peak_rss_mb": 110.7},
        "memory_100000": {"articles": 100_000, "peak_rss_mb": 111.7},  # a rerun wins
        "memory_note": "not a size",
        "memory_source_1000000": {"articles": 1_000_000, "peak_rss_mb": 119.6},  # another part
        "startup_1000000": {"median_s": 0.32},
    }
    memory = _by_size(results, "memory")
    assert list(memory) == [1_000, 100_000]
    assert memory[100_000]["peak_rss_mb"] == 111.7
    assert _by_size(results, "startup") == {1_000_000: {"median_s": 0.32}}
    assert _by_size(results, "reply") == {}
    assert list(_by_size(results, "memory_source")) == [1_000_000]
