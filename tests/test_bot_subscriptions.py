"""End to end over HTTP: subscriptions in private chats, groups and channels; admin checks;
membership changes; supergroup migration; settings."""

from __future__ import annotations

from bot.buttons import SetMode, encode

from .botkit import USER

GROUP = -100200
ADMIN, MEMBER = 7001, 7002
DAILY_8 = encode(SetMode("daily 08:00"))


async def test_subscribe_everything_and_with_filters(bot) -> None:
    (reply,) = await bot.say("/subscribe")
    assert "全部新文章" in reply.text
    (reply,) = await bot.say("/subscribe 第一书记 喀什 daily 07:30")
    assert "第一书记" in reply.text and "喀什地区" in reply.text and "07:30" in reply.text
    subs = bot.store.subscriptions(USER)
    assert [s.keywords for s in subs] == [[], ["第一书记"]]
    assert subs[1].regions == ["653100"] and subs[1].mode == "daily 07:30"
    assert subs[1].since_seq == bot.store.max_seq()  # only articles added after now
    (reply,) = await bot.say("/subscribe 喀什 第一书记")
    assert "已经有相同的订阅" in reply.text
    assert len(bot.store.subscriptions(USER)) == 2


async def test_subscriptions_list_and_remove_button(bot) -> None:
    await bot.say("/subscribe 兵团")
    await bot.say("/subscribe 棉花")
    (listing,) = await bot.say("/subscriptions")
    assert "1. 新疆生产建设兵团" in listing.text and "2. 棉花" in listing.text
    await bot.press(listing, listing.buttons()[0]["callback_data"])
    assert [s.keywords for s in bot.store.subscriptions(USER)] == [["棉花"]]
    assert "兵团" not in bot.fake.message(USER, listing.message_id)["text"]


async def test_unsubscribe_by_number_and_all(bot) -> None:
    for words in ("兵团", "棉花", "喀什"):
        await bot.say(f"/subscribe {words}")
    (reply,) = await bot.say("/unsubscribe 2")
    assert "1" in reply.text
    assert [s.keywords for s in bot.store.subscriptions(USER)] == [[], []]
    (reply,) = await bot.say("/unsubscribe 9")
    assert "没有找到" in reply.text
    (reply,) = await bot.say("/unsubscribe all")
    assert bot.store.subscriptions(USER) == []


async def test_group_non_admin_is_refused_admin_allowed(bot) -> None:
    bot.fake.add_chat(GROUP, "supergroup", title="测试群")
    bot.fake.set_admin(GROUP, ADMIN, "administrator")
    bot.fake.set_admin(GROUP, MEMBER, "member")
    (reply,) = await bot.group(GROUP, "/subscribe 兵团", user_id=MEMBER)
    assert "只有本群管理员" in reply.text
    assert bot.store.subscriptions(GROUP) == []
    (reply,) = await bot.group(GROUP, "/subscribe@digest_test_bot 兵团", user_id=ADMIN)
    assert "已订阅" in reply.text
    assert len(bot.store.subscriptions(GROUP)) == 1
    (reply,) = await bot.group(GROUP, "/unsubscribe all", user_id=MEMBER)
    assert "只有本群管理员" in reply.text and len(bot.store.subscriptions(GROUP)) == 1
    # anyone may search
    (reply,) = await bot.group(GROUP, "/search 兵团", user_id=MEMBER)
    assert "共" in reply.text
    # the admin status is cached: getChatMember asked once per user
    calls = [
        c for c in bot.fake.calls_of("getChatMember") if str(c.params.get("user_id")) == str(MEMBER)
    ]
    assert len(calls) == 1


async def test_channel_post_subscribes_the_channel(bot) -> None:
    channel = -100300
    before = len(bot.fake.messages_to(channel))
    bot.fake.channel_post(channel, "/subscribe 兵团", username="xjnews")
    (reply,) = (await bot.fake.wait_for_messages(channel, before + 1))[before:]
    assert "已订阅" in reply.text
    chat = bot.store.get_chat(channel)
    assert chat.type == "channel" and chat.username == "xjnews"
    assert len(bot.store.subscriptions(channel)) == 1


async def test_channel_subscription_from_private_chat(bot) -> None:
    channel = -100400
    bot.fake.add_chat(channel, "channel", title="新闻频道", username="xjdaily")
    bot.fake.set_admin(channel, ADMIN, "administrator", can_post_messages=True)
    (reply,) = await bot.say("/subscribe @xjdaily 棉花", chat=MEMBER)
    assert "只有频道" in reply.text and bot.store.subscriptions(channel) == []
    (reply,) = await bot.say("/subscribe @xjdaily 棉花", chat=ADMIN)
    assert "@xjdaily" in reply.text and "已订阅" in reply.text
    assert [s.keywords for s in bot.store.subscriptions(channel)] == [["棉花"]]
    (reply,) = await bot.say("/subscribe @nosuchchannel", chat=ADMIN)
    assert "找不到频道" in reply.text


async def test_channel_where_bot_cannot_post(bot) -> None:
    channel = -100500
    bot.fake.add_chat(
        channel, "channel", title="别的频道", username="otherchan", bot_status="member"
    )
    bot.fake.set_admin(channel, ADMIN, "creator")
    (reply,) = await bot.say("/subscribe @otherchan", chat=ADMIN)
    assert "我还不能在频道" in reply.text
    assert bot.store.subscriptions(channel) == []


async def test_blocked_bot_pauses_and_unblock_resumes(bot) -> None:
    await bot.say("/subscribe 兵团")
    bot.fake.my_chat_member(USER, "member", "kicked")
    await bot.fake.wait_for(lambda: bot.store.get_chat(USER).status == "paused", timeout=10)
    assert bot.store.get_chat(USER).status_reason == "blocked"
    assert bot.store.active_subscriptions() == []
    bot.fake.my_chat_member(USER, "kicked", "member")
    await bot.fake.wait_for(lambda: bot.store.get_chat(USER).status == "active", timeout=10)
    assert len(bot.store.active_subscriptions()) == 1


async def test_bot_removed_from_group_pauses(bot) -> None:
    bot.fake.add_chat(GROUP, "supergroup", title="测试群")
    bot.fake.set_admin(GROUP, ADMIN, "creator")
    await bot.group(GROUP, "/subscribe 兵团", user_id=ADMIN)
    bot.fake.my_chat_member(GROUP, "member", "left")
    await bot.fake.wait_for(lambda: bot.store.get_chat(GROUP).status == "paused", timeout=10)
    assert bot.store.get_chat(GROUP).status_reason == "removed"


async def test_group_upgraded_to_supergroup_keeps_subscriptions(bot) -> None:
    old, new = -4321, -1004321
    bot.fake.add_chat(old, "group", title="小群")
    bot.fake.set_admin(old, ADMIN, "creator")
    await bot.group(old, "/subscribe 棉花", user_id=ADMIN)
    bot.fake.migrate_group(old, new)
    await bot.fake.wait_for(lambda: bool(bot.store.subscriptions(new)), timeout=10)
    assert bot.store.subscriptions(old) == []
    assert bot.store.get_chat(new).type == "supergroup"
    assert [s.keywords for s in bot.store.subscriptions(new)] == [["棉花"]]


async def test_settings_mode_changes_subscriptions(bot) -> None:
    await bot.say("/subscribe 兵团")
    (reply,) = await bot.say("/settings")
    await bot.press(reply, DAILY_8)
    assert bot.store.get_chat(USER).mode == "daily 08:00"
    assert bot.store.subscriptions(USER)[0].mode == "daily 08:00"
    (reply,) = await bot.say("/settings en instant")
    assert "Delivery: instant" in reply.text
    assert bot.store.get_chat(USER).language == "en"


async def test_group_settings_need_admin(bot) -> None:
    bot.fake.add_chat(GROUP, "supergroup", title="测试群")
    bot.fake.set_admin(GROUP, MEMBER, "member")
    (reply,) = await bot.group(GROUP, "/settings daily 09:00", user_id=MEMBER)
    assert "只有本群管理员" in reply.text
    (reply,) = await bot.group(GROUP, "/settings", user_id=MEMBER)
    answered = len(bot.fake.answers)
    bot.fake.callback(reply, DAILY_8, user_id=MEMBER)
    await bot.fake.wait_for(lambda: len(bot.fake.answers) > answered, timeout=10)
    assert bot.store.get_chat(GROUP) is None or bot.store.get_chat(GROUP).mode == "instant"
