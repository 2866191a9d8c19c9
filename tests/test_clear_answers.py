"""Input that used to end in the generic error gets a specific answer: numbers beyond SQLite's
range, digits that are no numbers (² ①), a database that is not one (empty, garbage)."""

from __future__ import annotations

from digests.store import Store

from .botkit import USER

GENERIC = "出了点问题"


def test_ids_beyond_sqlite_or_not_numbers_are_not_found(store: Store) -> None:
    for ident in ("99999999999999999999", "²", "①", "１２３"):
        assert store.get(ident) is None
    assert store.latest(5, offset=10**30) == []
    assert store.fts_search("兵团", 5, 10**30) == []


async def test_article_with_a_huge_or_odd_number_is_not_found(bot) -> None:
    for ident in ("99999999999999999999", "²", "①"):
        (reply,) = await bot.say(f"/article {ident}")
        assert GENERIC not in reply.text and ident in reply.text


async def test_unsubscribe_with_a_superscript_digit_gets_the_usage(bot) -> None:
    await bot.say("/subscribe 棉花")
    for arg in ("²", "①", "99999999999999999999"):
        replies = await bot.say(f"/unsubscribe {arg}")
        assert all(GENERIC not in r.text for r in replies)
    assert len(bot.store.subscriptions(USER)) == 1


async def test_a_huge_inline_offset_is_an_empty_page(bot) -> None:
    answered = len(bot.fake.answers)
    bot.fake.inline_query(USER, "棉花", offset="9" * 30)
    await bot.fake.wait_for(lambda: len(bot.fake.answers) > answered, timeout=10)
    assert bot.fake.answers[-1]["results"] == []
