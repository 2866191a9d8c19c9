"""End to end over HTTP: /start, /help, /search, plain text, /region, /regions, /latest, /article,
inline mode, paging buttons, languages, long and hostile input."""

from __future__ import annotations

import base64

from bot.lookup import decode_payload

from .botkit import USER
from .conftest import GRASSROOTS_TITLE, PARTY_TITLE


def bold_texts(message) -> list[str]:
    units = (message.text or "").encode("utf-16-le")
    return [
        units[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
        for e in message.entities
        if e["type"] == "bold"
    ]


async def test_commands_menu_published_in_both_languages(bot) -> None:
    zh = bot.fake.commands_for("default", "")
    en = bot.fake.commands_for("default", "en")
    assert zh and en
    assert {c["command"] for c in zh} >= {"search", "region", "subscribe", "settings"}
    assert next(c for c in zh if c["command"] == "search")["description"] == "关键词搜索"
    assert next(c for c in en if c["command"] == "search")["description"] == "Keyword search"


async def test_start_and_help(bot) -> None:
    (reply,) = await bot.say("/start")
    assert "/search" in reply.text and "文章摘要机器人" in reply.text
    assert reply.link_preview_options == {"is_disabled": True}
    (reply,) = await bot.say("/help")
    assert "@digest_test_bot" in reply.text


async def test_search_first_result_and_bold_snippet(bot) -> None:
    (reply,) = await bot.say("/search 第一书记")
    assert reply.text.split("\n")[2].endswith(GRASSROOTS_TITLE)
    assert "第一书记" in bold_texts(reply)
    assert reply.parse_mode == "HTML"
    assert any(b["callback_data"].startswith("a:") for b in reply.buttons())


async def test_plain_text_in_private_chat_searches(bot) -> None:
    (reply,) = await bot.say("第一书记")
    assert GRASSROOTS_TITLE in reply.text


async def test_plain_text_in_group_is_ignored_but_commands_work(bot) -> None:
    assert await bot.unanswered("第一书记", -100123, chat_type="supergroup") == []
    (reply,) = await bot.group(-100123, "/search@digest_test_bot 第一书记")
    assert GRASSROOTS_TITLE in reply.text
    (reply,) = await bot.group(-100123, "/search 第一书记")
    assert GRASSROOTS_TITLE in reply.text


async def test_paging_edits_the_same_message(bot) -> None:
    (reply,) = await bot.say("/search 棉花")
    assert "共 12 篇，第 1–5 篇" in reply.text
    next_button = next(b for b in reply.buttons() if b["text"].startswith("下一页"))
    await bot.press(reply, next_button["callback_data"])
    edited = bot.fake.message(USER, reply.message_id)
    assert "第 6–10 篇" in edited["text"]
    assert len(bot.fake.messages_to(USER)) == 1  # edited, not a new message
    buttons = [b["text"] for row in edited["reply_markup"]["inline_keyboard"] for b in row]
    assert any(t.startswith("‹") for t in buttons) and any(t.startswith("下一页") for t in buttons)


async def test_open_article_and_full_summary(bot) -> None:
    (reply,) = await bot.say("/search 第一书记")
    opener = reply.buttons()[0]["callback_data"]
    before = len(bot.fake.messages_to(USER))
    await bot.press(reply, opener)
    card = (await bot.fake.wait_for_messages(USER, before + 1))[-1]
    assert card.text.startswith(GRASSROOTS_TITLE)
    assert "关键词：" in card.text and "地区：" in card.text
    assert card.text.count("· ") >= 3
    await bot.press(card, card.buttons()[0]["callback_data"])
    full = (await bot.fake.wait_for_messages(USER, before + 2))[-1]
    assert full.text.count("\n· ") > card.text.count("\n· ")


async def test_region_kashgar_finds_shache_article(bot) -> None:
    (reply,) = await bot.say("/region 喀什")
    assert "喀什地区" in reply.text and GRASSROOTS_TITLE in reply.text
    # the narrower 喀什市 is offered as a button
    assert any("喀什市" in b["text"] for b in reply.buttons())


async def test_region_ili_contains_altay(bot) -> None:
    (reply,) = await bot.say("/region 伊犁")
    assert "阿勒泰牧民转场" in reply.text and GRASSROOTS_TITLE in reply.text


async def test_region_xpcc_division_and_corps(bot) -> None:
    (reply,) = await bot.say("/region 六师")
    assert PARTY_TITLE in reply.text and GRASSROOTS_TITLE not in reply.text
    (reply,) = await bot.say("/region 兵团")
    assert PARTY_TITLE in reply.text


async def test_ambiguous_region_offers_choices(bot) -> None:
    (reply,) = await bot.say("/region 海南")
    labels = [b["text"] for b in reply.buttons()]
    assert any("海南省" in t for t in labels) and any("海南藏族自治州" in t for t in labels)
    choice = next(b for b in reply.buttons() if "海南藏族自治州" in b["text"])
    await bot.press(reply, choice["callback_data"])
    assert "海南藏族自治州" in bot.fake.message(USER, reply.message_id)["text"]


async def test_unknown_region_suggests(bot) -> None:
    (reply,) = await bot.say("/region 喀十")
    assert "没有找到地名" in reply.text
    assert any("喀什" in b["text"] for b in reply.buttons())


async def test_double_tapped_button_is_quietly_answered(bot) -> None:
    """The second tap asks for the page already shown: Telegram answers "message is not
    modified", which must neither raise (botkit fails on handler errors) nor send anything."""
    (reply,) = await bot.say("/search 棉花")
    next_button = next(b for b in reply.buttons() if b["text"].startswith("下一页"))
    answered = len(bot.fake.answers)
    for _ in range(2):  # both taps reach the bot before it edits the message
        bot.fake.callback(reply, next_button["callback_data"], language_code="zh-hans")
    await bot.fake.wait_for(lambda: len(bot.fake.answers) == answered + 2, timeout=10)
    assert "第 6–10 篇" in bot.fake.message(USER, reply.message_id)["text"]
    assert len(bot.fake.messages_to(USER)) == 1


async def test_regions_browser_walks_the_tree_with_counts(bot) -> None:
    (reply,) = await bot.say("/regions")
    xinjiang = next(b for b in reply.buttons() if b["text"].startswith("新疆"))
    assert xinjiang["text"].endswith(f"({bot.store.region_counts(['650000'])['650000']})")
    await bot.press(reply, xinjiang["callback_data"])
    view = bot.fake.message(USER, reply.message_id)
    buttons = {
        b["text"]: b["callback_data"]
        for row in view["reply_markup"]["inline_keyboard"]
        for b in row
    }
    kashgar = next(k for k in buttons if k.startswith("喀什"))
    await bot.press(reply, buttons[kashgar])
    view = bot.fake.message(USER, reply.message_id)
    labels = [b["text"] for row in view["reply_markup"]["inline_keyboard"] for b in row]
    assert any(t.startswith("莎车") and t.endswith("(1)") for t in labels)
    assert "新疆维吾尔自治区 › 喀什地区" in view["text"]


async def test_latest_and_article_command(bot) -> None:
    (reply,) = await bot.say("/latest")
    assert "一篇很长的文章" in reply.text  # the newest
    art = bot.store.latest(1)[0]
    replies = await bot.say(f"/article {bot.store.get(str(bot.store.latest(20)[-1].seq)).id}")
    assert replies[0].text.startswith(PARTY_TITLE)
    (missing,) = await bot.say("/article nope<b>")
    assert "nope<b>" in missing.text
    assert art.title


async def test_long_article_card_is_split_under_4096(bot) -> None:
    long_article = next(a for a in bot.store.latest(20) if a.title == "一篇很长的文章")
    replies = await bot.say(f"/article {long_article.id}", n=2)
    assert all(len(m.text) <= 4096 for m in replies)
    assert "长" * 100 in replies[0].text


async def test_hostile_input_is_escaped_and_answered(bot) -> None:
    for text in [
        "<b>&",
        "/search <i>x</i> & 'y' \"z",
        '/search "棉花 OR * NEAR(',
        "/search 🌾 棉花 🚜",
    ]:
        (reply,) = await bot.say(text)
        assert reply.text
    (reply,) = await bot.say("棉花" * 2500)  # 5,000 characters
    assert "查询太长" in reply.text and len(reply.text) <= 4096


async def test_stop_word_query_is_refused_in_chinese(bot) -> None:
    (reply,) = await bot.say("/search 的")
    assert "很常见的词" in reply.text and "common" not in reply.text  # in the user's language


async def test_english_user(bot) -> None:
    (reply,) = await bot.say("/start", chat=6001, language_code="en")
    assert "Hello" in reply.text
    (reply,) = await bot.say("/search 第一书记", chat=6001, language_code="en")
    assert "articles" in reply.text and "Next" not in reply.text


async def test_settings_language_button(bot) -> None:
    (reply,) = await bot.say("/settings")
    assert "语言：中文" in reply.text
    await bot.press(reply, "s:lang:en")
    assert "Language: English" in bot.fake.message(USER, reply.message_id)["text"]
    (reply,) = await bot.say("/start")
    assert "Hello" in reply.text


async def test_deep_links(bot) -> None:
    (reply,) = await bot.say("/start region-喀什")
    assert GRASSROOTS_TITLE in reply.text
    payload = base64.urlsafe_b64encode("第一书记".encode()).decode().rstrip("=")
    (reply,) = await bot.say(f"/start search-{payload}")
    assert GRASSROOTS_TITLE in reply.text


async def test_inline_mode(bot) -> None:
    answered = len(bot.fake.answers)
    bot.fake.inline_query(USER, "棉花")
    await bot.fake.wait_for(lambda: len(bot.fake.answers) > answered, timeout=10)
    answer = bot.fake.answers[-1]
    results = answer["results"]
    assert len(results) == 10 and all(r["title"].startswith("兵团棉花新闻") for r in results)
    assert answer["next_offset"] == "10"


async def test_inline_mode_explains_an_empty_answer(bot) -> None:
    """A query that finds nothing, or cannot be read, answers with the reason on the button above
    the (empty) list, which opens the private chat with the same search; never a bare empty list."""
    for query, found_nothing in (("火星殖民地计划", True), ("-棉花", False)):
        answered = len(bot.fake.answers)
        bot.fake.inline_query(USER, query)
        await bot.fake.wait_for(lambda n=answered: len(bot.fake.answers) > n, timeout=10)
        answer = bot.fake.answers[-1]
        assert answer["results"] == []
        button = answer["button"]
        assert button is not None and button["text"].strip()
        assert "<" not in button["text"] and len(button["text"]) <= 64
        assert button["text"].startswith("No articles match") is found_nothing  # USER speaks English
        kind, value = decode_payload(button["start_parameter"]) or ("", "")
        assert (kind, value) == ("search", query)
