"""The corpus-poll job, administrators' commands (/stats, /pending, /retry) and article uploads.

``corpus_poll`` is a named ``JobQueue`` job: every ``DIGESTBOT_POLL_SECONDS`` it ingests new or
changed corpus files (in a worker thread, on its own database connection), plans deliveries for
every article added since the last round (including those added by ``digestbot ingest`` or by an
upload) and wakes the sender.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from telegram import Update
from telegram.ext import ContextTypes

from digests.backends import open_store, store_location
from digests.formats import MAX_FILE_BYTES, SUFFIXES
from digests.ingest import ingest
from digests.ledger import Ledger, Status
from digests.planning import plan, plan_report
from digests.watch import poll_corpus

from .common import lang_for, send, services
from .i18n import t
from .render import esc

log = logging.getLogger(__name__)

JOB_NAME = "corpus-poll"


def poll_and_plan(db_path: str, corpus: Path, settle: float, clock) -> dict:
    """One round of the corpus job (runs in a worker thread with its own connection)."""
    with open_store(db_path, clock=clock) as store:
        result = poll_corpus(store, corpus, settle_seconds=settle)
        report = plan_report(store, clock)
        planned = report.added
        summary = {
            "at": clock().isoformat(timespec="seconds"),
            "added": len(result.report.added),
            "duplicates": len(result.report.duplicates),
            "rejected": len(result.report.rejected),
            "waiting": len(result.waiting),
            "planned": planned,
        }
        store.set_state("last_poll", json.dumps(summary))
    summary["problems"] = report.problems
    return summary


async def corpus_poll(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    settings = svc.settings
    summary = await asyncio.to_thread(
        poll_and_plan, store_location(svc.store), Path(settings.corpus), settings.poll_seconds, svc.clock
    )
    if summary["planned"]:
        log.info("corpus poll planned %d deliveries", summary["planned"])
    sender = context.application.bot_data["sender"]
    sender.wake()
    if summary["problems"]:
        await sender.tell(summary["problems"])


def is_admin_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.admins


async def _refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str = "admin_only"
) -> None:
    user = update.effective_user
    log.info("refused an admin action from user %s", user.id if user else None)
    await send(context, update.effective_chat.id, t(lang_for(update, context), key))


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def admin_only(handler: Handler) -> Handler:
    """The handler runs for ``DIGESTBOT_ADMINS`` only; anyone else gets a polite refusal."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not is_admin_user(update, context):
            await _refuse(update, context)
            return
        await handler(update, context)

    return guarded


@admin_only
async def stats_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    await send(context, update.effective_chat.id, text)


@admin_only
async def pending_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    await send(context, update.effective_chat.id, "\n".join(lines))


@admin_only
async def retry_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    n = Ledger(svc.store, clock=lambda: svc.clock().timestamp()).retry()
    context.application.bot_data["sender"].wake()
    await send(context, update.effective_chat.id, t(lang_for(update, context), "admin_retry", n=n))


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[:100]


async def document_upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An administrator sends a .txt/.md/.json/.jsonl file: it is saved into the corpus and
    ingested at once; the answer lists what was added or rejected."""
    lang = lang_for(update, context)
    document = update.effective_message.document
    if not is_admin_user(update, context):
        await _refuse(update, context, "upload_only_admins")
        return
    name = _safe_name(document.file_name or "upload.txt")
    if Path(name).suffix.lower() not in SUFFIXES:
        await send(context, update.effective_chat.id, t(lang, "upload_bad_type"))
        return
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await send(context, update.effective_chat.id, t(lang, "upload_too_large"))
        return
    svc = services(context)
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    folder = Path(svc.settings.corpus) / "uploads"
    stamp = svc.clock().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{name}"
    report = await asyncio.to_thread(_store_upload, store_location(svc.store), path, data, svc.clock)
    lines = [
        t(lang, "upload_result", added=len(report["added"]), duplicates=len(report["duplicates"]),
          rejected=len(report["rejected"]))
    ]  # fmt: skip
    for item in report["rejected"]:
        lines.append(
            t(
                lang,
                "upload_rejected_line",
                file=esc(Path(item["file"]).name),
                reason=esc(item["reason"]),
            )
        )
    await send(context, update.effective_chat.id, "\n".join(lines))
    context.application.bot_data["sender"].wake()


def _store_upload(db_path: str, path: Path, data: bytes, clock) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with open_store(db_path, clock=clock) as store:
        report = ingest(store, [path], workers=1, progress=False)
        st = path.stat()
        status = "rejected" if report.rejected else "ingested"
        store.record_corpus_file(
            str(path), st.st_size, st.st_mtime_ns, status, now=datetime.now().timestamp()
        )
        plan(store, clock)
    return report.to_dict()
