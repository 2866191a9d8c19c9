"""Bad /subscribe and /settings input is refused with one clear line in the user's language;
nothing is subscribed or changed, and a filter that fails to parse never widens to everything."""

from __future__ import annotations

import pytest

from digests.errors import DigestError, FilterError
from digests.regions import load_gazetteer
from digests.subscriptions import parse_filters, parse_settings

from .botkit import USER


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("region:火星", "unknown_region"),
        ("棉花 region:火星", "unknown_region"),
        ("daily 25:00", "bad_time"),
        ("兵团 daily 99:99", "bad_time"),
        ("24:00", "bad_time"),
        ("kw:" + "长" * 40, "filter_too_long"),
        (" ".join(f"词{i}" for i in range(11)), "filter_too_many"),
    ],
)
def test_bad_filters_raise_instead_of_widening(words: str, code: str) -> None:
    with pytest.raises(DigestError) as info:  # FilterError, or modes.SettingError for times
        parse_filters(words.split(), load_gazetteer())
    assert info.value.code == code


def test_unknown_region_offers_the_nearest_names() -> None:
    with pytest.raises(FilterError) as info:
        parse_filters(["region:和阗"], load_gazetteer())
    assert info.value.values["suggestions"], "nearest gazetteer names"


def test_good_filters_and_settings_still_parse() -> None:
    request = parse_filters(["kw:火星", "region:喀什", "daily", "7:05"], load_gazetteer())
    assert request.keywords == ["火星"] and request.regions == ["653100"]
    assert str(request.mode) == "daily 07:05"
    assert parse_settings(["en", "daily", "09:30"]) == {"mode": "daily 09:30", "language": "en"}
    assert parse_settings(["English", "tz", "+8"]) == {"language": "en", "timezone": "UTC+08:00"}
    for words, code in (
        (["fr"], "bad_setting"),
        (["daily", "99:99"], "bad_time"),
        (["en", "tz", "Mars/Olympus"], "bad_timezone"),
    ):
        with pytest.raises(DigestError) as info:
            parse_settings(words)
        assert info.value.code == code


async def test_unknown_region_refuses_the_subscription_with_suggestions(bot) -> None:
    (reply,) = await bot.say("/subscribe region:火星")
    assert reply.text.startswith("没有订阅。") and "火星" in reply.text
    assert "region:" in reply.text.split("\n")[1]  # did you mean: region:…
    assert "kw:火星" in reply.text
    assert "全部新文章" not in reply.text and "unknown" not in reply.text
    assert bot.store.subscriptions(USER) == []
    (reply,) = await bot.say("/subscribe region:火星", chat=6002, language_code="en")
    assert reply.text.startswith("Nothing subscribed.") and "kw:火星" in reply.text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/subscribe daily 25:00", "时间格式不对：25:00"),
        ("/subscribe 棉花 每日 8:61", "时间格式不对：8:61"),
        ("/settings daily 99:99", "时间格式不对：99:99"),
        ("/settings fr", "无法识别的设置：fr"),
    ],
)
async def test_bad_times_and_settings_get_one_clear_line(bot, command: str, expected: str) -> None:
    (reply,) = await bot.say(command)
    assert expected in reply.text and "\n" not in reply.text.removeprefix("没有订阅。")
    assert bot.store.subscriptions(USER) == []
    chat = bot.store.get_chat(USER)
    assert chat is None or (chat.mode == "instant" and chat.language in (None, "zh"))


async def test_bad_setting_in_english(bot) -> None:
    (reply,) = await bot.say("/settings fr", chat=6003, language_code="en")
    assert reply.text.startswith("Unknown setting: fr.")


async def test_unknown_command_is_answered_once(bot) -> None:
    (reply,) = await bot.say("/nosuch 1 2")
    assert reply.text == "没有 /nosuch 这个命令，发送 /help 查看可用的命令。"
    assert len(await bot.unanswered("/regions", USER)) == 1


async def test_unknown_command_in_groups_only_when_addressed(bot) -> None:
    group = -100900
    bot.fake.add_chat(group, "supergroup", title="群")
    assert await bot.unanswered("/othercmd@some_other_bot", group) == []
    assert await bot.unanswered("/othercmd", group) == []
    (reply,) = await bot.group(group, "/othercmd@digest_test_bot")
    assert "/othercmd@digest_test_bot" in reply.text and "/help" in reply.text
