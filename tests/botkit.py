"""Running the real bot Application against the fake Bot API server, for end-to-end tests.

Every exception PTB hands to the error handlers (a handler or a job that raised) is recorded, and
leaving ``running_bot`` with one unclaimed fails the test: the bot's own error handler answers the
user politely, so without this a test that only waits for a reply would pass over a crash. A test
that provokes an error on purpose claims it with ``env.take_errors()``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from telegram.ext import Application, ContextTypes

from bot.app import build_application, running
from bot.config import Settings, Webhook
from bot.services import Services
from digests.backends import open_store
from digests.ingest import ingest
from digests.regions import load_gazetteer
from digests.store import Store
from fakebotapi import FakeTelegram, SentMessage

TOKEN = "987654321:AAH-test-secret-token-abcdefghijklmnopq"
USER = 5001


@dataclass
class BotEnv:
    fake: FakeTelegram
    app: Application
    services: Services
    errors: list[BaseException] = field(default_factory=list)

    def take_errors(self) -> list[BaseException]:
        """The errors recorded so far, which the test thereby expects (they no longer fail it)."""
        taken, self.errors[:] = list(self.errors), []
        return taken

    @property
    def store(self) -> Store:
        return self.services.store

    async def say(self, text: str, chat: int = USER, n: int = 1, **kw) -> list[SentMessage]:
        """Send ``text`` as a user and return the ``n`` messages the bot sends back."""
        kw.setdefault("language_code", "zh-hans")
        before = len(self.fake.messages_to(chat))
        self.fake.user_message(chat, text, **kw)
        sent = await self.fake.wait_for_messages(chat, before + n, timeout=10)
        return sent[before:]

    async def group(self, chat: int, text: str, n: int = 1, **kw) -> list[SentMessage]:
        kw.setdefault("language_code", "zh-hans")
        before = len(self.fake.messages_to(chat))
        self.fake.group_message(chat, text, **kw)
        sent = await self.fake.wait_for_messages(chat, before + n, timeout=10)
        return sent[before:]

    async def press(self, message: SentMessage, data: str, chat: int = USER, **kw) -> None:
        """Press a button and wait until the bot has handled it."""
        kw.setdefault("language_code", "zh-hans")
        answered = len(self.fake.answers)
        self.fake.callback(message, data, **kw)
        await self.fake.wait_for(lambda: len(self.fake.answers) > answered, timeout=10)

    async def unanswered(self, text: str, chat: int, **kw) -> list[SentMessage]:
        """Send ``text`` then ``/help``; return what the bot sent before the help (expected: [])."""
        kw.setdefault("language_code", "zh-hans")
        before = len(self.fake.messages_to(chat))
        self.fake.user_message(chat, text, **kw)
        self.fake.user_message(chat, "/help", **kw)
        sent = await self.fake.wait_for(
            lambda: (lambda m: m if any("/search" in (x.text or "") for x in m) else None)(
                self.fake.messages_to(chat)[before:]
            ),
            timeout=10,
        )
        return sent[:-1]


def write_articles(folder: Path, articles: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (title, text) in enumerate(articles):
        (folder / f"extra{i:02d}.json").write_text(
            json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8"
        )
    return folder


@asynccontextmanager
async def running_bot(
    db: Path | str,
    *,
    lang: str = "zh",
    admins: frozenset[int] = frozenset(),
    corpus: Path | None = None,
    poll_seconds: float = 60.0,
    source_poll_seconds: float = 60.0,
    clock=None,
    fake: FakeTelegram | None = None,
    limiter=None,
    backoff_base: float = 0.05,
    concurrency: int = 4,
    webhook: Webhook | None = None,
    lease_seconds: float = 5.0,
) -> AsyncIterator[BotEnv]:
    """The real Application against a fake Bot API (started here unless ``fake`` is given);
    updates by long polling, or by ``webhook`` (the fake POSTs them to the bot)."""
    own_fake = fake is None
    if own_fake:
        fake = await FakeTelegram(TOKEN).start()
    settings = Settings(
        token=TOKEN, base_url=fake.base_url, db=str(db), lang=lang, admins=admins,
        corpus=str(corpus or Path(db).parent / "no-corpus"), poll_seconds=poll_seconds,
        source_poll_seconds=source_poll_seconds,
        webhook=webhook, lease_seconds=lease_seconds,
    )  # fmt: skip
    store = open_store(db, clock=clock) if clock else open_store(db)  # a file or a URL
    services = Services(store=store, gazetteer=load_gazetteer(), settings=settings)
    if clock is not None:
        services.clock = clock
    app = build_application(
        services, token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url,
        poll_timeout=1, limiter=limiter, backoff_base=backoff_base, concurrency=concurrency,
    )  # fmt: skip
    env = BotEnv(fake, app, services)

    async def record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        env.errors.append(context.error or RuntimeError("error handler called without an error"))

    app.add_error_handler(record_error)  # PTB calls every error handler; the bot's own is kept
    try:
        async with running(app, poll_timeout=1, webhook=webhook):
            yield env
    finally:
        store.close()
        if own_fake:
            await fake.stop()
    if env.errors:
        raise AssertionError(
            f"the bot raised {len(env.errors)} unexpected error(s): "
            + "; ".join(f"{type(e).__name__}: {e}" for e in env.errors)
        ) from env.errors[0]


def ingest_into(db: Path, folder: Path) -> None:
    with Store(db) as store:
        ingest(store, [folder], workers=1)


def drop(
    corpus: Path, name: str, title: str, text: str = "兵团职工积极参加培训，学习农业技术。"
) -> Path:
    """Put an article file into the corpus folder the way a feed would: written elsewhere, then
    moved in (the corpus poll never sees half a file)."""
    path = corpus / name
    tmp = corpus / (name + ".part")
    tmp.write_text(json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8")
    tmp.rename(path)
    return path
