"""/source from the chat, against the fake Bot API and a local HTTP server: add (feed, GBK,
broken, refused), list with buttons, check, export, OPML upload, and new items reaching a
subscriber once (the baseline does not)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digests.ledger import Ledger, Status
from digests.store import Store

from .botkit import running_bot
from .feedserver import DATA

ADMIN = 9001
READER = 501
RSS = (DATA / "feeds/rss20.xml").read_text("utf-8")
NEW_ITEM = (
    "<item><title>克拉玛依市发布冬季出行提示</title>"
    "<link>https://news.example.cn/2026/11/30/content_10010.html</link><guid>bj-10010</guid>"
    "<description><![CDATA[克拉玛依市交通运输局发布冬季出行提示，提醒市民雪天减速慢行、保持车距。"
    "近期全市将迎来大范围降温降雪天气，公交公司已对全部车辆完成冬季保养，除雪队伍二十四小时待命，"
    "确保主要道路畅通。市民出行前可通过交通服务热线查询路况信息。]]></description></item>"
)


@pytest.fixture
def db(seeded_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    shutil.copy(seeded_db, path)
    with Store(path) as store:
        store.upsert_chat(READER, "private")
        store.add_subscription(READER, [], [])
    return path


async def test_admin_adds_a_feed_and_new_items_arrive_once(site, db: Path) -> None:
    site.add("/rss.xml", RSS, content_type="application/rss+xml")
    async with running_bot(db, admins=frozenset({ADMIN}), source_poll_seconds=0.3) as env:
        env.fake.add_chat(READER, "private")
        (refused,) = await env.say(f"/source add {site.url('/rss.xml')}", chat=777)
        assert "只有管理员" in refused.text
        (answer,) = await env.say(f"/source add {site.url('/rss.xml')}", chat=ADMIN)
        assert "已添加信息源 #1" in answer.text and "边疆日报·要闻" in answer.text
        assert "3 条" in answer.text
        store = env.store
        await env.fake.wait_for(lambda: store.get_source(1).baseline_done, timeout=15)
        assert store.get_source(1).items == 3
        site.add("/rss.xml", RSS.replace("<item>", NEW_ITEM + "<item>", 1))
        (checked,) = await env.say("/source check 1", chat=ADMIN)
        assert "新增 1 篇" in checked.text
        (pushed,) = await env.fake.wait_for_messages(READER, 1, timeout=15)
        assert "克拉玛依市发布冬季出行提示" in pushed.text
        (checked,) = await env.say("/source check 1", chat=ADMIN)
        assert "新增 0 篇" in checked.text
        (listing,) = await env.say("/source list", chat=ADMIN)
        assert "#1" in listing.text and "正常" in listing.text and "4 条" in listing.text
        data = [b["callback_data"] for b in listing.buttons()]
        assert data == ["src:p:1", "src:c:1", "src:x:1"]
        await env.press(listing, "src:p:1", chat=ADMIN)
        assert store.get_source(1).status == "paused"
        edited = await env.fake.wait_for(
            lambda: next(
                (m for m in env.fake.messages_to(ADMIN, include_edits=True) if m.edited), None
            ),
            timeout=10,
        )
        assert "已暂停" in edited.text
        await env.press(edited, "src:r:1", chat=ADMIN)
        assert store.get_source(1).status == "active"
    assert len(env.fake.messages_to(READER)) == 1  # the baseline was not pushed, the new item once


async def test_clear_answers_gbk_broken_refused(site, db: Path, monkeypatch) -> None:
    site.add(
        "/gbk.xml", RSS.replace(' encoding="utf-8"', "").encode("gbk"), content_type="text/xml"
    )
    site.add("/broken.xml", (DATA / "feeds/broken.xml").read_bytes())
    site.add("/page.html", "<html><body>nothing here</body></html>", content_type="text/html")
    async with running_bot(db, admins=frozenset({ADMIN})) as env:
        (gbk,) = await env.say(f"/source add {site.url('/gbk.xml')} 边疆GBK", chat=ADMIN)
        assert "已添加信息源" in gbk.text and "边疆GBK" in gbk.text
        (broken,) = await env.say(f"/source add {site.url('/broken.xml')}", chat=ADMIN)
        assert "已添加信息源" in broken.text and "broken XML" in broken.text
        (empty,) = await env.say(f"/source add {site.url('/page.html')}", chat=ADMIN)
        assert empty.text.startswith("无法添加") and "没有找到" in empty.text
        (missing,) = await env.say(f"/source add {site.url('/nope.xml')}", chat=ADMIN)
        assert "网站返回错误" in missing.text and "404" in missing.text
        monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW")
        (refused,) = await env.say(f"/source add {site.url('/rss.xml')}", chat=ADMIN)
        assert "不允许访问该地址" in refused.text and "\n" not in refused.text
        (english,) = await env.say(
            "/source add http://10.0.0.1/rss", chat=ADMIN, language_code="en"
        )
        assert english.text.startswith("Cannot add") and "not allowed" in english.text
        (usage,) = await env.say("/source frobnicate", chat=ADMIN)
        assert "/source add" in usage.text


async def test_export_and_opml_import(site, db: Path) -> None:
    site.add("/rss.xml", RSS)
    site.add("/atom.xml", (DATA / "feeds/atom.xml").read_bytes())
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="分类">'
        f'<outline text="我的边疆" xmlUrl="{site.url("/rss.xml")}"/>'
        f'<outline text="兵团" xmlUrl="{site.url("/atom.xml")}"/></outline></body></opml>'
    )
    async with running_bot(db, admins=frozenset({ADMIN})) as env:
        await env.say("/help", chat=ADMIN)
        before = len(env.fake.messages_to(ADMIN))
        env.fake.document(ADMIN, "feeds.opml", opml.encode())
        checking, result = (await env.fake.wait_for_messages(ADMIN, before + 2, timeout=15))[
            before:
        ]
        assert "2 个订阅源" in checking.text
        assert "添加 2 个，失败 0 个" in result.text
        assert {s.name for s in env.store.sources()} == {"我的边疆", "兵团"}
        before = len(env.fake.messages_to(ADMIN))
        env.fake.user_message(ADMIN, "/source export", language_code="zh-hans")
        (doc,) = (await env.fake.wait_for_messages(ADMIN, before + 1, timeout=15))[before:]
        content = env.fake.file_content(doc.document["file_id"]).decode()
        assert doc.document["file_name"].endswith(".opml") and 'text="我的边疆"' in content


async def test_the_same_story_from_two_sources_arrives_once_with_also_reported(
    site, db: Path
) -> None:
    from benchmarks.stories_quality import reposts

    from .test_sources import rss
    from .test_stories import ORIGINAL

    title, paragraphs = ORIGINAL
    (t2, p2), *_ = reposts(title, paragraphs)
    site.add("/a.xml", rss([], title="边疆日报"))
    site.add("/b.xml", rss([], title="天山网"))
    async with running_bot(db, admins=frozenset({ADMIN}), source_poll_seconds=0.3) as env:
        env.fake.add_chat(READER, "private")
        await env.say(f"/source add {site.url('/a.xml')}", chat=ADMIN)
        await env.say(f"/source add {site.url('/b.xml')}", chat=ADMIN)
        store = env.store
        await env.fake.wait_for(lambda: all(s.baseline_done for s in store.sources()), timeout=15)
        a = rss(
            [
                (
                    title,
                    "https://a.example.cn/2026/1.html",
                    "a1",
                    "".join(f"<p>{p}</p>" for p in paragraphs),
                )
            ],
            title="边疆日报",
        )
        b = rss(
            [(t2, "https://b.example.cn/2026/9.html", "b9", "".join(f"<p>{p}</p>" for p in p2))],
            title="天山网",
        )
        site.add("/a.xml", a)
        site.add("/b.xml", b)
        for source in store.sources():  # both due now: one round takes both
            store.update_source(source.id, next_due=0.0)
        (pushed,) = await env.fake.wait_for_messages(READER, 1, timeout=15)
        assert "另见：" in pushed.text
        await env.say("/help", chat=READER)
        article_id = store.latest(1)[0].id
        (card,) = await env.say(f"/article {article_id}", chat=READER)
        assert "另见：" in card.text
    assert len(env.fake.messages_to(READER)) == 3  # the story once, /help, /article


async def test_admins_are_told_when_a_source_is_disabled(site, db: Path) -> None:
    import time

    site.add("/down.xml", "maintenance", status=503)
    with Store(db) as store:
        source = store.add_source(site.url("/down.xml"), "feed", "坏掉的源", time.time())
        store.update_source(
            source.id, failures=9, failing_since=time.time() - 4 * 86400, next_due=2e9
        )
    async with running_bot(db, admins=frozenset({ADMIN}), source_poll_seconds=0.3) as env:
        env.fake.add_chat(ADMIN, "private")
        env.store.update_source(source.id, next_due=0.0)
        (notice,) = await env.fake.wait_for_messages(ADMIN, 1, timeout=15)
        assert "坏掉的源" in notice.text and "已停用" in notice.text and "HTTP 503" in notice.text
        assert env.store.get_source(source.id).status == "disabled"


async def test_a_later_repost_adds_its_source_to_the_sent_message(site, db: Path) -> None:
    from benchmarks.stories_quality import reposts

    from .test_sources import rss
    from .test_stories import ORIGINAL

    title, paragraphs = ORIGINAL
    (t2, p2), *_ = reposts(title, paragraphs)
    site.add("/a.xml", rss([], title="边疆日报"))
    site.add("/b.xml", rss([], title="天山网"))
    async with running_bot(db, admins=frozenset({ADMIN})) as env:
        env.fake.add_chat(READER, "private")
        await env.say(f"/source add {site.url('/a.xml')}", chat=ADMIN)
        await env.say(f"/source add {site.url('/b.xml')}", chat=ADMIN)
        await env.say("/source check 1", chat=ADMIN)
        await env.say("/source check 2", chat=ADMIN)  # both baselines: empty
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        site.add(
            "/a.xml",
            rss([(title, "https://a.example.cn/2026/1.html", "a1", body)], title="边疆日报"),
        )
        await env.say("/source check 1", chat=ADMIN)
        (pushed,) = await env.fake.wait_for_messages(READER, 1, timeout=15)
        assert "另见" not in pushed.text
        await env.fake.wait_for(lambda: Ledger(env.store).rows(status=Status.SENT), timeout=10)
        body2 = "".join(f"<p>{p}</p>" for p in p2)
        site.add(
            "/b.xml", rss([(t2, "https://b.example.cn/2026/9.html", "b9", body2)], title="天山网")
        )
        await env.say("/source check 2", chat=ADMIN)
        edited = await env.fake.wait_for(
            lambda: next(
                (m for m in env.fake.messages_to(READER, include_edits=True) if m.edited), None
            ),
            timeout=10,
        )
        assert "另见：天山网" in edited.text and edited.message_id == pushed.message_id
        assert edited.buttons() == pushed.buttons()  # the card keeps its button
    assert len(env.fake.messages_to(READER)) == 1  # the repost was not sent again
