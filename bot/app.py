"""The one place the ``telegram.ext.Application`` is built: handlers, defaults, commands, errors."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from . import admin, adoption, buttons, lookup, subscribe
from . import sources as source_handlers
from .common import BotApplication, BotContext, chat_id_of, job_queue_of, lang_for, send, updater_of
from .election import Election
from .i18n import TEXTS, t
from .ratelimit import Limiter
from .sender import Sender
from .services import Services
from .startup import BOOTSTRAP_RETRIES
from .throttle import ChatThrottle
from .updates import FairProcessor, JournaledQueue

if TYPE_CHECKING:
    from .config import Webhook

log = logging.getLogger(__name__)

COMMANDS = (
    "start", "help", "search", "region", "regions", "latest", "article",
    "subscribe", "subscriptions", "unsubscribe", "settings",
)  # fmt: skip
ADMIN_COMMANDS = ("stats", "pending", "retry", "remove", "source")
FIRST_POLL_DELAY = 0.5  # s: the first corpus poll runs at start-up, just after the updates
# waiting at Telegram are answered (with 0, APScheduler finds its start already past and waits a
# whole interval)
WARM_UP_DELAY = 1.0  # s: then the gazetteer and the segmenter are loaded, in a worker thread (the
# first answers do not wait for them; the first look-up does not pay for them)


async def warm_up(context: BotContext) -> None:
    await asyncio.to_thread(context.application.bot_data["services"].warm_up)


async def start_cmd(update: Update, context: BotContext) -> None:
    if context.args and await lookup.start_with_payload(update, context, context.args[0]):
        return
    await send(context, chat_id_of(update), t(lang_for(update, context), "start"))


async def help_cmd(update: Update, context: BotContext) -> None:
    username = html.escape(context.bot.username or "bot")
    await send(
        context, chat_id_of(update), t(lang_for(update, context), "help").format(bot=username)
    )


async def channel_post(update: Update, context: BotContext) -> None:
    """Commands posted in a channel where the bot is an administrator."""
    message = update.effective_message
    text = (message.text if message else None) or ""
    command = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text else ""
    if command == "/subscribe":
        await subscribe.subscribe_cmd(update, context)
    elif command == "/unsubscribe":
        await subscribe.unsubscribe_cmd(update, context)
    elif command == "/subscriptions":
        await subscribe.subscriptions_cmd(update, context)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A ``/command`` no handler took: say so (in private chats, or when addressed to this bot)."""
    message = update.effective_message
    if message is None or not message.text or update.effective_chat is None:
        return
    word = message.text.split(maxsplit=1)[0]
    command, _, addressee = word[1:].partition("@")
    if command.lower() in known_commands(context.application):
        return
    is_private = update.effective_chat.type == ChatType.PRIVATE
    if not is_private and addressee.lower() != (context.bot.username or "").lower():
        return  # another bot's command, or one for every bot in the group
    lang = lang_for(update, context)
    thread = message.message_thread_id if message.is_topic_message else None
    text = t(lang, "unknown_command", command=html.escape(word))
    await send(context, chat_id_of(update), text, thread_id=thread)


def known_commands(application: BotApplication) -> set[str]:
    return {
        command
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


async def log_update(update: Update, context: BotContext) -> None:
    """One DEBUG line per update naming its user and chat (how an operator finds the numeric
    user id for ``DIGESTBOT_ADMINS``); runs before, and never instead of, the real handler."""
    user, chat = update.effective_user, update.effective_chat
    log.debug(
        "update %s from user %s (%s) in chat %s",
        update.update_id,
        user.id if user else None,
        user.username if user else None,
        chat.id if chat else None,
    )


async def invalid_button(update: Update, context: BotContext) -> None:
    """A button whose data this bot does not make (forged, or from an older version)."""
    query = update.callback_query
    if query is not None:
        await query.answer(t(lang_for(update, context), "button_invalid"), show_alert=True)


async def on_error(update: object, context: BotContext) -> None:
    """Log every unexpected error with its traceback and answer the user politely."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await send(context, update.effective_chat.id, t(lang_for(update, context), "error"))
        except Exception:  # the chat may be unreachable: the log line above is what matters
            log.warning("could not tell chat %s about the error", update.effective_chat.id)


async def publish_commands(application: BotApplication) -> None:
    """Publish the command menu in both languages."""
    for lang, language_code in (("zh", None), ("en", "en")):
        commands = [BotCommand(c, TEXTS[lang][f"cmd_{c}"]) for c in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language_code)
    admins = application.bot_data["services"].settings.admins
    for admin_id in admins:  # administrators also see their own commands
        commands = [BotCommand(c, TEXTS["zh"][f"cmd_{c}"]) for c in COMMANDS + ADMIN_COMMANDS]
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # the admin may never have talked to the bot
            log.info("could not set admin commands for %s: %s", admin_id, exc)


def build_application(
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
    base_file_url: str | None = None,
    limiter: Limiter | None = None,
    poll_timeout: float = 10.0,
    concurrency: int = 4,
    backoff_base: float = 2.0,
    concurrent_updates: int = 8,
    throttle: ChatThrottle | None = None,
) -> BotApplication:
    """The bot's Application, wired to ``services`` (store, gazetteer, settings).

    ``limiter`` defaults to Telegram's limits; pass ``Limiter(enabled=False)`` to switch them off.
    Updates are journaled, then handled ``concurrent_updates`` at a time, one at a time per chat,
    a flooding chat throttled (:mod:`bot.updates`).
    """
    limiter = limiter if limiter is not None else Limiter()
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
    )
    # The two connections (requests, long polling) as PTB builds them, but sharing one TLS
    # context: each would load the CA bundle itself (~20 ms of start-up apiece).
    tls = httpx.create_ssl_context()
    builder = builder.request(
        HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": tls})
    ).get_updates_request(
        HTTPXRequest(read_timeout=poll_timeout + 10, httpx_kwargs={"verify": tls})
    )
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    processor = FairProcessor(
        services.store, concurrency=concurrent_updates, throttle=throttle or ChatThrottle()
    )
    builder = builder.rate_limiter(limiter).update_queue(JournaledQueue(services.store))
    application = builder.concurrent_updates(processor).build()
    processor.attach(application)
    application.bot_data["services"] = services
    application.bot_data["sender"] = Sender(
        application.bot,
        services.store,
        clock=services.clock,
        region_labels=services.region_labels,
        default_lang=services.settings.lang,
        limiter=limiter if limiter.enabled else None,
        concurrency=concurrency,
        backoff_base=backoff_base,
    )
    add_handlers(application)
    return application


def add_handlers(application: BotApplication) -> None:
    private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    handlers = [
        CommandHandler("start", start_cmd),
        CommandHandler("help", help_cmd),
        CommandHandler("search", lookup.search_cmd),
        CommandHandler("region", lookup.region_cmd),
        CommandHandler("regions", lookup.regions_cmd),
        CommandHandler("latest", lookup.latest_cmd),
        CommandHandler("article", lookup.article_cmd),
        CommandHandler("subscribe", subscribe.subscribe_cmd),
        CommandHandler("subscriptions", subscribe.subscriptions_cmd),
        CommandHandler("unsubscribe", subscribe.unsubscribe_cmd),
        CommandHandler("settings", subscribe.settings_cmd),
        CommandHandler("stats", admin.stats_cmd),
        CommandHandler("pending", admin.pending_cmd),
        CommandHandler("retry", admin.retry_cmd),
        CommandHandler("remove", admin.remove_cmd),
        *source_handlers.handlers(),  # before the general document handler: .opml imports
        MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, admin.document_upload),
        MessageHandler(filters.UpdateType.CHANNEL_POST & filters.TEXT, channel_post),
        MessageHandler(filters.StatusUpdate.MIGRATE, subscribe.on_migrate),
        MessageHandler(private_text, lookup.plain_text),
        CallbackQueryHandler(lookup.on_lookup_button, pattern=buttons.is_lookup),
        CallbackQueryHandler(subscribe.on_subscription_button, pattern=buttons.is_settings),
        CallbackQueryHandler(invalid_button),
        InlineQueryHandler(lookup.on_inline),
        ChatMemberHandler(subscribe.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
    application.add_handler(TypeHandler(Update, log_update), group=-1)
    for handler in handlers:
        application.add_handler(handler)
    # group 1: runs after whichever command handler (of any helper's) took the update, if any
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, unknown_command), group=1
    )
    application.add_error_handler(on_error)


@asynccontextmanager
async def running(
    application: BotApplication,
    *,
    poll_timeout: int = 10,
    deliver: bool = True,
    webhook: Webhook | None = None,
) -> AsyncIterator[BotApplication]:
    """Initialise, publish the commands, start taking updates (long polling, or ``webhook``:
    :mod:`bot.webhook`), the poll jobs and the election (:mod:`bot.election`: the sender and each
    poll job run in one replica at a time); on exit stop taking updates, let the sender finish
    what is in flight, release the leases, and stop."""
    sender: Sender = application.bot_data["sender"]
    services: Services = application.bot_data["services"]
    settings = services.settings
    election: Election | None = None
    async with application:
        await publish_commands(application)
        await application.start()
        try:  # whatever fails from here, the application is stopped before it is shut down
            if deliver:
                job_queue_of(application).run_repeating(
                    admin.corpus_poll, interval=settings.poll_seconds, first=FIRST_POLL_DELAY,
                    name=admin.JOB_NAME, job_kwargs={"max_instances": 1, "coalesce": True},
                )  # fmt: skip
                source_handlers.schedule(application, settings.source_poll_seconds)
                election = Election(
                    services.store, sender, bot_id=application.bot.id, limiter=sender.limiter,
                    ttl=settings.lease_seconds,
                )  # fmt: skip
                application.bot_data["election"] = election
                await election.start()  # the sender runs in the replica holding its lease
            job_queue_of(application).run_once(warm_up, WARM_UP_DELAY, name="warm-up")
            await adoption.replay(application, application.bot_data["services"].store)
            adoption.schedule(application)  # updates a dead replica took are handled here
            if webhook is not None:
                from .webhook import start_webhook  # tornado: a webhook bot only

                await start_webhook(application, webhook, ALLOWED_UPDATES)
            else:
                await updater_of(application).start_polling(
                    poll_interval=0.0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES,
                    error_callback=_polling_failed, bootstrap_retries=BOOTSTRAP_RETRIES,
                )  # fmt: skip
            yield application
        finally:
            if updater_of(application).running:
                await updater_of(application).stop()
            if election is not None:
                await election.stop()
            if application.running:
                await application.stop()
            if isinstance(application.update_queue, JournaledQueue):
                application.update_queue.writer.close()  # its last writes, then its connection


def _polling_failed(exc: TelegramError) -> None:
    """PTB retries getUpdates by itself; one warning line per failure (no traceback)."""
    log.warning("getUpdates failed (%s: %s); retrying", type(exc).__name__, exc)


ALLOWED_UPDATES = [
    "message", "edited_message", "channel_post", "callback_query", "inline_query", "my_chat_member",
]  # fmt: skip
