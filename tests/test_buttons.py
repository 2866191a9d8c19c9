"""Callback data: every button round-trips through ``bot.buttons``; forged or stale data is
refused there, and the running bot answers such a press with a clear alert."""

from __future__ import annotations

import pytest

from bot import buttons
from bot.buttons import Browse, OpenArticle, Page, SetLanguage, SetMode, Unsubscribe

from .botkit import USER

EVERY_KIND = [
    OpenArticle("a15a60a554419481"),
    OpenArticle("a15a60a554419481", full=True),
    Page("s", "1f", 0),
    Page("s", "abc", 95),
    Page("r", "653100", 5),
    Page("r", "X01-10", 10),
    Page("l", "", 20),
    Browse(""),
    Browse("650000"),
    Unsubscribe(42),
    SetLanguage("zh"),
    SetLanguage("en"),
    SetMode("instant"),
    SetMode("daily 08:00"),
    SetMode("daily 23:59"),
]


@pytest.mark.parametrize("button", EVERY_KIND, ids=repr)
def test_every_button_round_trips_within_64_bytes(button: buttons.Button) -> None:
    data = buttons.encode(button)
    assert len(data.encode("utf-8")) <= 64
    assert buttons.parse(data) == button


@pytest.mark.parametrize(
    "data",
    [
        "", "x", "a:", "a:../../etc", "a:" + "0" * 41, "f:id with space",
        "p:s:zz:0", "p:s:1f:-1", "p:s:1f:01", "p:s:1f:1e3", "p:s:1f:100001", "p:s:1f",
        "p:r:六师:0", "p:r:653100:x", "p:l:0:5", "p:q:1:0", "p:l:",
        "g:<b>", "u:", "u:0", "u:-3", "u:abc", "u:99999999999999999999",
        "s:lang:fr", "s:lang:", "s:mode:weekly", "s:mode:daily 08:00", "s:mode:daily:25:00",
        "s:mode:daily:99:99", "s:mode:daily:8:00", "s:mode:daily:08", "s:other:1",
        "a:" + "a" * 70,
    ],
)  # fmt: skip
def test_forged_or_stale_data_is_refused(data: str) -> None:
    assert buttons.parse(data) is None


def test_encode_refuses_values_that_would_not_parse() -> None:
    for bad in (Page("s", "1f", -5), SetMode("daily 25:00"), Unsubscribe(0), Browse("<b>")):
        with pytest.raises(ValueError):
            buttons.encode(bad)


async def test_bot_answers_a_forged_button_with_an_alert(bot) -> None:
    (reply,) = await bot.say("/search 棉花")
    for data in ("p:s:zz:-1", "u:abc", "s:mode:daily:25:00", "g:nowhere!", "x:1"):
        await bot.press(reply, data, strict=False)
        answer = bot.fake.answers[-1]
        assert answer["show_alert"] and "按钮已失效" in answer["text"], data
    assert bot.store.get_chat(USER) is None or bot.store.get_chat(USER).mode == "instant"


async def test_unknown_region_code_in_a_wellformed_button_is_refused(bot) -> None:
    (reply,) = await bot.say("/regions")
    await bot.press(reply, buttons.encode(Browse("999999")), strict=False)
    assert "按钮已失效" in bot.fake.answers[-1]["text"]


def test_source_buttons_round_trip_and_forgeries_are_refused() -> None:
    from bot.buttons import SourceAction

    for action in ("p", "r", "c", "x"):
        data = buttons.encode(SourceAction(action, 7))
        assert buttons.parse(data) == SourceAction(action, 7) and buttons.is_source(data)
    for data in ("src:z:1", "src:p:0", "src:p:-1", "src:p:x", "src:p", "src:p:1:2"):
        assert buttons.parse(data) is None and not buttons.is_source(data)
