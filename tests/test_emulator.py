"""Tests of the local Telegram Bot API emulator, driven by a real PTB Bot and raw aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import warnings
from pathlib import Path

import aiohttp
import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import AIORateLimiter, Application, CommandHandler, ContextTypes

from fakebotapi import (
    ControlClient,
    ControlError,
    FakeTelegram,
    User,
    parse_html,
    utf16_len,
)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST-TOKEN"
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


@pytest.fixture
async def fake():
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram):
    client = telegram.Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
    async with client:
        yield client


def retry_seconds(err: RetryAfter) -> float:
    """``retry_after`` as seconds (int in PTB 22 unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def raw_call(fake: FakeTelegram, method: str, token: str = TOKEN, **params):
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.root_url}/bot{token}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


# ---------------------------------------------------------------- basics


async def test_get_me(bot: telegram.Bot, fake: FakeTelegram):
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "digest_test_bot"
    status, body = await raw_call(fake, "getMe")
    assert status == 200 and body["ok"] and body["result"]["id"] == 123456


async def test_get_updates_returns_injected_update_and_honours_offset(
    bot: telegram.Bot, fake: FakeTelegram
):
    fake.user_message(42, "/start")
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1
    message = updates[0].message
    assert message.text == "/start"
    assert message.chat.id == 42 and message.chat.type == "private"
    assert message.from_user.id == 42
    assert message.entities[0].type == "bot_command"
    # not confirmed yet: returned again
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [updates[0].update_id]
    # confirmed by offset: gone
    assert await bot.get_updates(offset=updates[0].update_id + 1) == ()
    assert fake.pending_updates == []


async def test_long_poll_waits_for_an_injected_update(bot: telegram.Bot, fake: FakeTelegram):
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for_call("getUpdates")
    assert not poll.done()
    fake.user_message(7, "hello")
    updates = await asyncio.wait_for(poll, 5)
    assert updates[0].message.text == "hello"


async def test_long_poll_times_out_with_empty_list(bot: telegram.Bot):
    loop = asyncio.get_running_loop()
    started = loop.time()
    updates = await bot.get_updates(timeout=1)
    assert updates == ()
    assert loop.time() - started >= 0.5  # it did wait instead of answering at once


async def test_allowed_updates_filters(bot: telegram.Bot, fake: FakeTelegram):
    fake.user_message(7, "text")
    fake.inline_query(7, "q")
    updates = await bot.get_updates(allowed_updates=["inline_query"])
    assert [u.inline_query.query for u in updates] == ["q"]


# ---------------------------------------------------------------- sending, HTML


async def test_send_message_html_entities_use_utf16_offsets(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    html = '😀 <b>粗体</b> and <a href="https://example.com/x">🔗 link</a> <code>c</code>'
    msg = await bot.send_message(42, html, parse_mode="HTML")
    assert msg.text == "😀 粗体 and 🔗 link c"
    by_type = {e.type: e for e in msg.entities}
    assert (by_type["bold"].offset, by_type["bold"].length) == (3, 2)
    link = by_type["text_link"]
    assert (link.offset, link.length) == (10, 7)
    assert link.url == "https://example.com/x"
    assert msg.parse_entity(link) == "🔗 link"
    assert msg.parse_entity(by_type["code"]) == "c"
    assert msg.from_user.id == fake.bot_id
    recorded = fake.messages_to(42)
    assert len(recorded) == 1
    assert recorded[0].raw_text == html and recorded[0].parse_mode == "HTML"
    assert recorded[0].text == msg.text


def test_parse_html_nested_pre_code_and_utf16():
    text, entities = parse_html('<pre><code class="language-py">𝔘 x</code></pre>')
    assert text == "𝔘 x"
    assert entities == [{"type": "pre", "offset": 0, "length": 4, "language": "py"}]
    assert utf16_len("𝔘") == 2


@pytest.mark.parametrize("html", ["<b>&", "<foo>bar</foo>", "<b>unclosed", "x < y", "<b>a</i>"])
async def test_invalid_html_is_rejected(bot: telegram.Bot, fake: FakeTelegram, html: str):
    fake.add_chat(42)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(42, html, parse_mode="HTML")
    assert fake.sent == []


async def test_html_error_messages_look_like_telegram(fake: FakeTelegram):
    fake.add_chat(42)
    _, body = await raw_call(fake, "sendMessage", chat_id=42, text="hi <foo>", parse_mode="HTML")
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": 'Bad Request: can\'t parse entities: Unsupported start tag "foo" at '
        "byte offset 3",
    }
    _, body = await raw_call(fake, "sendMessage", chat_id=42, text="<b>x", parse_mode="HTML")
    assert body["description"].endswith('Can\'t find end tag corresponding to start tag "b"')


async def test_length_limit(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    ok = await bot.send_message(42, "a" * 4096)
    assert len(ok.text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "a" * 4097)
    # markup does not count, only the visible text
    await bot.send_message(42, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "<b> </b>", parse_mode="HTML")


async def test_callback_data_limit(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(42, "hi", reply_markup=markup)


# ---------------------------------------------------------------- errors


async def test_blocked_kicked_and_unknown_chats(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    fake.block(42)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(42, "hi")
    fake.add_chat(-500, "group")
    fake.block(-500)
    with pytest.raises(Forbidden, match=r"(?i)kicked from the group chat"):
        await bot.send_message(-500, "hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hi")
    fake.group_message(-700, "hello", user_id=555)
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(555, "hi")


async def test_rate_limit_injection(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    fake.rate_limit_next(42, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "hi")
    assert retry_seconds(info.value) == 7
    await bot.send_message(42, "hi")  # only the next one


async def test_migrated_group(bot: telegram.Bot, fake: FakeTelegram):
    updates = fake.migrate_group(-100, -1001234567890)
    assert updates[0]["message"]["migrate_to_chat_id"] == -1001234567890
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-100, "hi")
    assert info.value.new_chat_id == -1001234567890
    msg = await bot.send_message(-1001234567890, "hi")
    assert msg.chat.type == "supergroup"


async def test_unknown_method_and_wrong_token(fake: FakeTelegram):
    status, body = await raw_call(fake, "fooBar")
    assert status == 400 and body["ok"] is False and "not found" in body["description"]
    status, body = await raw_call(fake, "getMe", token="999:WRONG")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    wrong = telegram.Bot("999:WRONG", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()


async def test_fail_next_injects_transient_errors(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    fake.fail_next("sendMessage", status=502, count=2)
    for _ in range(2):
        with pytest.raises(telegram.error.NetworkError):
            await bot.send_message(42, "hi")
    await bot.send_message(42, "hi")
    assert [c.status for c in fake.calls_of("sendMessage")] == [502, 502, 200]


async def test_form_and_query_encodings(fake: FakeTelegram):
    fake.add_chat(42)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.api_url}/sendMessage?chat_id=42&text=q") as resp:
            assert (await resp.json())["result"]["text"] == "q"
        async with session.post(
            f"{fake.api_url}/SENDMESSAGE", data={"chat_id": "42", "text": "f"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "f"
    assert [m.text for m in fake.messages_to(42)] == ["q", "f"]


# ---------------------------------------------------------------- members, chats


async def test_chat_member_shapes_parse_in_ptb(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(-1001, "channel", username="digests")
    fake.set_admin(-1001, 5, "creator")
    fake.set_admin(-1001, 6, "administrator", can_post_messages=True)
    fake.set_admin(-1001, 7, "member")
    fake.set_admin(-1001, 8, "kicked")
    owner = await bot.get_chat_member(-1001, 5)
    assert isinstance(owner, telegram.ChatMemberOwner)
    admin = await bot.get_chat_member(-1001, 6)
    assert isinstance(admin, telegram.ChatMemberAdministrator) and admin.can_post_messages
    assert isinstance(await bot.get_chat_member(-1001, 7), telegram.ChatMemberMember)
    assert isinstance(await bot.get_chat_member(-1001, 8), telegram.ChatMemberBanned)
    me = await bot.get_chat_member("@digests", fake.bot_id)
    assert isinstance(me, telegram.ChatMemberAdministrator) and me.can_post_messages
    admins = await bot.get_chat_administrators(-1001)
    assert {a.user.id for a in admins} == {5, 6}
    chat = await bot.get_chat("@digests")
    assert chat.id == -1001 and chat.type == "channel"
    # supergroup shapes, incl. restricted and left
    fake.group_message(-1001234567000, "hello", user_id=9)
    fake.set_admin(-1001234567000, 10, "restricted", can_send_messages=False)
    fake.set_admin(-1001234567000, 11, "administrator", can_pin_messages=True)
    assert isinstance(await bot.get_chat_member(-1001234567000, 9), telegram.ChatMemberMember)
    assert isinstance(await bot.get_chat_member(-1001234567000, 10), telegram.ChatMemberRestricted)
    assert (await bot.get_chat_member(-1001234567000, 11)).can_pin_messages
    fake.set_admin(-1001234567000, 9, "left")
    assert isinstance(await bot.get_chat_member(-1001234567000, 9), telegram.ChatMemberLeft)
    assert (await bot.get_chat(-1001234567000)).type == "supergroup"
    fake.user_message(User(42, first_name="Ann", username="ann"), "hi")
    private = await bot.get_chat(42)
    assert private.type == "private" and private.first_name == "Ann"


async def test_channel_posting_needs_rights(bot: telegram.Bot, fake: FakeTelegram):
    fake.channel_post(-1002, "post", username="news")
    msg = await bot.send_message("@news", "from bot")
    assert msg.sender_chat.id == -1002 and msg.from_user is None
    fake.set_bot_status(-1002, "member")
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights"):
        await bot.send_message(-1002, "again")


# ---------------------------------------------------------------- queries


async def test_callback_query_roundtrip(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    sent = await bot.send_message(42, "digest", reply_markup=markup)
    assert sent.reply_markup == markup
    update_dict = fake.callback(fake.last_message(42), "more:1")
    update = Update.de_json(update_dict, bot)
    assert update.callback_query.data == "more:1"
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(update.callback_query.id, text="ok")
    assert fake.answers[-1]["text"] == "ok"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(update.callback_query.id)
    with pytest.raises(ValueError):
        fake.callback(fake.last_message(42), "not-a-button")


async def test_inline_query_roundtrip(bot: telegram.Bot, fake: FakeTelegram):
    update = Update.de_json(fake.inline_query(User(77, username="u"), "党建", offset=""), bot)
    assert update.inline_query.query == "党建"
    results = [
        InlineQueryResultArticle(
            str(i), f"r{i}", InputTextMessageContent(f"<b>{i}</b>", parse_mode="HTML")
        )
        for i in range(3)
    ]
    assert await bot.answer_inline_query(update.inline_query.id, results, next_offset="3")
    answer = fake.answers[-1]
    assert answer["method"] == "answerInlineQuery" and len(answer["results"]) == 3
    too_many = fake.inline_query(77, "x")
    many = [InlineQueryResultArticle(str(i), "t", InputTextMessageContent("t")) for i in range(51)]
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(too_many["inline_query"]["id"], many)


async def test_my_chat_member_update_parses(bot: telegram.Bot, fake: FakeTelegram):
    update = Update.de_json(
        fake.my_chat_member(
            -1003, "left", "administrator", chat_type="channel", can_post_messages=True
        ),
        bot,
    )
    assert update.my_chat_member.new_chat_member.status == "administrator"
    blocked = Update.de_json(fake.my_chat_member(42, "member", "kicked"), bot)
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden):
        await bot.send_message(42, "hi")


async def test_edit_message_text(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)
    msg = await bot.send_message(42, "<b>one</b>", parse_mode="HTML")
    edited = await bot.edit_message_text("<b>two</b>", 42, msg.message_id, parse_mode="HTML")
    assert edited.text == "two" and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>two</b>", 42, msg.message_id, parse_mode="HTML")
    assert fake.message(42, msg.message_id)["text"] == "two"
    assert [m.edited for m in fake.messages_to(42, include_edits=True)] == [False, True]
    assert await bot.delete_message(42, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("three", 42, msg.message_id)


async def test_commands_and_menu_button(bot: telegram.Bot, fake: FakeTelegram):
    cmds = [BotCommand("start", "Start"), BotCommand("search", "Search")]
    assert await bot.set_my_commands(
        cmds, scope=BotCommandScopeAllPrivateChats(), language_code="zh"
    )
    assert fake.commands_for("all_private_chats", "zh") == [
        {"command": "start", "description": "Start"},
        {"command": "search", "description": "Search"},
    ]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [c.command for c in got] == ["start", "search"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.set_chat_menu_button(menu_button=telegram.MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(), telegram.MenuButtonCommands)


# ---------------------------------------------------------------- limits


async def test_private_chat_limit_enforced(bot: telegram.Bot):
    async with FakeTelegram(TOKEN, enforce_limits=True) as server:
        client = telegram.Bot(TOKEN, base_url=server.base_url)
        async with client:
            server.add_chat(42)
            outcomes = []
            for i in range(3):
                try:
                    await client.send_message(42, f"m{i}")
                    outcomes.append("ok")
                except RetryAfter as err:
                    outcomes.append(retry_seconds(err))
            assert outcomes[:2] == ["ok", "ok"]
            assert outcomes[2] >= 1
            assert server.limit_violations == 1
            assert server.max_rate(42, 1.0) == 2
            assert server.max_global_rate(1.0) == 2


async def test_limits_are_observed_without_enforcement(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(-600, "group")
    await asyncio.gather(*(bot.send_message(-600, str(i)) for i in range(22)))
    assert len(fake.messages_to(-600)) == 22
    assert fake.max_rate(-600, 60) == 22
    assert fake.limit_violations == 2


async def test_ptb_application_polls_and_replies(fake: FakeTelegram):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(f"<b>Hi</b> {update.effective_user.first_name}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .rate_limiter(AIORateLimiter())
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=10)
        fake.user_message(42, "/start@digest_test_bot", first_name="Ann")
        [reply] = await fake.wait_for_messages(42, 1)
        await fake.wait_until_consumed()
        await app.updater.stop()
        await app.stop()
    assert reply.text == "Hi Ann"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert fake.limit_violations == 0


# ---------------------------------------------------------------- files, waiting


async def test_document_download_roundtrip(bot: telegram.Bot, fake: FakeTelegram):
    content = "第一篇文章\n".encode() * 100
    update = Update.de_json(fake.document(42, "article.txt", content, "text/plain"), bot)
    doc = update.message.document
    assert doc.file_name == "article.txt" and doc.file_size == len(content)
    tg_file = await bot.get_file(doc.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == content
    # the bot can upload too
    sent = await bot.send_document(
        42, b"report", filename="r.txt", caption="<i>r</i>", parse_mode="HTML"
    )
    assert sent.document.file_name == "r.txt" and sent.caption == "r"
    assert fake.file_content(sent.document.file_id) == b"report"


async def test_wait_for_messages(bot: telegram.Bot, fake: FakeTelegram):
    fake.add_chat(42)

    async def later():
        await asyncio.sleep(0.05)
        await bot.send_message(42, "a")
        await bot.send_message(42, "b")

    task = asyncio.create_task(later())
    got = await fake.wait_for_messages(42, 2, timeout=5)
    assert [m.text for m in got] == ["a", "b"]
    await task
    with pytest.raises(TimeoutError):
        await fake.wait_for_messages(42, 3, timeout=0.2)


# ---------------------------------------------------------------- standalone process


async def test_standalone_process_with_control_api():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fakebotapi",
        "--port",
        "0",
        "--token",
        TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
        root = base_url[: -len("/bot")]
        client = telegram.Bot(TOKEN, base_url=base_url, base_file_url=root + "/file/bot")
        async with client:
            assert (await client.get_me()).username == "digest_test_bot"
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    f"{root}/_control/message", json={"chat_id": 42, "text": "/help"}
                ) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["result"]["message"]["text"] == "/help"
                updates = await client.get_updates(timeout=5)
                assert updates[0].message.text == "/help"
                await client.send_message(42, "<b>help</b>", parse_mode="HTML")
                async with session.get(
                    f"{root}/_control/sent", params={"chat_id": "42", "timeout": "5"}
                ) as resp:
                    body = await resp.json()
                assert [m["text"] for m in body["result"]] == ["help"]
                assert body["next"] == 1
                async with session.get(f"{root}/_control/stats") as resp:
                    stats = json.loads(await resp.text())["result"]
                assert stats["sent"] == 1
            async with ControlClient(base_url) as ctl:
                markup = InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data="go")]])
                sent = await client.send_message(42, "pick", reply_markup=markup)
                assert [m["text"] for m in await ctl.new_messages(42, timeout=5)] == [
                    "help",
                    "pick",
                ]
                update = await ctl.inject(
                    "callback", chat_id=42, message_id=sent.message_id, data="go"
                )
                assert update["callback_query"]["data"] == "go"
                doc = await ctl.inject("document", chat_id=42, filename="a.txt", content=b"\x00a")
                tg_file = await client.get_file(doc["message"]["document"]["file_id"])
                assert bytes(await tg_file.download_as_bytearray()) == b"\x00a"
                with pytest.raises(ControlError):
                    await ctl.inject("no_such_action")
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_new_emulator_never_repeats_update_ids_the_bot_remembers(
    tmp_path: Path, seeded_db: Path
) -> None:
    """The bot journals every update id; a second emulator on the same database (a benchmark
    reusing a database, a restarted test) must not start again at the ids the first one gave."""
    import shutil

    from .botkit import TOKEN, running_bot

    db = tmp_path / "b.db"
    shutil.copy(seeded_db, db)
    for _ in range(2):  # the second /start was dropped as "received before" when ids restarted
        fake = await FakeTelegram(TOKEN).start()
        try:
            async with running_bot(db, fake=fake) as env:
                (reply,) = await env.say("/start")
                assert "/search" in (reply.text or "")
        finally:
            await fake.stop()
