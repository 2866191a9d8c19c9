"""``digestbot run``: load settings, open the store, ingest the corpus, run the bot.

With ``TELEGRAM_BOT_TOKEN`` set, the bot long-polls Telegram (or ``TELEGRAM_API_BASE_URL``), or
takes updates by webhook with ``DIGESTBOT_WEBHOOK_URL`` set (``--webhook`` insists on it). Without
it, the embedded default runs: the project's local Bot API emulator plus a terminal chat
(:mod:`bot.play`), the real Application talking HTTP to the emulator on the shipped corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from digests import numeric
from digests.backends import open_store
from digests.errors import DigestError

from .config import ConfigError, Settings, load_settings
from .footprint import import_httpx, import_telegram_ext, limit_arenas
from .logsafe import TokenMask, setup_logging
from .services import Services

log = logging.getLogger("digestbot")


def open_services(settings: Settings, *, load_corpus: bool = False) -> Services:
    """Open the store; with ``load_corpus``, ingest the corpus folder before answering anyone
    (the embedded chat does, so its first search sees the shipped articles; the real bot leaves
    it to the corpus-poll job, which starts at once, so start-up stays fast)."""
    store = open_store(settings.db)
    try:
        store.check_writable()
    except DigestError:
        store.close()
        raise
    corpus = Path(settings.corpus)
    if load_corpus and corpus.is_dir():
        from digests.watch import poll_corpus

        report = poll_corpus(store, corpus, settle_seconds=0.0).report
        log.info(
            "corpus %s: %d added, %d rejected", corpus, len(report.added), report.rejected_count
        )
    elif not corpus.is_dir():
        log.warning("corpus folder %s does not exist; starting with the stored articles", corpus)
    return Services(store=store, settings=settings)  # the gazetteer is loaded on first use


GC_PAUSE_SECONDS = 1.0  # s after the event loop starts: the garbage collector is back on


def run(args: argparse.Namespace | None = None, *, embedded: bool = False) -> int:
    """The bot; ``embedded`` (``digestbot play``, or no token configured) runs the local emulator
    and terminal chat instead of long-polling Telegram.

    The cyclic garbage collector waits until the bot answers: start-up creates ~90,000 objects
    (modules, classes, PTB's machinery), and a full collection over them midway costs ~20 ms of the
    time to the first answer; it is back on ``GC_PAUSE_SECONDS`` after the event loop started
    (the bot answers by then; if Telegram cannot be reached, the retries run with it on).

    The bot analyses articles one by one as they come: on the engine's plain-Python paths,
    never loading numpy (:mod:`digests.numeric`; a bulk ``digestbot ingest`` uses numpy), and
    with one malloc arena and httpx without its command-line client (:mod:`bot.footprint`)."""
    limit_arenas()
    import_httpx()
    lean = numeric.is_lean()
    numeric.set_lean()
    gc.disable()
    try:
        return _run(args, embedded=embedded)
    finally:
        gc.enable()
        numeric.set_lean(lean)


def _run(args: argparse.Namespace | None, *, embedded: bool) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"digestbot: configuration error: {exc}", file=sys.stderr)
        return 2
    if args is not None and getattr(args, "db", None):
        settings = replace(settings, db=args.db)
    if args is not None and getattr(args, "webhook", False):
        if settings.webhook is None:
            print(
                "digestbot: configuration error: --webhook needs DIGESTBOT_WEBHOOK_URL (the public "
                "https URL Telegram posts to) and DIGESTBOT_WEBHOOK_SECRET",
                file=sys.stderr,
            )
            return 2
        if settings.token is None:
            print(
                "digestbot: configuration error: --webhook needs TELEGRAM_BOT_TOKEN",
                file=sys.stderr,
            )
            return 2
    embedded = embedded or settings.token is None
    level = settings.log_level
    if embedded and "DIGESTBOT_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the terminal chat is the screen; keep routine log lines off it
    setup_logging(level, settings.token, secrets=webhook_secrets(settings))
    try:
        services = open_services(settings, load_corpus=embedded)
    except (DigestError, OSError) as exc:  # e.g. a database folder that cannot be created
        print(f"digestbot: {TokenMask(settings.token).mask(str(exc))}", file=sys.stderr)
        return 2
    try:
        if embedded:
            from .play import run_embedded  # the emulator is loaded only when it is used

            gc.enable()  # an interactive session: no start-up time to save

            return run_embedded(services)
        return run_telegram(services)
    finally:
        services.store.close()


def webhook_secrets(settings: Settings) -> tuple[str, ...]:
    """What the log must mask besides the token (PTB logs setWebhook's parameters at DEBUG)."""
    return (settings.webhook.secret,) if settings.webhook is not None else ()


def run_telegram(services: Services) -> int:
    """Take updates from the real Bot API (or TELEGRAM_API_BASE_URL) until SIGINT/SIGTERM."""
    return asyncio.run(serve(services))


async def serve(services: Services) -> int:
    """Connect (retrying while the network is down), run until SIGINT/SIGTERM. A start-up failure
    is one line on stderr, the token masked: status 2 for a rejected token, 1 otherwise."""
    settings = services.settings
    import_telegram_ext(webhooks=settings.webhook is not None)
    from telegram.error import InvalidToken

    from .app import build_application, running
    from .startup import connect, one_line

    if settings.token is None:  # run() starts the terminal chat instead
        raise ValueError("serve() needs TELEGRAM_BOT_TOKEN")
    application = build_application(
        services,
        token=settings.token,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(GC_PAUSE_SECONDS, gc.enable)  # see run(): by then the bot answers

    def on_signal() -> None:
        services.stopping.set()  # a running ingest stops after the article in hand
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        if not await connect(application.bot, stop):
            log.info("stopped before Telegram could be reached")
            return 0
        async with running(application, webhook=settings.webhook):
            how = "webhook" if settings.webhook is not None else "long polling"
            log.info("bot @%s started (%s)", application.bot.username, how)
            await stop.wait()
            log.info("stopping: finishing in-flight work")
    except Exception as exc:
        print(f"digestbot: {one_line(exc, settings.token)}", file=sys.stderr)
        return 2 if isinstance(exc, InvalidToken) else 1
    finally:
        with contextlib.suppress(Exception):
            await application.bot.shutdown()
    log.info("bot stopped")
    return 0
