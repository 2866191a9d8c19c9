"""Full text from the recorded CMS pages: every page's body comes out whole, without the title,
bylines, share bars, related links or comments; listing pages give their article links."""

from __future__ import annotations

import pytest

import digests.extract
from benchmarks.extraction import char_f1, load_pages
from digests.extract import MAX_ELEMENTS, article_links, extract_article, trim_boilerplate

PAGES = load_pages()


@pytest.mark.parametrize(("name", "page", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_body_is_extracted(name, page, expected):
    found = extract_article(page)
    _precision, recall, f1 = char_f1("\n".join(found.paragraphs), expected)
    assert recall > 0.99 and f1 > 0.97, (name, found.paragraphs)
    assert found.paragraphs[0] == expected.split("\n")[0] or f1 > 0.99
    assert len(found.paragraphs) >= 2  # paragraphs kept apart


def test_there_are_enough_pages_and_gbk_ones():
    assert len(PAGES) >= 15
    assert any(
        "gb2312" in page[:600].lower() or "gbk" in page[:600].lower() for _, page, _ in PAGES
    )


def test_trim_keeps_sentences_and_drops_edges():
    paragraphs = [
        "首页 > 新疆 > 正文", "标题在此", "2026-11-30 09:12:36 来源：新华网",
        "记者从喀什地区住房和城乡建设局了解到，今年地区共完成改造。", "第二段正文内容，说明了情况。",
        "【责任编辑：王晓明】", "分享到：微信微博",
    ]  # fmt: skip
    assert trim_boilerplate("标题在此", paragraphs) == paragraphs[3:5]


def test_listing_links():
    page = (
        "<html><body><div class='nav'><a href='/'>首页</a><a href='/news/'>新闻中心栏目</a></div>"
        "<ul><li><a href='/2026/11/30/c_1.html'>伊宁市新建三所幼儿园投入使用</a></li>"
        "<li><a href='https://other.example.com/2026/11/30/c_2.html'>别的网站的文章标题很长</a></li>"
        "<li><a href='/content_12345.htm'>霍城县薰衣草精油出口欧洲</a></li>"
        "<li><a href='javascript:void(0)'>没有地址的链接文字</a></li></ul></body></html>"
    )
    links = article_links(page, "https://ili.example.cn/list/")
    assert links == [
        ("https://ili.example.cn/2026/11/30/c_1.html", "伊宁市新建三所幼儿园投入使用"),
        ("https://ili.example.cn/content_12345.htm", "霍城县薰衣草精油出口欧洲"),
    ]


def test_hostile_markup_does_not_raise():
    for page in ["", "<html>", "\x00\x01", "<div>" * 5000, "<p>短</p>"]:
        found = extract_article(page)
        assert isinstance(found.paragraphs, list)


def test_a_page_of_too_many_elements_is_not_parsed(monkeypatch):
    # the polls share one extraction thread; gne's time grows with the square of a page's small
    # paragraphs (minutes for a 2 MB page of them), holding every other source's pages back
    parsed: list[str] = []

    def parser(name):
        def parse(page):
            parsed.append(name)
            return digests.extract.Extracted("", [])

        return parse

    for name in ("readability_extract", "gne_extract"):
        monkeypatch.setattr(digests.extract, name, parser(name))
    found = extract_article("<html><body>" + "<p>短</p>" * (MAX_ELEMENTS + 1) + "</body></html>")
    assert parsed == [] and found.paragraphs == []
