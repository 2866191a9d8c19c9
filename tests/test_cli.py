"""The digestbot command line: each command, --json output, exit statuses, seed expectations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

from .conftest import CORPUS, GRASSROOTS_TITLE, PARTY_TITLE, ROOT, SEEDS


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)  # exactly one JSON document on stdout


@pytest.fixture
def db(seeded_db: Path, tmp_path: Path) -> str:
    import shutil

    copy = tmp_path / "cli.db"
    shutil.copy(seeded_db, copy)
    return str(copy)


def test_ingest_reports_added_duplicate_and_rejected(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    empty = tmp_path / "empty.md"
    empty.write_text("", "utf-8")
    db = str(tmp_path / "x.db")
    code, report = run_json(capsys, "--db", db, "ingest", str(CORPUS), str(bad), str(empty))
    assert code == 1
    assert {a["title"] for a in report["added"]} == {PARTY_TITLE, GRASSROOTS_TITLE}
    assert {r["file"] for r in report["rejected"]} == {str(bad), str(empty)}
    code, report = run_json(capsys, "--db", db, "ingest", str(SEEDS[0]))
    assert code == 0 and report["added"] == [] and len(report["duplicates"]) == 1


def test_ingest_human_output_one_line_per_rejection(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", "utf-8")
    code = main(["--db", str(tmp_path / "x.db"), "ingest", str(bad), str(SEEDS[0])])
    err = capsys.readouterr().err
    assert code == 1
    assert f"rejected   {bad}: malformed JSON" in err
    assert "1 added, 0 duplicates, 1 rejected" in err


def test_search_json(db: str, capsys) -> None:
    code, data = run_json(capsys, "--db", db, "search", "第一书记")
    assert code == 0
    assert data["results"][0]["title"] == GRASSROOTS_TITLE
    first = data["results"][0]
    assert {"id", "title", "score", "snippet", "regions", "keywords", "added_at"} <= set(first)
    assert "第一书记" in first["matches"]


def test_search_message_for_stopwords(db: str, capsys) -> None:
    code, data = run_json(capsys, "--db", db, "search", "的")
    assert code == 1 and data["error"]


def test_region_kashgar_xinjiang_and_sixth_division(db: str, capsys) -> None:
    code, data = run_json(capsys, "--db", db, "region", "喀什")
    assert code == 0 and data["place"]["name"] == "喀什地区"
    assert GRASSROOTS_TITLE in [r["title"] for r in data["results"]]
    code, data = run_json(capsys, "--db", db, "region", "新疆")
    assert {r["title"] for r in data["results"]} == {PARTY_TITLE, GRASSROOTS_TITLE}
    code, data = run_json(capsys, "--db", db, "region", "六师")
    assert [r["title"] for r in data["results"]] == [PARTY_TITLE]


def test_region_unknown_name_suggests(db: str, capsys) -> None:
    code, data = run_json(capsys, "--db", db, "region", "喀十")
    assert code == 1
    assert [s["name"] for s in data["suggestions"]][:2] == ["喀什地区", "喀什市"]


def test_summarize_file_and_id_are_three_verbatim_sentences(db: str, capsys) -> None:
    for seed in SEEDS:
        code, data = run_json(capsys, "summarize", str(seed))
        assert code == 0 and len(data["summary"]) == 3
        text = seed.read_text("utf-8")
        assert all(sentence in text for sentence in data["summary"])
    code, data = run_json(capsys, "--db", db, "search", "兵团")
    ident = data["results"][0]["id"]
    code, data = run_json(capsys, "--db", db, "summarize", "--id", ident, "--sentences", "2")
    assert code == 0 and len(data["summary"]) <= 2


def test_show_and_stats(db: str, capsys) -> None:
    code, data = run_json(capsys, "--db", db, "search", "第一书记")
    ident = data["results"][0]["id"]
    code, art = run_json(capsys, "--db", db, "show", ident)
    assert code == 0 and art["title"] == GRASSROOTS_TITLE and art["paragraphs"]
    assert len(art["summary"]) == 3 and art["keywords"]
    code, stats = run_json(capsys, "--db", db, "stats")
    assert stats["articles"] == 2 and stats["regions_tagged"] > 0 and stats["db_bytes"] > 0
    code, missing = run_json(capsys, "--db", db, "show", "nope")
    assert code == 1 and missing["error"]


def test_console_script_json_stdout_is_clean(db: str) -> None:
    env = {**os.environ, "DIGESTBOT_DB": db, "DIGESTBOT_LOG_LEVEL": "DEBUG"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "search",
            "兵团",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
