"""Helpers every handler uses: the typed context, language choice, sending split HTML messages,
admin checks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from telegram import (
    CallbackQuery,
    Chat,
    ChatMember,
    Document,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue, Updater

from .render import split_message
from .services import Services

if TYPE_CHECKING:
    from .sender import Sender

log = logging.getLogger(__name__)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler and job gets (PTB's ``contexttypesbot`` pattern): the services
    and the sender are typed attributes, not string look-ups. Registered in ``bot/app.py``."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data["services"])

    @property
    def sender(self) -> Sender:
        return cast("Sender", self.application.bot_data["sender"])


BotApplication = Application[Any, Any, Any, Any, Any, Any]


def job_queue_of(application: BotApplication) -> JobQueue[Any]:
    """The Application's job queue (always there: the ``job-queue`` extra is installed)."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    return application.job_queue


def updater_of(application: BotApplication) -> Updater:
    """The Application's updater (always there: ``bot/app.py`` builds it with one)."""
    if application.updater is None:
        raise RuntimeError("the Application was built without an updater")
    return application.updater


def services(context: BotContext) -> Services:
    """``context.services`` (kept for callers written before the typed context)."""
    return context.services


def lang_for(update: Update, context: BotContext) -> str:
    """The chat's chosen language, else the user's Telegram language (en*), else the default."""
    svc = context.services
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
    context: BotContext,
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


async def edit_view(
    query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show ``text`` in the message whose button was pressed. A button pressed twice asks for the
    text the message already has; Telegram answers "message is not modified", which is success."""
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        if "message is not modified" not in exc.message.lower():
            raise


def chat_of(update: Update) -> Chat:
    """The chat an update came from (every update our handlers take has one)."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError(f"update {update.update_id} has no chat")
    return chat


def chat_id_of(update: Update) -> int:
    return chat_of(update).id


def document_of(update: Update) -> Document:
    """The file a document message carries (the handlers for documents only get those)."""
    message = update.effective_message
    if message is None or message.document is None:
        raise ValueError(f"update {update.update_id} carries no document")
    return message.document


def command_text(message: Message | None) -> str:
    """What follows the command (``/search@bot a "b c"`` → ``a "b c"``), verbatim."""
    text = (message.text if message else None) or ""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


async def is_admin(context: BotContext, chat: Chat, message: Message | None) -> bool:
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


async def user_is_admin(context: BotContext, chat_id: int, user_id: int) -> bool:
    svc = context.services
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
