"""The benchmark suite's quick mode runs end to end, so it never rots (no assertion on time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.mark.slow
@pytest.mark.timeout(660)  # the run's own limit (600 s) speaks first, with the run's output
def test_quick_benchmark_runs_every_part(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    assert results["mode"] == "quick" and results["machine"]["cores"] >= 1
    ingest = results["ingest"]["1000"]
    assert ingest["added"] == 1000 and ingest["rejected"] == 0
    assert ingest["ratio_vs_jieba"] > 0 and ingest["ratio_vs_rjieba"] > 0
    assert ingest["jieba"]["drift_pct"] >= 0  # how far the machine moved during the ingest
    reply = results["reply"]["1000"]
    assert {"help", "search", "region"} <= set(reply) and reply["search"]["n"] == 20
    classes = results["search"]["1000"]
    assert len(classes) == 7 and all(c["p95_ms"] > 0 for c in classes.values())
    assert {c["example"] for c in results["region"]["1000"].values()} >= {"新疆", "六师"}
    for mode in ("limits_on", "limits_off"):
        delivery = results["delivery"][mode]
        assert delivery["lost"] == 0 and delivery["duplicates"] == 0
    assert results["delivery"]["limits_on"]["limit_violations"] == 0
    faults = results["reliability"]  # copies and tries, never times
    assert faults["slow_api_6s"]["max_copies"] == 1 and faults["slow_api_6s"]["lost"] == 0
    assert faults["slow_api_6s_client_timeout_5s"]["max_copies"] <= 2
    assert faults["dead_letter_500"]["attempts"] == 5
    assert results["memory"]["search_answered"] == results["memory"]["searches"]
    assert results["memory"]["peak_rss_mb"] > 0 and results["startup"]["median_s"] > 0
    with_source = results["memory_source"]  # the bot polled a feed and stored its pages first
    assert with_source["source_items"] == 10 and with_source["peak_rss_after_source_mb"] > 0
    assert with_source["search_answered"] == with_source["searches"]
    quality = results["summary_quality"]
    if os.environ.get("DIGESTBOT_CLTS_SAMPLES"):
        scores = quality["scores"]
        assert {"ours", "lead3", "textrank", "oracle"} <= set(scores)
        assert all(scores["ours"][m] >= scores["lead3"][m] for m in scores["lead3"]), scores
    else:  # the samples' licence keeps them out of the repository: said, not silently dropped
        assert "DIGESTBOT_CLTS_SAMPLES is not set" in quality["skipped"]
        assert "Summary quality: skipped" in proc.stdout
    rounds = results["sources"]["round"]
    assert rounds["round_failed"] == 0 and rounds["round_unchanged"] == rounds["feeds"] * 9 // 10
    backends = results["backends"]  # SQLite against PostgreSQL (issue 16)
    kinds = ["sqlite", "postgresql"] if os.environ.get("DIGESTBOT_TEST_DATABASE_URL") else ["sqlite"]
    if kinds == ["sqlite"]:  # said, not silently dropped
        assert "PostgreSQL half skipped" in backends["postgresql"]["skipped"]
        assert "PostgreSQL half skipped" in proc.stdout
    for kind in kinds:
        for processes in ("1", "2"):
            run = backends["ingest"][kind][processes]
            assert run["stored"] == backends["ingest"]["articles"] == 100
            assert run["processes"] == int(processes) and len(run["per_process_s"]) == run["processes"]
        sent = backends["delivery"][kind]
        assert (sent["lost"], sent["duplicates"], sent["limit_violations"]) == (0, 0, 0)
        assert len(backends["search"][kind]) == 7 and len(backends["region"][kind]) == 4
    hooked = backends["webhook_latency"][kinds[-1]]["1"]  # --quick: one replica, 3 rounds
    assert hooked["replicas"] == 1 and hooked["help"]["n"] == hooked["search"]["n"] == 3
    assert "not in --quick" in backends["takeover"]["skipped"]
    recorded = json.dumps(backends)  # neither the server's URL nor this run's temporary files
    assert "://" not in recorded and "/tmp/" not in recorded
    if len(kinds) == 2:  # the same totals on both backends wherever both are exact
        assert backends["totals"]["exact_on_both"] > 0 and backends["totals"]["mismatches"] == []
        assert len(backends["search"]["postgresql_before_vacuum"]) == 8  # 7 classes + rows
    assert "Ingest" in proc.stdout  # the tables were printed
