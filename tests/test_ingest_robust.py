"""No file may wedge ingest: an unparseable file is rejected once with its reason and the rest
goes in; rejections are counted without flooding the log; a long ingest can be stopped."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from bot.cli import main
from digests.ingest import LOGGED_REJECTIONS, ingest
from digests.store import Store
from digests.watch import poll_corpus

GOOD = "兵团职工积极参加培训，学习农业技术，提高种植水平。"


def corpus_with_a_deep_json(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.json").write_text(json.dumps({"title": "第一篇", "text": GOOD}), "utf-8")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    (folder / "deep.jsonl").write_text(
        '{"title": "行", "text": "' + GOOD + '"}\n' + "[" * 100_000 + "\n", "utf-8"
    )
    (folder / "z.txt").write_text("最后一篇\u3000\u3000" + GOOD + "再来一段。", "utf-8")
    return folder


def test_a_deeply_nested_json_is_rejected_and_the_rest_goes_in(store: Store, tmp_path) -> None:
    report = ingest(store, [corpus_with_a_deep_json(tmp_path / "c")], workers=1)
    assert len(report.added) == 3  # a.json, the good line of deep.jsonl, z.txt
    reasons = {Path(r.source).name: r.reason for r in report.rejected}
    assert reasons == {"deep.json": "nested too deeply", "deep.jsonl:2": "nested too deeply"}


def test_every_poll_goes_on_and_a_rejected_file_is_read_once(store: Store, tmp_path) -> None:
    corpus = corpus_with_a_deep_json(tmp_path / "c")
    first = poll_corpus(store, corpus, settle_seconds=0)
    assert len(first.report.added) == 3 and first.report.rejected_count == 2
    (corpus / "new.txt").write_text("新文章\u3000\u3000" + GOOD, "utf-8")
    second = poll_corpus(store, corpus, settle_seconds=0)
    assert [p.name for p in second.ready] == ["new.txt"]  # deep.json is not read again
    assert len(second.report.added) == 1 and second.report.rejected_count == 0


def test_cli_ingest_stores_the_valid_files_beside_a_deep_json(tmp_path, capsys) -> None:
    corpus = corpus_with_a_deep_json(tmp_path / "c")
    db = tmp_path / "cli.db"
    assert main(["--db", str(db), "ingest", str(corpus)]) == 1  # something was rejected
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "3 added" in err
    with Store(db) as store:
        assert store.count() == 3


def test_a_million_junk_lines_are_counted_not_logged_one_by_one(
    store: Store, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"title": "好", "text": "' + GOOD + '"}\n' + "x\n" * 200_000, "utf-8")
    with caplog.at_level(logging.WARNING, logger="digests"):
        report = ingest(store, [junk], workers=1)
    assert len(report.added) == 1 and report.rejected_count == 200_000
    assert len(report.rejected) <= 1000
    assert len(caplog.records) <= LOGGED_REJECTIONS + 1
    assert "200000 in all" in caplog.records[-1].getMessage()


def test_a_set_stop_event_ends_the_ingest_with_whole_articles(store: Store, tmp_path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"{i:02d}.txt").write_text(f"第{i}篇\u3000\u3000{GOOD}编号{i}。", "utf-8")
    stop = threading.Event()
    stop.set()
    report = ingest(store, [folder], workers=1, stop=stop)
    assert report.interrupted and store.count() == len(report.added) < 30


def test_a_stop_during_a_parallel_ingest_keeps_whole_batches(
    store: Store, tmp_path, monkeypatch
) -> None:
    """Stopped after the first batch is committed, with two workers and far more tasks queued
    than that: the tasks not started are dropped, the run ends with that batch stored."""
    import digests.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "BULK_BATCH_SIZE", 200)  # a parallel run is a bulk load
    folder = tmp_path / "many"
    folder.mkdir()
    with (folder / "many.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(200 * 2 + 100):
            text = f"{GOOD}\n第{i}篇的第二段，编号{i}，兵团职工再次参加培训。"
            fh.write(json.dumps({"title": f"第{i}篇", "text": text}, ensure_ascii=False) + "\n")
    stop = threading.Event()
    report = ingest(store, [folder], workers=2, stop=stop, on_batch=lambda _: stop.set())
    assert report.interrupted
    assert len(report.added) == store.count() == 200
