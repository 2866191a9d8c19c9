"""The jieba baseline bracketing an ingest: taken together, and its drift reported."""

from __future__ import annotations

from benchmarks.engine import DRIFT_WARNING_PCT, combined_baseline
from benchmarks.run import targets


def _half(articles: int, seconds: float) -> dict[str, float]:
    return {"articles": articles, "seconds": seconds, "articles_per_s": articles / seconds}


def test_the_halves_are_taken_together_and_their_drift_is_told() -> None:
    steady = combined_baseline(_half(5000, 30.0), _half(5000, 31.0))
    assert steady["articles_per_s"] == round(10_000 / 61.0, 1)
    assert steady["drift_pct"] == round(100 * (1 / 30 - 1 / 31) / (1 / 31), 1) < DRIFT_WARNING_PCT
    moved = combined_baseline(_half(5000, 30.0), _half(5000, 22.5))  # a third faster after
    assert moved["drift_pct"] == 33.3


def test_a_ratio_measured_while_the_machine_moved_is_flagged() -> None:
    def run(before: float, after: float) -> dict:
        jieba = combined_baseline(_half(5000, before), _half(5000, after))
        ratio = round(300 / jieba["articles_per_s"], 2)
        return {"ingest": {"100000": {"jieba": jieba, "ratio_vs_jieba": ratio}}, "search": {},
                "region": {}, "reply": {}}  # fmt: skip

    def drift_row(results: dict) -> dict:
        rows = [row for row in targets(results) if row["name"].startswith("jieba baseline drift")]
        assert len(rows) == 1
        return rows[0]

    assert drift_row(run(30.0, 31.0))["met"] is True
    flagged = drift_row(run(30.0, 22.5))
    assert flagged["met"] is False and flagged["value"] == 33.3
