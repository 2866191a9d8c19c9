"""Helpers every handler uses: services, language choice, sending split HTML messages, admin checks."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from .render import split_message
from .services import Services

log = logging.getLogger(__name__)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


def lang_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The chat's chosen language, else the user's Telegram language (en*), else the default."""
    svc = services(context)
    chat = update.effective_chat
    if chat is not None:
        stored = svc.store.get_chat(chat.id)
        if stored is not None and stored.language:
            return stored.language
    user = update.effective_user
    if user is not None and user.language_code:
        return "en" if user.language_code.lower().startswith("en") else "zh"
    return svc.settings.lang


async def send(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    thread_id: int | None = None,
) -> Message | None:
    """Send ``text`` (HTML) as one or more messages; the keyboard goes with the last part.
    ``thread_id``: into that forum topic."""
    parts = split_message(text)
    last: Message | None = None
    for i, part in enumerate(parts):
        last = await context.bot.send_message(
            chat_id, part, reply_markup=keyboard if i == len(parts) - 1 else None,
            message_thread_id=thread_id,
        )  # fmt: skip
    return last


def command_text(message: Message) -> str:
    """What follows the command (``/search@bot a "b c"`` → ``a "b c"``), verbatim."""
    text = message.text or ""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


async def is_admin(context: ContextTypes.DEFAULT_TYPE, chat: Chat, message: Message | None) -> bool:
    """May the sender manage this chat's subscriptions? (cached briefly)"""
    if chat.type == ChatType.PRIVATE:
        return True
    if message is None:
        return False
    if chat.type == ChatType.CHANNEL or (message.sender_chat and message.sender_chat.id == chat.id):
        return True  # a channel post, or an anonymous group administrator
    user = message.from_user
    if user is None:
        return False
    return await user_is_admin(context, chat.id, user.id)


async def user_is_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
    svc = services(context)
    cached = svc.cached_admin(chat_id, user_id)
    if cached is not None:
        return cached
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
        return False
    result = member.status in ADMIN_STATUSES
    svc.remember_admin(chat_id, user_id, result)
    return result
