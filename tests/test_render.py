"""HTML rendering and message splitting (every part ≤ 4096 and valid Telegram HTML)."""

from __future__ import annotations

import pytest

from bot.render import esc, render_article, split_message
from digests.models import Article
from fakebotapi import parse_html


def article(**kw) -> Article:
    base = dict(
        id="abc", title="<b>标题</b> & 'x'", paragraphs=["段落。"], summary=["第一句 <i>。", "第二句 &amp;。"],
        keywords=["关键<词>"], regions={}, added_at="2026-11-25T08:00:00+00:00", content_hash="h",
        url='https://example.org/a?x=1&y="2"', source="新华社",
    )  # fmt: skip
    base.update(kw)
    return Article(**base)


def test_every_article_string_is_escaped() -> None:
    html = render_article(article(), "zh", ["喀什地区 <x>"])
    text, entities = parse_html(html)  # raises on invalid HTML, like Telegram
    assert "<b>标题</b> & 'x'" in text
    assert "第二句 &amp;。" in text and "关键<词>" in text and "喀什地区 <x>" in text
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"].startswith("https://example.org/a?x=1&y=")


@pytest.mark.parametrize("size", [4097, 9000, 20000])
def test_split_long_text_into_valid_parts(size: int) -> None:
    blocks = [f"<b>{esc('标题<' + str(i))}</b>\n" + esc("内容&" * 40) for i in range(size // 100)]
    text = "\n\n".join(blocks)
    parts = split_message(text)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= 4096
        parse_html(part)
    assert "\n\n".join(parts) == text  # nothing lost, blocks kept whole


def test_split_one_huge_line_cuts_outside_entities() -> None:
    text = "<b>标题</b>\n\n" + esc("长&<" * 3000)
    parts = split_message(text)
    assert all(len(p) <= 4096 for p in parts)
    for part in parts:
        parse_html(part)
    assert "".join(p.replace("\n", "") for p in parts) == text.replace("\n", "")


def test_short_text_is_one_part() -> None:
    assert split_message("短") == ["短"]
