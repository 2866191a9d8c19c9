"""/latest lists by publication date (the day stored when there is none) and lists and /article
show that date; engine messages and counts reach each user in their own language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from bot.lookup import article_card, latest_page
from bot.services import Services
from digests.dates import iso_published, published_date
from digests.ingest import ingest
from digests.regions import load_gazetteer
from digests.store import Store

ARTICLES = [  # (title, published), in the order they are stored
    ("棉花收购价格公布", "2026-11-20"),
    ("牧民秋季转场", None),
    ("兵团医疗队下乡", "Tue, 24 Nov 2026 09:15:00 +0800"),
    ("塔里木河生态补水", "2026年11月10日"),
]


@pytest.fixture
def dated(store: Store, tmp_path: Path) -> Store:
    folder = tmp_path / "dated"
    folder.mkdir()
    for i, (title, published) in enumerate(ARTICLES):
        record = {"title": title, "text": f"{title}。新疆各地持续推进相关工作，第{i}批。" * 3}
        if published:
            record["published"] = published
        (folder / f"{i}.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        ingest(store, [folder / f"{i}.json"], workers=1)  # one at a time: seq is arrival order
    return store


@pytest.mark.parametrize(
    ("given", "iso", "day"),
    [
        ("2026-11-20", "2026-11-20", "2026-11-20"),
        ("2026-11-20T08:00:00Z", "2026-11-20T08:00:00+00:00", "2026-11-20"),
        ("Tue, 24 Nov 2026 09:15:00 +0800", "2026-11-24T09:15:00+08:00", "2026-11-24"),
        ("2026年11月10日", "2026-11-10", "2026-11-10"),
        ("2026/11/2 10:30", "2026-11-02T10:30:00", "2026-11-02"),
        ("last week", "last week", None),  # kept as given, nothing lost
        ("2026-13-40", "2026-13-40", None),
    ],
)
def test_published_dates_are_read_into_iso(given: str, iso: str, day: str | None) -> None:
    assert iso_published(given) == iso
    assert published_date(given) == day


def test_latest_orders_by_published_day_then_arrival(dated: Store) -> None:
    # stored today (2026-11-25 by the fake clock): 牧民 has no date, so it is listed today
    titles = [a.title for a in dated.latest(10)]
    assert titles == ["牧民秋季转场", "兵团医疗队下乡", "棉花收购价格公布", "塔里木河生态补水"]
    assert [a.title for a in dated.latest(2, 2)] == titles[2:]
    stored = {a.title: a.published for a in dated.latest(10)}
    assert stored["兵团医疗队下乡"] == "2026-11-24T09:15:00+08:00"


def test_lists_and_cards_show_the_published_date(dated: Store) -> None:
    svc = Services(store=dated, gazetteer=load_gazetteer(), settings=Settings(token=None))
    text, _ = latest_page(svc, 0, "zh")
    assert text.index("2026-11-24") < text.index("2026-11-20") < text.index("2026-11-10")
    cotton = next(a for a in dated.latest(10) if a.title == "棉花收购价格公布")
    card, _ = article_card(svc, cotton.id, "zh")
    assert "发布于 2026-11-20" in card and "收录于" not in card
    herders = next(a for a in dated.latest(10) if a.title == "牧民秋季转场")
    card, _ = article_card(svc, herders.id, "en")
    assert "Added 2026-11-25" in card


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("-兵团", "不能只有排除词"),
        ("***", "只有符号"),
        ('"" -', "只有符号"),
        ("的 了", "很常见的词"),
    ],
)
async def test_query_errors_in_chinese(bot, query: str, expected: str) -> None:
    (reply,) = await bot.say(f"/search {query}")
    assert expected in reply.text
    assert not any(c.isascii() and c.isalpha() for c in reply.text), reply.text


async def test_unknown_region_and_counts_in_english(bot) -> None:
    (reply,) = await bot.say("/region 火星", chat=6004, language_code="en")
    assert reply.text.startswith("No place called 火星")
    (reply,) = await bot.say("/search 阿勒泰牧民转场", chat=6004, language_code="en")
    assert ": 1 article, 1\n" in reply.text
    (reply,) = await bot.say("/search 阿勒泰牧民转场")
    assert "共 1 篇，第 1 篇" in reply.text and "第 1–1 篇" not in reply.text
