"""Subscription handlers: /subscribe, /subscriptions, /unsubscribe, /settings, their buttons, and
the membership updates that pause or move a chat's subscriptions."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from digests.models import Chat as StoredChat
from digests.models import Subscription
from digests.modes import DEFAULT_TZ, Mode, Quiet, SettingError, parse_timezone, split_mode
from digests.subscriptions import describe, parse_filters

from .common import command_text, is_admin, lang_for, send, services, user_is_admin
from .i18n import mode_label, t
from .render import esc

log = logging.getLogger(__name__)


def _remember_chat(context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> None:
    services(context).store.upsert_chat(
        chat.id, chat.type, title=chat.title or chat.full_name, username=chat.username
    )


async def _subscribe_chat(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    target: Chat,
    words: list[str],
    reply_to: int,
) -> None:
    """Create the subscription for ``target`` (or change the mode of the same one) and confirm
    in ``reply_to``. Made inside a forum topic, it is delivered into that topic."""
    svc = services(context)
    lang = lang_for(update, context)
    request = parse_filters(words, svc.gazetteer)
    _remember_chat(context, target)
    stored_chat = svc.store.get_chat(target.id)
    mode = str(request.mode) if request.mode else (stored_chat.mode if stored_chat else "instant")
    thread = _topic_of(update) if target.id == reply_to else None
    existing = [
        s
        for s in svc.store.subscriptions(target.id)
        if sorted(s.keywords) == sorted(request.keywords)
        and sorted(s.regions) == sorted(request.regions)
        and s.thread_id == thread
    ]
    if existing:
        await _change_mode(context, lang, existing[0], request.mode, reply_to, thread)
        return
    user = update.effective_user
    sub = svc.store.add_subscription(
        target.id,
        request.keywords,
        request.regions,
        mode=mode,
        created_by=user.id if user else None,
        thread_id=thread,
    )
    if stored_chat is not None and stored_chat.status != "active":
        svc.store.update_chat(target.id, status="active", status_reason=None)
    what = esc(describe(sub, svc.gazetteer)) or t(lang, "subscribed_everything")
    if target.id == reply_to:
        text = t(lang, "subscribed", what=what, mode=mode_label(lang, mode))
    else:
        channel = esc("@" + target.username if target.username else target.title or target.id)
        text = t(
            lang, "subscribed_channel", channel=channel, what=what, mode=mode_label(lang, mode)
        )
    for word, others in request.ambiguous.items():
        chosen = svc.gazetteer.get(sub.regions[0]) if sub.regions else None
        for code in sub.regions:
            place = svc.gazetteer.get(code)
            if place and (word in (place.name, place.short)):
                chosen = place
        if chosen is not None and others:
            text += "\n" + t(lang, "sub_ambiguous", word=esc(word), chosen=esc(chosen.name))
    if request.problems:
        text += "\n" + t(lang, "sub_problems", problems=esc("; ".join(request.problems)))
    await send(context, reply_to, text, thread_id=thread)
    log.info("chat %s subscribed (subscription %s)", target.id, sub.id)


def _topic_of(update: Update) -> int | None:
    """The forum topic a message was written in (``None`` outside forum topics)."""
    message = update.effective_message
    if message is not None and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


async def _change_mode(
    context: ContextTypes.DEFAULT_TYPE,
    lang: str,
    sub: Subscription,
    mode: Mode | None,
    reply_to: int,
    thread: int | None,
) -> None:
    """``/subscribe … daily 09:00`` for filters already subscribed: change that subscription's
    mode (and resume it if a closed topic had paused it); the same mode is a duplicate."""
    svc = services(context)
    if (mode is None or str(mode) == sub.mode) and sub.paused is None:
        await send(context, reply_to, t(lang, "sub_duplicate"), thread_id=thread)
        return
    if mode is not None:
        svc.store.set_subscription_mode(sub.id, mode)
    if sub.paused is not None:
        svc.store.pause_subscription(sub.id, None)
    what = esc(describe(sub, svc.gazetteer)) or t(lang, "subscribed_everything")
    shown = mode if mode is not None else sub.mode
    await send(
        context, reply_to, t(lang, "sub_mode_changed", what=what, mode=mode_label(lang, shown)),
        thread_id=thread,
    )  # fmt: skip


async def subscribe_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    message = update.effective_message
    lang = lang_for(update, context)
    words = command_text(message).split()
    if words and words[0].startswith("@") and chat.type == ChatType.PRIVATE:
        await _subscribe_channel(update, context, words[0], words[1:])
        return
    if not await is_admin(context, chat, message):
        await send(context, chat.id, t(lang, "not_admin"))
        log.info("refused /subscribe from a non-admin in chat %s", chat.id)
        return
    await _subscribe_chat(update, context, chat, words, chat.id)


async def _subscribe_channel(
    update: Update, context: ContextTypes.DEFAULT_TYPE, handle: str, words: list[str]
) -> None:
    """``/subscribe @channel …`` from a private chat: the user must administer the channel and the
    bot must be allowed to post there."""
    lang = lang_for(update, context)
    user = update.effective_user
    chat_id = update.effective_chat.id
    channel_name = esc(handle)
    try:
        channel = await context.bot.get_chat(handle)
    except TelegramError as exc:
        log.info("channel %s not found: %s", handle, exc)
        await send(context, chat_id, t(lang, "channel_unknown", channel=channel_name))
        return
    if not await user_is_admin(context, channel.id, user.id):
        await send(context, chat_id, t(lang, "channel_not_admin", channel=channel_name))
        return
    try:
        me = await context.bot.get_chat_member(channel.id, context.bot.id)
    except TelegramError:
        me = None
    can_post = me is not None and (
        me.status == ChatMember.OWNER
        or (me.status == ChatMember.ADMINISTRATOR and getattr(me, "can_post_messages", False))
    )
    if not can_post:
        await send(context, chat_id, t(lang, "channel_bot_cannot_post", channel=channel_name))
        return
    await _subscribe_chat(update, context, channel, words, chat_id)


def _subscriptions_view(context, chat_id: int, lang: str):
    svc = services(context)
    subs = svc.store.subscriptions(chat_id)
    if not subs:
        return t(lang, "subscriptions_none"), None
    lines = [t(lang, "subscriptions_list"), ""]
    rows = []
    for n, sub in enumerate(subs, 1):
        label = describe(sub, svc.gazetteer) or t(lang, "subscribed_everything")
        paused = t(lang, "sub_paused", reason=esc(sub.paused[:100])) if sub.paused else ""
        lines.append(f"{n}. {esc(label)} · {mode_label(lang, sub.mode)}{paused}")
        rows.append([InlineKeyboardButton(f"✖ {n}. {label}"[:60], callback_data=f"u:{sub.id}")])
    lines += ["", _zone_line(svc.store.get_chat(chat_id), lang)]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _zone_line(chat: StoredChat | None, lang: str) -> str:
    """``时区：Asia/Urumqi · 免打扰：23:00-07:00`` for /subscriptions and /settings."""
    zone = (chat.timezone if chat else None) or DEFAULT_TZ
    quiet = (chat.quiet if chat else None) or t(lang, "quiet_off")
    return (
        t(lang, "settings_zone", zone=esc(zone))
        + " · "
        + t(lang, "settings_quiet", quiet=esc(quiet))
    )


async def subscriptions_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_for(update, context)
    text, keyboard = _subscriptions_view(context, update.effective_chat.id, lang)
    await send(context, update.effective_chat.id, text, keyboard)


async def unsubscribe_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    lang = lang_for(update, context)
    if not await is_admin(context, chat, update.effective_message):
        await send(context, chat.id, t(lang, "not_admin"))
        return
    svc = services(context)
    arg = command_text(update.effective_message).split()
    subs = svc.store.subscriptions(chat.id)
    if not arg:
        if len(subs) == 1:
            removed = svc.store.remove_subscriptions(chat.id, [subs[0].id])
            await send(context, chat.id, t(lang, "unsubscribed", n=removed))
        else:
            text, keyboard = _subscriptions_view(context, chat.id, lang)
            if subs:
                text += "\n\n" + t(lang, "unsubscribe_usage")
            await send(context, chat.id, text, keyboard)
        return
    if arg[0].lower() in ("all", "全部"):
        removed = svc.store.remove_subscriptions(chat.id, None)
        await send(context, chat.id, t(lang, "unsubscribed", n=removed))
        return
    if not (arg[0].isdecimal() and len(arg[0]) < 10) or not 1 <= int(arg[0]) <= len(subs):
        await send(
            context, chat.id, t(lang, "unsubscribe_none") + "\n" + t(lang, "unsubscribe_usage")
        )
        return
    removed = svc.store.remove_subscriptions(chat.id, [subs[int(arg[0]) - 1].id])
    await send(context, chat.id, t(lang, "unsubscribed", n=removed))


def _settings_view(context, chat_id: int, lang: str):
    chat = services(context).store.get_chat(chat_id)
    mode = chat.mode if chat else "instant"
    text = t(lang, "settings", language=t(lang, f"lang_{lang}"), mode=mode_label(lang, mode))
    text += "\n" + _zone_line(chat, lang)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("中文", callback_data="s:lang:zh"),
                InlineKeyboardButton("English", callback_data="s:lang:en"),
            ],
            [
                InlineKeyboardButton(t(lang, "mode_instant"), callback_data="s:mode:instant"),
                InlineKeyboardButton(
                    t(lang, "mode_daily", time="08:00"), callback_data="s:mode:daily 08:00"
                ),
            ],
        ]
    )
    return text, keyboard


async def settings_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/settings [zh|en] [instant|daily HH:MM] [tz ZONE] [quiet HH:MM-HH:MM|off]``."""
    chat = update.effective_chat
    lang = lang_for(update, context)
    words = command_text(update.effective_message).split()
    notice = ""
    if words:
        if not await is_admin(context, chat, update.effective_message):
            await send(context, chat.id, t(lang, "not_admin"))
            return
        try:
            changes = _settings_changes(words)
        except SettingError as exc:
            await send(context, chat.id, t(lang, exc.code, value=esc(exc.value[:60])))
            return
        _remember_chat(context, chat)
        svc = services(context)
        mode = changes.pop("mode", None)
        if changes:
            svc.store.update_chat(chat.id, **changes)
        lang = lang_for(update, context)
        if mode is not None:
            moved = _set_default_mode(context, chat.id, mode)
            notice = t(lang, "settings_mode_applied", mode=mode_label(lang, mode), n=moved)
    text, keyboard = _settings_view(context, chat.id, lang)
    if notice:
        text = notice + "\n\n" + text
    await send(context, chat.id, text, keyboard)


def _settings_changes(words: list[str]) -> dict[str, str | None]:
    """The chat columns ``/settings`` words ask to change (``SettingError`` for a bad value)."""
    changes: dict[str, str | None] = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        word, nxt = words[i].lower(), words[i + 1] if i + 1 < len(words) else ""
        if word in ("tz", "timezone", "时区"):
            changes["timezone"] = parse_timezone(nxt)
            i += 2
        elif word in ("quiet", "免打扰"):
            off = nxt.lower() in ("off", "关", "关闭", "无")
            changes["quiet"] = None if off else str(Quiet.parse(nxt))
            i += 2
        else:
            rest.append(words[i])
            i += 1
    mode, rest = split_mode(rest)
    if mode is not None:
        changes["mode"] = str(mode)
    for word in rest:
        if word.lower() in ("zh", "en", "中文", "english"):
            changes["language"] = "en" if word.lower() in ("en", "english") else "zh"
    return changes


def _set_default_mode(context: ContextTypes.DEFAULT_TYPE, chat_id: int, mode: str) -> int:
    """The chat's default mode becomes ``mode``; the subscriptions that followed the old default
    follow the new one, those given their own mode keep it. Returns how many changed."""
    store = services(context).store
    chat = store.get_chat(chat_id)
    old = chat.mode if chat else "instant"
    store.update_chat(chat_id, mode=mode)
    changed = 0
    for sub in store.subscriptions(chat_id):
        if sub.mode == old and sub.mode != mode:
            store.set_subscription_mode(sub.id, mode)
            changed += 1
    return changed


async def on_subscription_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``u:<id>`` removes a subscription; ``s:lang:…`` / ``s:mode:…`` change settings."""
    query = update.callback_query
    chat = update.effective_chat
    lang = lang_for(update, context)
    svc = services(context)
    if chat.type != ChatType.PRIVATE and not await user_is_admin(
        context, chat.id, query.from_user.id
    ):
        await query.answer(t(lang, "not_admin"), show_alert=True)
        return
    kind, _, rest = (query.data or "").partition(":")
    if kind == "u":
        removed = svc.store.remove_subscriptions(chat.id, [int(rest)] if rest.isdigit() else [])
        text, keyboard = _subscriptions_view(context, chat.id, lang)
        await query.edit_message_text(text, reply_markup=keyboard)
        await query.answer(t(lang, "unsubscribed", n=removed))
        return
    setting, _, value = rest.partition(":")
    _remember_chat(context, chat)
    notice = t(lang, "settings_saved")
    if setting == "lang" and value in ("zh", "en"):
        svc.store.update_chat(chat.id, language=value)
        lang = value
    elif setting == "mode":
        try:
            mode = Mode.parse(value)
        except SettingError as exc:
            await query.answer(t(lang, exc.code, value=exc.value[:60]), show_alert=True)
            return
        moved = _set_default_mode(context, chat.id, str(mode))
        notice = t(lang, "settings_mode_applied", mode=mode_label(lang, mode), n=moved)
    text, keyboard = _settings_view(context, chat.id, lang)
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except TelegramError as exc:  # "message is not modified" when nothing changed
        log.debug("settings message not edited: %s", exc)
    await query.answer(notice)


# -- membership -------------------------------------------------------------------------------
async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was added, removed or blocked: resume or pause the chat's subscriptions."""
    change = update.my_chat_member
    svc = services(context)
    chat = change.chat
    status = change.new_chat_member.status
    _remember_chat(context, chat)
    if status in (ChatMember.LEFT, ChatMember.BANNED):
        reason = "blocked" if chat.type == ChatType.PRIVATE else "removed"
        svc.store.update_chat(chat.id, status="paused", status_reason=reason)
        log.info("chat %s paused: bot %s", chat.id, reason)
    elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER):
        svc.store.update_chat(chat.id, status="active", status_reason=None)
        log.info("chat %s active", chat.id)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: its subscriptions move to the new chat id."""
    message = update.effective_message
    svc = services(context)
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    if svc.store.get_chat(old) is not None:
        svc.store.migrate_chat(old, new)
        log.info("chat %s migrated to %s", old, new)
