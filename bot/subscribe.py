"""Subscription handlers: /subscribe, /subscriptions, /unsubscribe, /settings, their buttons, and
the membership updates that pause or move a chat's subscriptions."""

from __future__ import annotations

import logging

from telegram import (
    Chat,
    ChatFullInfo,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError

from digests.errors import DigestError, FilterError
from digests.models import Chat as StoredChat
from digests.models import Subscription
from digests.modes import DEFAULT_TZ, Mode
from digests.subscriptions import describe, parse_filters, parse_settings

from . import buttons
from .common import (
    BotContext,
    chat_of,
    command_text,
    edit_view,
    is_admin,
    lang_for,
    send,
    user_is_admin,
)
from .i18n import error_text, mode_label, t, tn
from .render import esc
from .services import Services

View = tuple[str, InlineKeyboardMarkup | None]

log = logging.getLogger(__name__)


def _remember_chat(context: BotContext, chat: Chat | ChatFullInfo) -> None:
    context.services.store.upsert_chat(
        chat.id, chat.type, title=chat.title or chat.full_name, username=chat.username
    )


async def _subscribe_chat(
    update: Update,
    context: BotContext,
    target: Chat | ChatFullInfo,
    words: list[str],
    reply_to: int,
) -> None:
    """Create the subscription for ``target`` (or change the mode of the same one) and confirm
    in ``reply_to``. Made inside a forum topic, it is delivered into that topic."""
    svc = context.services
    lang = lang_for(update, context)
    thread = _topic_of(update) if target.id == reply_to else None
    try:
        request = parse_filters(words, svc.gazetteer)
    except DigestError as exc:  # FilterError, or SettingError for a time: nothing subscribed
        await send(context, reply_to, refusal(lang, exc), thread_id=thread)
        return
    _remember_chat(context, target)
    stored_chat = svc.store.get_chat(target.id)
    mode = str(request.mode) if request.mode else (stored_chat.mode if stored_chat else "instant")
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
    await send(context, reply_to, text, thread_id=thread)
    log.info("chat %s subscribed (subscription %s)", target.id, sub.id)


def refusal(lang: str, error: DigestError) -> str:
    """Why nothing was subscribed, and what to type instead (nearest places, or ``kw:``)."""
    text = t(lang, "sub_refused", reason=error_text(lang, error))
    if isinstance(error, FilterError) and error.code == "unknown_region":
        suggestions = error.values.get("suggestions") or []
        if isinstance(suggestions, list) and suggestions:
            names = "、".join(f"region:{name}" for name in suggestions[:5])
            text += "\n" + t(lang, "sub_did_you_mean", names=esc(names))
        text += "\n" + t(lang, "sub_use_kw", term=esc(error.values.get("term", "")))
    return text


def _topic_of(update: Update) -> int | None:
    """The forum topic a message was written in (``None`` outside forum topics)."""
    message = update.effective_message
    if message is not None and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


async def _change_mode(
    context: BotContext,
    lang: str,
    sub: Subscription,
    mode: Mode | None,
    reply_to: int,
    thread: int | None,
) -> None:
    """``/subscribe … daily 09:00`` for filters already subscribed: change that subscription's
    mode (and resume it if a closed topic had paused it); the same mode is a duplicate."""
    svc = context.services
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


async def subscribe_cmd(update: Update, context: BotContext) -> None:
    chat = chat_of(update)
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
    update: Update, context: BotContext, handle: str, words: list[str]
) -> None:
    """``/subscribe @channel …`` from a private chat: the user must administer the channel and the
    bot must be allowed to post there."""
    lang = lang_for(update, context)
    user = update.effective_user
    chat_id = chat_of(update).id
    channel_name = esc(handle)
    try:
        channel = await context.bot.get_chat(handle)
    except TelegramError as exc:
        log.info("channel %s not found: %s", handle, exc)
        await send(context, chat_id, t(lang, "channel_unknown", channel=channel_name))
        return
    if user is None or not await user_is_admin(context, channel.id, user.id):
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


def subscriptions_view(svc: Services, chat_id: int, lang: str) -> View:
    subs = svc.store.subscriptions(chat_id)
    if not subs:
        return t(lang, "subscriptions_none"), None
    lines = [t(lang, "subscriptions_list"), ""]
    rows = []
    for n, sub in enumerate(subs, 1):
        label = describe(sub, svc.gazetteer) or t(lang, "subscribed_everything")
        paused = t(lang, "sub_paused", reason=esc(sub.paused[:100])) if sub.paused else ""
        lines.append(f"{n}. {esc(label)} · {mode_label(lang, sub.mode)}{paused}")
        data = buttons.encode(buttons.Unsubscribe(sub.id))
        rows.append([InlineKeyboardButton(f"✖ {n}. {label}"[:60], callback_data=data)])
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


async def subscriptions_cmd(update: Update, context: BotContext) -> None:
    chat_id = chat_of(update).id
    text, keyboard = subscriptions_view(context.services, chat_id, lang_for(update, context))
    await send(context, chat_id, text, keyboard)


async def unsubscribe_cmd(update: Update, context: BotContext) -> None:
    chat = chat_of(update)
    lang = lang_for(update, context)
    if not await is_admin(context, chat, update.effective_message):
        await send(context, chat.id, t(lang, "not_admin"))
        return
    svc = context.services
    arg = command_text(update.effective_message).split()
    subs = svc.store.subscriptions(chat.id)
    if not arg:
        if len(subs) == 1:
            removed = svc.store.remove_subscriptions(chat.id, [subs[0].id])
            await send(context, chat.id, _removed(lang, removed))
        else:
            text, keyboard = subscriptions_view(svc, chat.id, lang)
            if subs:
                text += "\n\n" + t(lang, "unsubscribe_usage")
            await send(context, chat.id, text, keyboard)
        return
    if arg[0].lower() in ("all", "全部"):
        removed = svc.store.remove_subscriptions(chat.id, None)
        await send(context, chat.id, _removed(lang, removed))
        return
    if not (arg[0].isdecimal() and len(arg[0]) < 10) or not 1 <= int(arg[0]) <= len(subs):
        await send(
            context, chat.id, t(lang, "unsubscribe_none") + "\n" + t(lang, "unsubscribe_usage")
        )
        return
    removed = svc.store.remove_subscriptions(chat.id, [subs[int(arg[0]) - 1].id])
    await send(context, chat.id, _removed(lang, removed))


def _mode_applied(lang: str, mode: object, moved: int) -> str:
    count = tn(lang, "n_subscriptions", moved)
    return t(lang, "settings_mode_applied", mode=mode_label(lang, mode), count=count)


def _removed(lang: str, n: int) -> str:
    return t(lang, "unsubscribed", count=tn(lang, "n_subscriptions", n))


def settings_view(svc: Services, chat_id: int, lang: str) -> View:
    chat = svc.store.get_chat(chat_id)
    mode = chat.mode if chat else "instant"
    text = t(lang, "settings", language=t(lang, f"lang_{lang}"), mode=mode_label(lang, mode))
    text += "\n" + _zone_line(chat, lang) + "\n" + t(lang, "settings_hint")

    def button(label: str, value: buttons.Button) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=buttons.encode(value))

    keyboard = InlineKeyboardMarkup(
        [
            [
                button("中文", buttons.SetLanguage("zh")),
                button("English", buttons.SetLanguage("en")),
            ],
            [
                button(t(lang, "mode_instant"), buttons.SetMode("instant")),
                button(t(lang, "mode_daily", time="08:00"), buttons.SetMode("daily 08:00")),
            ],
        ]
    )
    return text, keyboard


async def settings_cmd(update: Update, context: BotContext) -> None:
    """``/settings [zh|en] [instant|daily HH:MM] [tz ZONE] [quiet HH:MM-HH:MM|off]``; a word
    that is not a setting, or a bad value, is refused with one line and nothing changes."""
    chat = chat_of(update)
    lang = lang_for(update, context)
    words = command_text(update.effective_message).split()
    svc = context.services
    notice = ""
    if words:
        if not await is_admin(context, chat, update.effective_message):
            await send(context, chat.id, t(lang, "not_admin"))
            return
        try:
            changes = parse_settings(words)
        except DigestError as exc:  # FilterError or SettingError
            await send(context, chat.id, error_text(lang, exc))
            return
        _remember_chat(context, chat)
        mode = changes.pop("mode", None)
        if changes:
            svc.store.update_chat(chat.id, **changes)
        lang = lang_for(update, context)
        if mode is not None:
            moved = _set_default_mode(svc, chat.id, mode)
            notice = _mode_applied(lang, mode, moved)
    text, keyboard = settings_view(svc, chat.id, lang)
    if notice:
        text = notice + "\n\n" + text
    await send(context, chat.id, text, keyboard)


def _set_default_mode(svc: Services, chat_id: int, mode: str) -> int:
    """The chat's default mode becomes ``mode``; the subscriptions that followed the old default
    follow the new one, those given their own mode keep it. Returns how many changed."""
    store = svc.store
    chat = store.get_chat(chat_id)
    old = chat.mode if chat else "instant"
    store.update_chat(chat_id, mode=mode)
    changed = 0
    for sub in store.subscriptions(chat_id):
        if sub.mode == old and sub.mode != mode:
            store.set_subscription_mode(sub.id, mode)
            changed += 1
    return changed


async def on_subscription_button(update: Update, context: BotContext) -> None:
    """Remove a subscription, or change the language or delivery mode (see ``bot.buttons``)."""
    query = update.callback_query
    if query is None:
        return
    chat = chat_of(update)
    lang = lang_for(update, context)
    svc = context.services
    if chat.type != ChatType.PRIVATE and not await user_is_admin(
        context, chat.id, query.from_user.id
    ):
        await query.answer(t(lang, "not_admin"), show_alert=True)
        return
    button = buttons.parse(query.data)
    if isinstance(button, buttons.Unsubscribe):
        removed = svc.store.remove_subscriptions(chat.id, [button.subscription_id])
        text, keyboard = subscriptions_view(svc, chat.id, lang)
        await edit_view(query, text, keyboard)
        await query.answer(_removed(lang, removed))
        return
    if not isinstance(button, buttons.SetLanguage | buttons.SetMode):
        await query.answer(t(lang, "button_invalid"), show_alert=True)
        return
    _remember_chat(context, chat)
    notice = t(lang, "settings_saved")
    if isinstance(button, buttons.SetLanguage):
        svc.store.update_chat(chat.id, language=button.lang)
        lang = button.lang
        notice = t(lang, "settings_saved")
    else:
        mode = Mode.parse(button.mode)  # valid: bot.buttons checked it
        moved = _set_default_mode(svc, chat.id, str(mode))
        notice = _mode_applied(lang, mode, moved)
    text, keyboard = settings_view(svc, chat.id, lang)
    await edit_view(query, text, keyboard)
    await query.answer(notice)


# -- membership -------------------------------------------------------------------------------
async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot was added, removed or blocked: resume or pause the chat's subscriptions."""
    change = update.my_chat_member
    if change is None:
        return
    svc = context.services
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


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its subscriptions move to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    svc = context.services
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    if svc.store.get_chat(old) is not None:
        svc.store.migrate_chat(old, new)
        log.info("chat %s migrated to %s", old, new)
