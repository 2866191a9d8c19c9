"""Administrators' /source command, its buttons, OPML upload, and the source-poll job.

``/source add URL|rsshub://route [name]`` checks the URL with one fetch and says what it found (or
why not, in one line); ``/source list`` shows each source's status with buttons to pause, resume,
check now and remove; ``/source remove|pause|resume|check ID``; ``/source export`` sends an .opml
file; an uploaded ``.opml`` file imports its feeds. Only ``DIGESTBOT_ADMINS`` may use any of it:
sources feed the corpus every chat shares.

``source_poll`` is a named ``JobQueue`` job: every ``DIGESTBOT_SOURCE_POLL_SECONDS`` it polls the sources
that are due (in a worker thread, on its own connection and event loop), plans deliveries, wakes
the sender, and tells the administrators about a source it had to disable.

The sources engine (:mod:`digests.sources`, :mod:`digests.fetch`, :mod:`digests.opml`:
feedparser, lxml; the fetcher is httpx, PTB's HTTP client) is imported where it is first used,
not at start-up: a bot that never polls a source never loads it (tests/test_startup_imports.py
holds the start-up to that).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from digests.backends import is_database_url, store_location, worker_store
from digests.errors import DigestError
from digests.models import Delivery, Source
from digests.planning import plan
from digests.store import Store

from . import buttons
from .admin import _refuse, admin_only, is_admin_user
from .common import (
    BotApplication,
    BotContext,
    chat_id_of,
    command_text,
    document_of,
    job_queue_of,
    lang_for,
    send,
    services,
)
from .election import allows
from .i18n import t
from .render import esc

if TYPE_CHECKING:
    from digests.opml import Outline

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

JOB_NAME = "source-poll"
MAX_OPML_BYTES = 1024 * 1024
LIST_LIMIT = 30


def reason(lang: str, exc: Exception) -> str:
    """A one-line reason in the user's language (the engine's English detail kept in brackets)."""
    from digests.fetch import FetchError, Refused
    from digests.sources import SourceError

    detail = str(exc)
    if isinstance(exc, Refused):
        key = "src_why_refused"
    elif isinstance(exc, FetchError) and "timed out" in detail:
        key = "src_why_timeout"
    elif isinstance(exc, FetchError) and "too large" in detail:
        key = "src_why_large"
    elif isinstance(exc, FetchError) and exc.status:
        key = "src_why_http"
    elif isinstance(exc, FetchError):
        key = "src_why_network"
    elif isinstance(exc, SourceError) and "already" in detail:
        key = "src_why_exists"
    else:
        key = "src_why_content"
    return t(lang, key, detail=esc(detail))


def _when(ts: float | None, lang: str) -> str:
    if not ts:
        return t(lang, "never")
    return datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%M UTC")


def source_line(lang: str, source: Source) -> str:
    line = t(
        lang,
        "src_line",
        id=source.id,
        name=esc(source.name),
        kind=source.kind,
        status=t(lang, f"src_status_{source.status}"),
        items=source.items,
        success=_when(source.last_success, lang),
    )
    if source.last_error:
        line += "\n" + t(lang, "src_line_error", error=esc(source.last_error[:120]))
    return line


def _button(label: str, action: buttons.SourceActionCode, source_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label, callback_data=buttons.encode(buttons.SourceAction(action, source_id))
    )


def list_view(lang: str, sources: list[Source]) -> tuple[str, InlineKeyboardMarkup | None]:
    if not sources:
        return t(lang, "src_none"), None
    shown = sources[:LIST_LIMIT]
    text = "\n".join(
        [t(lang, "src_list_header", n=len(sources)), *(source_line(lang, s) for s in shown)]
    )
    rows = []
    for s in shown:
        toggle = (
            _button(t(lang, "src_btn_resume", id=s.id), "r", s.id)
            if s.status != "active"
            else _button(t(lang, "src_btn_pause", id=s.id), "p", s.id)
        )
        rows.append(
            [
                toggle,
                _button(t(lang, "src_btn_check"), "c", s.id),
                _button(t(lang, "src_btn_remove"), "x", s.id),
            ]
        )
    return text, InlineKeyboardMarkup(rows)


def _round_target(store: Store) -> str | Store:
    """What a round in a worker thread runs on: PostgreSQL's store is shared (one pool), SQLite's
    file gets the thread's own connection."""
    location = store_location(store)
    return store if is_database_url(location) else location


def _poll_one(
    app_store: Store, source_id: int, clock: Clock, stop: threading.Event
) -> dict[str, Any]:
    from digests.sources import run_round

    report = run_round(_round_target(app_store), source_ids=[source_id], stop=stop)
    with worker_store(app_store, clock=clock) as store:
        plan(store, clock)
        reposts = _reposts(store, [i for r in report.sources for i in r.added])
    return (report.sources[0].to_dict() if report.sources else {}) | {"reposts": reposts}


async def _act(context: BotContext, lang: str, action: str, source_id: int) -> str:
    """Do pause/resume/check/remove on a source; the answer text."""
    svc = services(context)
    source = svc.store.get_source(source_id)
    if source is None:
        return t(lang, "src_unknown", id=source_id)
    if action == "pause":
        svc.store.update_source(source_id, status="paused")
        return t(lang, "src_paused", name=esc(source.name))
    if action == "resume":  # a resumed (or re-enabled) source is due at once, failures forgotten
        svc.store.update_source(
            source_id, status="active", next_due=0.0, failures=0, failing_since=None
        )
        return t(lang, "src_resumed", name=esc(source.name))
    if action == "remove":
        svc.store.remove_source(source_id)
        return t(lang, "src_removed", name=esc(source.name))
    result = await asyncio.to_thread(_poll_one, svc.store, source_id, svc.clock, svc.stopping)
    context.application.bot_data["sender"].wake()
    await update_story_messages(context, result["reposts"])
    if result.get("status") == "failed":
        return t(
            lang, "src_check_failed", name=esc(source.name), error=esc(result.get("error") or "")
        )
    return t(
        lang, "src_checked", name=esc(source.name), added=len(result.get("added", [])),
        quiet=result.get("quiet", 0),
    )  # fmt: skip


ACTIONS = {
    "remove": "remove",
    "rm": "remove",
    "pause": "pause",
    "resume": "resume",
    "check": "check",
}


@admin_only
async def source_cmd(update: Update, context: BotContext) -> None:
    lang = lang_for(update, context)
    chat_id = chat_id_of(update)
    words = command_text(update.effective_message).split()
    verb = words[0].lower() if words else "list"
    svc = services(context)
    if verb == "add" and len(words) >= 2:
        name = " ".join(words[2:]) or None
        from digests.fetch import Fetcher
        from digests.sources import add_source

        try:
            async with Fetcher() as fetcher:
                source, found = await add_source(
                    svc.store, fetcher, words[1], name, now=svc.clock().timestamp()
                )
        except DigestError as exc:
            await send(
                context,
                chat_id,
                t(lang, "src_add_failed", url=esc(words[1]), reason=reason(lang, exc)),
            )
            return
        text = t(
            lang,
            "src_added",
            id=source.id,
            name=esc(source.name),
            kind=source.kind,
            items=found.items,
        )
        if found.problem:
            text += "\n" + t(lang, "src_added_problem", problem=esc(found.problem))
        await send(context, chat_id, text)
        return
    if verb == "list":
        text, keyboard = list_view(lang, svc.store.sources())
        await send(context, chat_id, text, keyboard)
        return
    if verb == "export":
        from digests.opml import write_opml

        data = write_opml(svc.store.sources())
        await context.bot.send_document(chat_id, data, filename="digestbot-sources.opml")
        return
    if verb in ACTIONS and len(words) == 2 and words[1].lstrip("#").isdigit():
        await send(
            context, chat_id, await _act(context, lang, ACTIONS[verb], int(words[1].lstrip("#")))
        )
        return
    await send(context, chat_id, t(lang, "src_usage"))


async def on_source_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    lang = lang_for(update, context)
    if not is_admin_user(update, context):
        await query.answer(t(lang, "admin_only"), show_alert=True)
        return
    button = buttons.parse(query.data)
    if not isinstance(button, buttons.SourceAction):  # the pattern let only these through
        await query.answer(t(lang, "button_invalid"), show_alert=True)
        return
    action = {"p": "pause", "r": "resume", "c": "check", "x": "remove"}[button.action]
    answer = await _act(context, lang, action, button.source_id)
    await query.answer(answer[:190])
    text, keyboard = list_view(lang, services(context).store.sources())
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except TelegramError as exc:  # unchanged text, or the message is gone: the answer says it
        log.info("could not refresh the source list: %s", exc)


async def opml_upload(update: Update, context: BotContext) -> None:
    lang = lang_for(update, context)
    chat_id = chat_id_of(update)
    if not is_admin_user(update, context):
        await _refuse(update, context, "upload_only_admins")
        return
    document = document_of(update)
    if document.file_size and document.file_size > MAX_OPML_BYTES:
        await send(context, chat_id, t(lang, "upload_too_large"))
        return
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    from digests.opml import read_opml

    try:
        outlines = read_opml(data)
    except DigestError as exc:
        await send(context, chat_id, t(lang, "src_opml_bad", reason=esc(str(exc))))
        return
    await send(context, chat_id, t(lang, "src_importing", n=len(outlines)))
    # one fetch per feed: in the background, so that the bot answers others meanwhile
    context.application.create_task(_import(context, chat_id, lang, outlines), update=update)


async def _import(context: BotContext, chat_id: int, lang: str, outlines: list[Outline]) -> None:
    from digests.fetch import Fetcher
    from digests.sources import import_outlines

    async with Fetcher() as fetcher:
        rows = await import_outlines(services(context).store, fetcher, outlines)
    added = [r for r in rows if not r.get("error")]
    lines = [t(lang, "src_imported", added=len(added), failed=len(rows) - len(added))]
    lines += [
        t(lang, "src_import_failed_line", url=esc(r["url"]), error=esc(r["error"]))
        for r in rows
        if r.get("error")
    ][:20]
    await send(context, chat_id, "\n".join(lines))


def _round_and_plan(app_store: Store, clock: Clock, stop: threading.Event) -> dict[str, Any]:
    from digests.sources import run_round

    report = run_round(_round_target(app_store), stop=stop)  # ends soon after the bot is told to
    with worker_store(app_store, clock=clock) as store:
        planned = plan(store, clock)
        data = report.to_dict()
        data["planned"] = planned
        data["reposts"] = _reposts(store, [i for r in report.sources for i in r.added])
    return data


def _reposts(store: Store, article_ids: list[str]) -> list[Delivery]:
    """Instant messages already sent for a story that one of the new articles joined: they get
    the new source in their "also reported by" line."""
    seqs = [s for s in (store.seq_of(i) for i in article_ids) if s is not None]
    found: list[Delivery] = []
    for seq, story in store.stories_of(seqs).items():
        if story != seq:
            found += store.story_messages(story, seq)
    return found


async def update_story_messages(context: BotContext, rows: list[Delivery]) -> None:
    """Edit sent messages of a story so that their card names every source that reported it."""
    svc = services(context)
    sender = context.application.bot_data["sender"]
    for row in rows:
        article = svc.store.get_many([row.seq]).get(row.seq)
        if article is None or row.message_id is None:
            continue
        chat = svc.store.get_chat(row.chat_id)
        lang = (chat.language if chat and chat.language else None) or svc.settings.lang
        item = sender._instant(row, article, lang)  # the very card the sender sent
        try:
            await context.bot.edit_message_text(
                item.text,
                chat_id=row.chat_id,
                message_id=row.message_id,
                reply_markup=item.keyboard,
            )
        except TelegramError as exc:  # deleted, too old, unchanged: the message stays as it was
            log.info(
                "could not add a source to message %s in %s: %s", row.message_id, row.chat_id, exc
            )


async def source_poll(context: BotContext) -> None:
    """The job: poll due sources, plan, wake the sender, report disabled sources to admins
    (with several replicas, only in the one holding the ``source-poll`` lease)."""
    svc = services(context)
    if not allows(context.application, JOB_NAME):
        return
    if not svc.store.sources(due_before=svc.clock().timestamp() + 1):
        return
    data = await asyncio.to_thread(_round_and_plan, svc.store, svc.clock, svc.stopping)
    if data["planned"]:
        context.application.bot_data["sender"].wake()
    await update_story_messages(context, data["reposts"])
    for item in data["sources"]:
        if not item["disabled"]:
            continue
        for admin_id in svc.settings.admins:
            text = t(
                svc.settings.lang,
                "src_disabled_notice",
                id=item["id"],
                name=esc(item["name"]),
                error=esc(item["error"] or ""),
            )
            try:
                await send(context, admin_id, text)
            except TelegramError as exc:
                log.warning(
                    "could not tell admin %s about source %s: %s", admin_id, item["id"], exc
                )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The handlers of this module, to be added before the general document handler."""
    return [
        CommandHandler("source", source_cmd),
        CallbackQueryHandler(on_source_button, pattern=buttons.is_source),
        MessageHandler(
            filters.Document.FileExtension("opml") & filters.ChatType.PRIVATE, opml_upload
        ),
    ]


def schedule(application: BotApplication, seconds: float) -> None:
    job_queue_of(application).run_repeating(
        source_poll, interval=seconds, first=0.5, name=JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True},
    )  # fmt: skip
