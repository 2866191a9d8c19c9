"""The corpus watcher: stable files only, changed files again, rejections remembered."""

from __future__ import annotations

import os
from pathlib import Path

from digests.store import Store
from digests.watch import poll_corpus

BODY = "标题\u3000\u3000兵团职工积极参加培训，学习农业技术。"


def test_file_still_being_written_waits_for_the_next_round(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    f = corpus / "a.txt"
    f.write_text(BODY, "utf-8")
    now = f.stat().st_mtime
    first = poll_corpus(store, corpus, settle_seconds=60, now=now)
    assert first.waiting == [f] and store.count() == 0
    with f.open("a", encoding="utf-8") as fh:  # still growing
        fh.write("还在写。")
    os.utime(f, (now + 1, now + 1))
    second = poll_corpus(store, corpus, settle_seconds=60, now=now + 1)
    assert second.waiting == [f] and store.count() == 0
    third = poll_corpus(store, corpus, settle_seconds=60, now=now + 2)  # unchanged since last round
    assert third.ready == [f] and len(third.report.added) == 1
    fourth = poll_corpus(store, corpus, settle_seconds=60, now=now + 3)
    assert fourth.ready == [] and fourth.waiting == []


def test_old_files_go_in_at_once_and_changed_files_again(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    f = corpus / "a.txt"
    f.write_text(BODY, "utf-8")
    t = f.stat().st_mtime
    assert len(poll_corpus(store, corpus, settle_seconds=5, now=t + 10).report.added) == 1
    f.write_text(BODY + "更新的内容。", "utf-8")
    os.utime(f, (t + 20, t + 20))
    result = poll_corpus(store, corpus, settle_seconds=5, now=t + 30)
    assert len(result.report.replaced) == 1 and store.count() == 1  # replaced, not a copy


def test_rejected_file_reported_once(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = corpus / "bad.json"
    bad.write_text("{nope", "utf-8")
    t = bad.stat().st_mtime
    assert len(poll_corpus(store, corpus, settle_seconds=1, now=t + 5).report.rejected) == 1
    assert poll_corpus(store, corpus, settle_seconds=1, now=t + 6).ready == []
    assert store.corpus_files()[str(bad)][2] == "rejected"


def test_the_bots_corpus_poll_keeps_its_transactions_short(
    store: Store, tmp_path: Path, monkeypatch
) -> None:
    """A big folder found by the bot's own poll is a bulk load (all cores, bulk settings) but is
    committed ``BATCH_SIZE`` articles at a time, not ``BULK_BATCH_SIZE``: the bot's own writes
    (update journal, ledger) must not wait behind a long transaction. ``digestbot ingest`` keeps
    the long batches."""
    import json

    import digests.ingest as ingest_module
    from digests.ingest import ingest

    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 40)
    monkeypatch.setattr(ingest_module, "BULK_BATCH_SIZE", 1000)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with (corpus / "many.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(130):
            text = f"兵团职工积极参加第{i}期培训，学习农业技术。第{i}期培训结束后，职工返回连队。"
            fh.write(json.dumps({"title": f"第{i}篇", "text": text}, ensure_ascii=False) + "\n")
    batches: list[int] = []
    add = store.add
    monkeypatch.setattr(
        store, "add", lambda arts, **kw: batches.append(len(arts)) or add(arts, **kw)
    )
    t = (corpus / "many.jsonl").stat().st_mtime
    result = poll_corpus(store, corpus, settle_seconds=1, now=t + 5, workers=2)
    assert len(result.report.added) == 130 and batches == [40, 40, 40, 10]
    batches.clear()
    store2 = Store(tmp_path / "cli.db")
    add = store2.add
    monkeypatch.setattr(
        store2, "add", lambda arts, **kw: batches.append(len(arts)) or add(arts, **kw)
    )
    assert len(ingest(store2, [corpus], workers=2).added) == 130 and batches == [130]
    store2.close()
