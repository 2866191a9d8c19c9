"""The corpus-poll job, administrators' commands (/stats, /pending, /retry, /remove) and uploads.

``corpus_poll`` is a named ``JobQueue`` job: at start-up and then every ``DIGESTBOT_POLL_SECONDS``
it ingests new or changed corpus files (in a worker thread: on SQLite its own connection, on
PostgreSQL the application's pool), plans
deliveries for every article added since the last round (including those added by ``digestbot
ingest`` or by an upload) and wakes the sender. With several replicas, a round runs only in the one
holding the ``corpus-poll`` lease (:mod:`bot.election`).

Polls and uploads ingest under one lock (an upload is ingested once, by its handler: the poll sees
it recorded), report their progress in ``Services.ingest_status`` and stop at SIGTERM
(``Services.stopping``) after the article in hand. Uploads are kept under a unique name of bounded
length in ``corpus/uploads``; an upload from which nothing could be added is deleted.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import Update

from digests.backends import worker_store
from digests.formats import MAX_FILE_BYTES, SUFFIXES
from digests.ledger import Ledger, Status
from digests.models import Article
from digests.planning import plan, plan_report

from .common import BotContext, chat_id_of, command_text, document_of, lang_for, send, services
from .election import allows
from .i18n import rejection_text, t
from .render import esc
from .services import Services

if TYPE_CHECKING:
    from digests.ingest import IngestReport, IngestStatus

log = logging.getLogger(__name__)

JOB_NAME = "corpus-poll"
MAX_SETTLE_SECONDS = 5.0  # a new file unchanged this long is complete (or waits one round)
LISTED_REJECTIONS = 5  # rejections named in an upload's reply (all are counted)
PROGRESS_AFTER_SECONDS = 5.0  # an upload taking longer gets a progress message
NAME_BYTES = 120  # bytes of the original file name kept in an upload's name


def poll_and_plan(svc: Services) -> dict[str, Any]:
    """One round of the corpus job (runs in a worker thread with its own connection)."""
    from digests.watch import poll_corpus  # the engine's ingest is loaded by the first round

    status = svc.ingest_status
    with svc.ingest_lock, worker_store(svc.store, clock=svc.clock) as store:
        # at start-up every file is taken as it is (one still being written is taken again,
        # replacing its article, once it changes); later a new file must have settled
        settle = 0.0 if status.rounds == 0 else min(svc.settings.poll_seconds, MAX_SETTLE_SECONDS)
        status.begin()
        try:
            result = poll_corpus(
                store, Path(svc.settings.corpus), settle_seconds=settle,
                stop=svc.stopping, status=status,
            )  # fmt: skip
        finally:
            status.running = False
        planning = plan_report(store, svc.clock)
        planned = planning.added
        report = result.report
        summary = {
            "at": svc.clock().isoformat(timespec="seconds"),
            "added": len(report.added),
            "duplicates": len(report.duplicates),
            "rejected": report.rejected_count,
            "first_rejections": report.rejection_summary(LISTED_REJECTIONS),
            "waiting": len(result.waiting),
            "planned": planned,
        }
        store.set_state("last_poll", json.dumps(summary, ensure_ascii=False))
    summary["problems"] = planning.problems
    return summary


async def corpus_poll(context: BotContext) -> None:
    svc = services(context)
    if svc.stopping.is_set() or not allows(context.application, JOB_NAME):
        return  # another replica holds the corpus poll (bot.election)
    summary = await asyncio.to_thread(poll_and_plan, svc)
    if summary["planned"]:
        log.info("corpus poll planned %d deliveries", summary["planned"])
    sender = context.application.bot_data["sender"]
    sender.wake()
    if summary["problems"]:
        await sender.tell(summary["problems"])


def indexing_note(svc: Services, lang: str) -> str:
    """While the corpus poll is ingesting files: a line saying how far it is (lookups add it
    to "nothing found", which may only mean "not indexed yet")."""
    status = svc.ingest_status
    if not status.running or not status.files_total:
        return ""
    return "\n" + t(lang, "indexing", done=status.files_done, total=status.files_total)


def is_admin_user(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admins


async def _refuse(update: Update, context: BotContext, key: str = "admin_only") -> None:
    user = update.effective_user
    log.info("refused an admin action from user %s", user.id if user else None)
    await send(context, chat_id_of(update), t(lang_for(update, context), key))


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    """The handler runs for ``DIGESTBOT_ADMINS`` only; anyone else gets a polite refusal."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not is_admin_user(update, context):
            await _refuse(update, context)
            return
        await handler(update, context)

    return guarded


@admin_only
async def stats_cmd(update: Update, context: BotContext) -> None:
    lang = lang_for(update, context)
    store = services(context).store
    counts = store.ledger.counts()
    subscribers = store.subscriber_counts()
    last = store.get_state("last_poll")
    last_poll = t(lang, "never")
    if last:
        data = json.loads(last)
        last_poll = f"{data['at']} (+{data['added']}, ✗{data['rejected']})"
    text = t(
        lang,
        "admin_stats",
        articles=store.count(),
        subscribers=sum(subscribers.values()),
        paused=subscribers.get("paused", 0),
        sent=counts.get(Status.SENT, 0),
        pending=counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0),
        dead=counts.get(Status.DEAD, 0) + counts.get(Status.UNSURE, 0),
        skipped=counts.get(Status.SKIPPED, 0),
        last_poll=esc(last_poll),
    )
    await send(context, chat_id_of(update), text)


@admin_only
async def pending_cmd(update: Update, context: BotContext) -> None:
    lang = lang_for(update, context)
    store = services(context).store
    pending = store.ledger.rows(status=Status.PENDING)
    dead = store.ledger.rows(status=Status.DEAD) + store.ledger.rows(status=Status.UNSURE)
    lines = [
        t(
            lang,
            "admin_pending",
            pending=len(pending),
            chats=len({d.chat_id for d in pending}),
            dead=len(dead),
        )
    ]
    for row in dead[:20]:
        lines.append(
            t(
                lang,
                "admin_dead_line",
                chat=row.chat_id,
                seq=row.seq,
                error=esc((row.error or "")[:80]),
            )
        )
    await send(context, chat_id_of(update), "\n".join(lines))


@admin_only
async def retry_cmd(update: Update, context: BotContext) -> None:
    svc = services(context)
    n = Ledger(svc.store, clock=lambda: svc.clock().timestamp()).retry()
    context.application.bot_data["sender"].wake()
    await send(context, chat_id_of(update), t(lang_for(update, context), "admin_retry", n=n))


@admin_only
async def remove_cmd(update: Update, context: BotContext) -> None:
    """``/remove ID``: take an article out (its corpus file was deleted, or it should go)."""
    lang = lang_for(update, context)
    ident = command_text(update.effective_message).split()
    chat_id = chat_id_of(update)
    if not ident:
        await send(context, chat_id, t(lang, "remove_usage"))
        return
    article = await asyncio.to_thread(_remove, services(context), ident[0][:40])
    if article is None:
        await send(context, chat_id, t(lang, "remove_not_found", id=esc(ident[0][:40])))
        return
    await send(context, chat_id, t(lang, "removed", id=esc(article.id), title=esc(article.title)))


def _remove(svc: Services, ident: str) -> Article | None:
    from digests.ingest import remove

    with svc.ingest_lock, worker_store(svc.store, clock=svc.clock) as store:
        return remove(store, ident)


def _safe_name(name: str) -> str:
    """A file name safe on any file system: word characters, dots and dashes; the stem cut to
    ``NAME_BYTES`` bytes of UTF-8 (a long CJK name stays well under the 255-byte limit)."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^\w.\-]+", "_", stem).strip("._-") or "upload"
    suffix = re.sub(r"[^\w.]+", "", suffix)[:12].lower()
    stem = stem.encode("utf-8")[:NAME_BYTES].decode("utf-8", "ignore")
    return stem + suffix


def upload_path(folder: Path, name: str, when: datetime) -> Path:
    """A new, unique path for an upload: time stamp, random part, safe original name."""
    return folder / f"{when.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}-{_safe_name(name)}"


async def document_upload(update: Update, context: BotContext) -> None:
    """An administrator sends a .txt/.md/.json/.jsonl file: it is saved into the corpus and
    ingested at once (in a worker thread); the answer counts what was added or rejected and names
    the first few rejections."""
    lang = lang_for(update, context)
    document = document_of(update)
    chat_id = chat_id_of(update)
    if not is_admin_user(update, context):
        await _refuse(update, context, "upload_only_admins")
        return
    name = _safe_name(document.file_name or "upload.txt")
    if Path(name).suffix.lower() not in SUFFIXES:
        await send(context, chat_id, t(lang, "upload_bad_type"))
        return
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await send(context, chat_id, t(lang, "upload_too_large"))
        return
    svc = services(context)
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    if len(data) > MAX_FILE_BYTES:  # file_size was missing or wrong: nothing is kept
        await send(context, chat_id, t(lang, "upload_too_large"))
        return
    path = upload_path(Path(svc.settings.corpus) / "uploads", name, svc.clock())
    from digests.ingest import IngestStatus

    status = IngestStatus()
    work = asyncio.ensure_future(asyncio.to_thread(_store_upload, svc, path, data, status))
    done, _ = await asyncio.wait({work}, timeout=PROGRESS_AFTER_SECONDS)
    if not done:
        await send(context, chat_id, t(lang, "upload_progress", added=status.added, name=esc(name)))
    report = await work
    lines = [
        t(lang, "upload_result", added=len(report.added), duplicates=len(report.duplicates),
          rejected=report.rejected_count)
    ]  # fmt: skip
    for item in report.rejected[:LISTED_REJECTIONS]:
        where = Path(item.source).name.replace(path.name, name)
        reason = esc(rejection_text(lang, item.reason))
        lines.append(t(lang, "upload_rejected_line", file=esc(where), reason=reason))
    if report.rejected_count > LISTED_REJECTIONS:
        lines.append(t(lang, "upload_more_rejected", n=report.rejected_count - LISTED_REJECTIONS))
    if report.interrupted:
        lines.append(t(lang, "upload_interrupted"))
    await send(context, chat_id, "\n".join(lines))
    context.application.bot_data["sender"].wake()


def _store_upload(svc: Services, path: Path, data: bytes, status: IngestStatus) -> IngestReport:
    """Write and ingest an upload, under the ingest lock so that the corpus poll never takes it
    too; an upload from which nothing was added or found stored already is deleted."""
    from digests.ingest import ingest

    with svc.ingest_lock, worker_store(svc.store, clock=svc.clock) as store:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as fh:  # a unique name: never overwrite another upload
            fh.write(data)
        report = ingest(
            store, [path], workers=1, progress=False, stop=svc.stopping, status=status,
            short_transactions=True,  # the bot's other writes wait behind no long transaction
        )  # fmt: skip
        st = path.stat()
        if report.interrupted:
            outcome = "seen"  # the corpus poll takes it again after the restart
        elif not report.added and not report.duplicates:
            path.unlink()
            outcome = "deleted"
        else:
            outcome = "rejected" if report.rejected_count else "ingested"
        store.record_corpus_file(
            str(path), st.st_size, st.st_mtime_ns, outcome, now=datetime.now().timestamp()
        )
        plan(store, svc.clock)
    return report
