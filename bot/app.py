"""The one place the ``telegram.ext.Application`` is built: handlers, defaults, commands, errors."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from . import admin, lookup, subscribe
from . import sources as source_handlers
from .common import lang_for, send
from .i18n import TEXTS, t
from .ratelimit import Limiter
from .sender import Sender
from .services import Services
from .throttle import ChatThrottle
from .updates import FairProcessor, JournaledQueue, replay

log = logging.getLogger(__name__)

COMMANDS = (
    "start", "help", "search", "region", "regions", "latest", "article",
    "subscribe", "subscriptions", "unsubscribe", "settings",
)  # fmt: skip
ADMIN_COMMANDS = ("stats", "pending", "retry", "remove", "source")
FIRST_POLL_DELAY = 0.1  # s; the first corpus poll runs at start-up (with 0 APScheduler would
# find its start already past and wait a whole interval)


async def start_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.args and await lookup.start_with_payload(update, context, context.args[0]):
        return
    await send(context, update.effective_chat.id, t(lang_for(update, context), "start"))


async def help_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    username = html.escape(context.bot.username or "bot")
    await send(
        context, update.effective_chat.id, t(lang_for(update, context), "help").format(bot=username)
    )


async def channel_post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands posted in a channel where the bot is an administrator."""
    text = update.effective_message.text or ""
    command = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text else ""
    if command == "/subscribe":
        await subscribe.subscribe_cmd(update, context)
    elif command == "/unsubscribe":
        await subscribe.unsubscribe_cmd(update, context)
    elif command == "/subscriptions":
        await subscribe.subscriptions_cmd(update, context)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unexpected error with its traceback and answer the user politely."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await send(context, update.effective_chat.id, t(lang_for(update, context), "error"))
        except Exception:  # the chat may be unreachable: the log line above is what matters
            log.warning("could not tell chat %s about the error", update.effective_chat.id)


async def publish_commands(application: Application) -> None:
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
) -> Application:
    """The bot's Application, wired to ``services`` (store, gazetteer, settings).

    ``limiter`` defaults to Telegram's limits; pass ``Limiter(enabled=False)`` to switch them off.
    Updates are journaled, then handled ``concurrent_updates`` at a time, one at a time per chat,
    a flooding chat throttled (:mod:`bot.updates`).
    """
    limiter = limiter if limiter is not None else Limiter()
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .get_updates_read_timeout(poll_timeout + 10)
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


def add_handlers(application: Application) -> None:
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
        CallbackQueryHandler(lookup.on_lookup_button, pattern=r"^[pafg]:"),
        CallbackQueryHandler(subscribe.on_subscription_button, pattern=r"^[us]:"),
        InlineQueryHandler(lookup.on_inline),
        ChatMemberHandler(subscribe.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
    for handler in handlers:
        application.add_handler(handler)
    application.add_error_handler(on_error)


@asynccontextmanager
async def running(
    application: Application, *, poll_timeout: int = 10, deliver: bool = True
) -> AsyncIterator[Application]:
    """Initialise, publish the commands, start long polling, the corpus job and the sender;
    on exit stop taking updates, let the sender finish what is in flight, and stop."""
    sender: Sender = application.bot_data["sender"]
    settings = application.bot_data["services"].settings
    async with application:
        await publish_commands(application)
        await application.start()
        try:  # whatever fails from here, the application is stopped before it is shut down
            if deliver:
                application.job_queue.run_repeating(
                    admin.corpus_poll, interval=settings.poll_seconds, first=FIRST_POLL_DELAY,
                    name=admin.JOB_NAME, job_kwargs={"max_instances": 1, "coalesce": True},
                )  # fmt: skip
                source_handlers.schedule(application, settings.poll_seconds)
                sender.start()
            await replay(application, application.bot_data["services"].store)
            await application.updater.start_polling(
                poll_interval=0.0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES,
                error_callback=_polling_failed,
            )  # fmt: skip
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if deliver:
                await sender.stop()
            if application.running:
                await application.stop()


def _polling_failed(exc: TelegramError) -> None:
    """PTB retries getUpdates by itself; one warning line per failure (no traceback)."""
    log.warning("getUpdates failed (%s: %s); retrying", type(exc).__name__, exc)


ALLOWED_UPDATES = [
    "message", "edited_message", "channel_post", "callback_query", "inline_query", "my_chat_member",
]  # fmt: skip
