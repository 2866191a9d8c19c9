"""Feed parsing: RSS 0.9x/1.0/2.0, Atom, JSON Feed, GBK, broken XML, entity bombs, discovery."""

from __future__ import annotations

import time

import pytest

from digests.charsets import declared_encoding, decode_body
from digests.feeds import NotAFeed, discover_feeds, item_key, normalise_link, parse_feed, strip_html

from .feedserver import DATA

FEEDS = DATA / "feeds"


def test_rss20_items_titles_without_html_and_ttl():
    feed = parse_feed((FEEDS / "rss20.xml").read_bytes(), url="https://news.example.cn/rss")
    assert feed.title == "边疆日报·要闻" and feed.ttl_minutes == 60 and feed.problem is None
    assert feed.items[0].title == "喀什地区棉花采收进度过半"
    first = feed.items[0]
    assert first.guid == "bj-10001" and len(first.paragraphs) == 2
    assert (
        first.published is not None and first.published.isoformat() == "2026-11-30T00:00:00+00:00"
    )


def test_atom_rss10_and_json_feed():
    atom = parse_feed((FEEDS / "atom.xml").read_bytes())
    assert atom.title == "兵团新闻网" and len(atom.items) == 2
    assert atom.items[0].link == "https://bingtuan.example.cn/2026-11/30/c_20001.htm"
    rdf = parse_feed((FEEDS / "rss10.rdf").read_bytes())
    assert rdf.kind == "rss10" and rdf.items[0].title == "伊犁河谷迎来今冬首场降雪"
    js = parse_feed((FEEDS / "feed.json").read_bytes(), content_type="application/feed+json")
    assert js.kind == "json" and [i.guid for i in js.items] == ["j-40001", "j-40002"]
    assert js.items[1].paragraphs == [
        "福海县乌伦古湖冬捕节将于十二月中旬举行。",
        "目前各项筹备工作有序推进，渔工队伍已经集结完毕，冰面安全检测同步开展。",
    ]


def test_rss091_is_read():
    body = """<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
    "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>旧版</title>
    <item><title>石河子大学举办学术年会</title><link>https://old.example.cn/1.html</link>
    <description>石河子大学第十届学术年会开幕。</description></item></channel></rss>""".encode()
    feed = parse_feed(body)
    assert feed.kind == "rss091u" or feed.kind.startswith("rss09")
    assert feed.items[0].title == "石河子大学举办学术年会"


@pytest.mark.parametrize("declare", ["prolog", "header", "nowhere"])
@pytest.mark.parametrize("codec", ["gbk", "gb2312", "gb18030"])
def test_gb_encodings_wherever_declared(declare, codec):
    text = (FEEDS / "rss20.xml").read_text("utf-8")
    if declare == "prolog":
        text = text.replace('encoding="utf-8"', f'encoding="{codec}"')
    else:
        text = text.replace(' encoding="utf-8"', "")
    body = text.encode("gb18030" if codec == "gb18030" else "gbk")
    feed = parse_feed(body, charset=codec if declare == "header" else None)
    assert feed.title == "边疆日报·要闻"
    assert feed.items[2].title == "和田地区冬季供暖工作全面启动"


def test_decoding_pages_with_meta_or_nothing():
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>喀什</body></html>'
    assert declared_encoding(page.encode("gbk")) == "gb18030"
    assert decode_body(page.encode("gbk"))[0].endswith("喀什</body></html>")
    bare = "<html><body>和田地区昆仑山下</body></html>".encode("gbk")
    assert decode_body(bare) == ("<html><body>和田地区昆仑山下</body></html>", "gb18030")


def test_broken_xml_keeps_what_parses():
    feed = parse_feed((FEEDS / "broken.xml").read_bytes())
    assert feed.problem and feed.problem.startswith("broken XML")
    titles = [i.title for i in feed.items]
    assert titles[0] == "塔城地区新建三座冬季牧民定居点"
    assert len(titles) == 2 and titles[1].startswith("额敏县开展冬季农田水利建设")


def test_no_entity_expansion():
    started = time.perf_counter()
    feed = parse_feed((FEEDS / "lol.xml").read_bytes())
    assert time.perf_counter() - started < 2
    assert "lollol" not in feed.title and len(feed.title) < 100
    item = feed.items[0]
    assert item.title.startswith("昌吉州举办冬季农民工专场招聘会")
    assert "lollol" not in "".join(item.paragraphs)
    assert item.title == "昌吉州举办冬季农民工专场招聘会"  # the external entity stayed empty


def test_html_is_not_a_feed_and_discovery():
    page = b"<html><head><title>x</title></head><body><p>hello</p></body></html>"
    with pytest.raises(NotAFeed):
        parse_feed(page)
    html = '<head><link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml"><link rel="stylesheet" href="/a.css"></head>'
    assert discover_feeds(html, "https://a.example.cn/news/") == ["https://a.example.cn/rss.xml"]


def test_identity_helpers():
    assert strip_html("<b>喀什</b>&amp;和田") == "喀什&和田"
    assert (
        normalise_link("HTTP://News.Example.cn/a.html?utm_source=rss&id=3#top")
        == "https://news.example.cn/a.html?id=3"
    )
    assert item_key("g1", "https://a/1", "t", []) == "g:g1"
    assert item_key(None, "https://a/1?utm_medium=x", "t", []) == "l:https://a/1"
    assert item_key(None, None, "t", ["p"]).startswith("h:")
