"""Delivery planning: filters (keyword, region incl. places inside, everything), new-only,
instant vs daily due times, and the atomic cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from digests.ingest import ingest
from digests.planning import due_at, plan
from digests.regions import load_gazetteer
from digests.store import Store
from digests.subscriptions import parse_filters

from .conftest import SEEDS


def add_json(store: Store, folder: Path, name: str, title: str, text: str) -> int:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(
        json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8"
    )
    report = ingest(store, [folder / name], workers=1)
    return store.get(report.added[0].id).seq


def subscribe(store: Store, chat_id: int, words: str, mode: str = "instant"):
    store.upsert_chat(chat_id, "private")
    request = parse_filters(words.split(), load_gazetteer())
    return store.add_subscription(chat_id, request.keywords, request.regions, mode=mode)


def test_filters_route_articles_to_the_right_chats(store: Store, clock, tmp_path: Path) -> None:
    subscribe(store, 1, "")  # everything
    subscribe(store, 2, "第一书记")  # keyword
    subscribe(store, 3, "喀什")  # region: an article mentioning only 莎车县 is inside it
    subscribe(store, 4, "六师")  # XPCC division
    subscribe(store, 5, "棉花")  # matches nothing below
    report = ingest(store, SEEDS, workers=1)
    assert len(report.added) == 2
    plan(store, clock)
    got = {(d.chat_id, store.get_many([d.seq])[d.seq].title[:4]) for d in store.ledger.rows()}
    assert got == {
        (1, "党建引领"), (1, "提升基层"),
        (2, "提升基层"), (2, "党建引领"),  # both seeds mention 第一书记
        (3, "提升基层"),
        (4, "党建引领"),
    }  # fmt: skip


def test_only_articles_after_the_subscription(store: Store, clock, tmp_path: Path) -> None:
    ingest(store, SEEDS[:1], workers=1)
    subscribe(store, 1, "")
    plan(store, clock)
    assert store.ledger.rows() == []
    seq = add_json(store, tmp_path, "a.json", "新文章", "兵团新闻内容很多很多。")
    plan(store, clock)
    assert [d.seq for d in store.ledger.rows()] == [seq]
    plan(store, clock)  # planning again adds nothing
    assert len(store.ledger.rows()) == 1


def test_paused_chats_get_nothing(store: Store, clock, tmp_path: Path) -> None:
    subscribe(store, 1, "")
    store.update_chat(1, status="paused", status_reason="blocked")
    add_json(store, tmp_path, "a.json", "新文章", "兵团新闻内容很多很多。")
    plan(store, clock)
    assert store.ledger.rows() == []


def test_daily_due_time_in_the_chats_zone() -> None:
    now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    assert due_at("instant", now) == now
    assert due_at("daily 08:00", now) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert due_at("daily 10:30", now) == datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    assert due_at("daily 10:30", now, "Europe/Berlin") == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_instant_wins_over_daily_for_one_chat(store: Store, clock, tmp_path: Path) -> None:
    subscribe(store, 1, "兵团", mode="daily 08:00")
    subscribe(store, 1, "新闻", mode="instant")
    add_json(store, tmp_path, "a.json", "兵团新闻", "兵团新闻内容很多很多。")
    plan(store, clock)
    (row,) = store.ledger.rows()
    assert row.mode == "instant" and row.due_at == clock().timestamp()


def test_a_bad_stored_row_is_skipped_and_reported(store: Store, clock, tmp_path: Path) -> None:
    from digests.planning import plan_report

    subscribe(store, 1, "")
    subscribe(store, 2, "")
    subscribe(store, 3, "")
    store.conn.execute("UPDATE subscriptions SET mode = 'daily 25:00' WHERE chat_id = 2")
    store.update_chat(3, timezone="Mars/Olympus")
    add_json(store, tmp_path, "a.json", "新文章", "兵团新闻内容很多很多。")
    report = plan_report(store, clock)
    assert [d.chat_id for d in store.ledger.rows()] == [1]
    assert set(report.problems) == {2, 3} and "25:00" in report.problems[2]
    assert store.get_state("planned_seq") == str(store.max_seq())  # the round went through


def test_quiet_hours_turn_instant_rows_into_one_catch_up(store: Store, clock, tmp_path) -> None:
    subscribe(store, 1, "")
    store.update_chat(1, quiet="15:00-18:30")  # 08:00 UTC is 16:00 in Beijing: quiet
    add_json(store, tmp_path, "a.json", "新文章", "兵团新闻内容很多很多。")
    add_json(store, tmp_path, "b.json", "又一篇", "兵团新闻内容很多很多很多。")
    plan(store, clock)
    rows = store.ledger.rows()
    assert {r.mode for r in rows} == {"daily 18:30"}
    assert {r.due_at for r in rows} == {datetime(2026, 11, 25, 10, 30, tzinfo=UTC).timestamp()}


def test_articles_no_subscription_can_take_are_not_read(
    seeded: Store, clock, tmp_path: Path
) -> None:
    """A corpus ingested before anyone subscribed (``digestbot ingest``, a bot's first start) is
    skipped, not read through in batches; what comes after is planned as before."""
    read: list[int] = []
    after = seeded.after

    def counting_after(seq: int, limit: int = 100):  # the real query, its rows counted
        rows = after(seq, limit)
        read.extend(a.seq for a in rows)
        return rows

    seeded.after = counting_after  # type: ignore[method-assign]
    newest = seeded.max_seq()
    assert newest > 0
    plan(seeded, clock)  # nobody subscribed: nothing read
    assert read == [] and seeded.get_state("planned_seq") == str(newest)
    subscribe(seeded, 1, "")
    plan(seeded, clock)
    assert read == [] and seeded.ledger.rows() == []
    seq = add_json(seeded, tmp_path, "a.json", "新文章", "兵团新闻内容很多很多。")
    plan(seeded, clock)
    assert read == [seq]
    assert [d.seq for d in seeded.ledger.rows()] == [seq]
