"""The embedded default: the local Bot API emulator plus a terminal chat with the real bot.

``digestbot run`` without a token (or ``digestbot play``) starts :class:`fakebotapi.FakeTelegram`
on 127.0.0.1, runs the real ``Application`` against it over HTTP, and lets a person type messages
as a Telegram user. Buttons are pressed by typing ``:N``. When standard input is not a terminal,
the lines it holds are sent one by one (or, if it is empty, a short demonstration), then the
program exits.
"""

from __future__ import annotations

import asyncio
import queue
import re
import secrets
import sys
import threading

from fakebotapi import FakeTelegram, SentMessage

from .app import build_application, running
from .services import Services

USER_ID = 424242
DEMO = ["/start", "/search 第一书记", "/region 喀什", "/region 六师", "/latest", ":1"]
REPLY_TIMEOUT = 10.0
SETTLE = 0.4

BOLD, RESET, DIM = "\033[1m", "\033[0m", "\033[2m"


def to_terminal(message: SentMessage, color: bool) -> str:
    """The visible text of a message, with bold entities as ANSI bold on a terminal."""
    text = message.text or ""
    if not color:
        return text
    units = text.encode("utf-16-le")
    marks: list[tuple[int, str]] = []
    for entity in message.entities:
        if entity.get("type") == "bold":
            marks.append((entity["offset"], BOLD))
            marks.append((entity["offset"] + entity["length"], RESET))
    out, last = [], 0
    for offset, mark in sorted(marks, key=lambda m: m[0]):
        out.append(units[last * 2 : offset * 2].decode("utf-16-le"))
        out.append(mark)
        last = offset
    out.append(units[last * 2 :].decode("utf-16-le"))
    return "".join(out)


class TerminalChat:
    """One person chatting with the bot through the emulator."""

    def __init__(self, fake: FakeTelegram, color: bool, language_code: str = "zh") -> None:
        self.fake = fake
        self.color = color
        self.language_code = language_code
        self.seen = 0  # messages to the user (edits included) already on the screen
        self.busy = False  # waiting for the answer to what the user typed
        self.buttons: list[tuple[SentMessage, str, str]] = []

    def show(self, message: SentMessage) -> None:
        print(("─" * 40) if not self.color else DIM + "─" * 40 + RESET)
        print(to_terminal(message, self.color))
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        labels = []
        for row in rows:
            for button in row:
                if "callback_data" in button:
                    self.buttons.append((message, button["callback_data"], button["text"]))
                    labels.append(f"[:{len(self.buttons)}] {button['text']}")
        if labels:
            print("  ".join(labels))

    def _unseen(self) -> list[SentMessage]:
        return self.fake.messages_to(USER_ID, include_edits=True)[self.seen :]

    async def watch_pushes(self) -> None:
        """Show what the bot sends on its own (subscriptions, digests) as it arrives, between
        the user's commands; runs until cancelled."""
        while True:
            await self.fake.wait_for(lambda: not self.busy and bool(self._unseen()), 3600.0)
            await asyncio.sleep(SETTLE)  # a digest in several parts arrives back to back
            if self.busy:
                continue
            for message in self._unseen():
                self.show(message)
                self.seen += 1

    async def send(self, line: str) -> None:
        self.busy = True
        try:
            await self._send(line)
        finally:
            self.busy = False

    async def _send(self, line: str) -> None:
        if re.fullmatch(r":\d+", line):
            index = int(line[1:]) - 1
            if not 0 <= index < len(self.buttons):
                print(f"(no button {line})")
                return
            message, data, _ = self.buttons[index]
            before = len(self.fake.messages_to(USER_ID, include_edits=True))
            self.fake.callback(message, data, strict=False, language_code=self.language_code)
        else:
            before = len(self.fake.messages_to(USER_ID, include_edits=True))
            self.fake.user_message(
                USER_ID, line, first_name="Terminal", language_code=self.language_code
            )
        await self._print_replies(before)

    async def _print_replies(self, before: int) -> None:
        try:
            await self.fake.wait_for(
                lambda: len(self.fake.messages_to(USER_ID, include_edits=True)) > before,
                REPLY_TIMEOUT,
            )
        except TimeoutError:
            print("(no answer)")
            return
        await asyncio.sleep(SETTLE)  # multi-part answers arrive back to back
        self.buttons = []
        for message in self._unseen():  # pushes that came meanwhile too
            self.show(message)
            self.seen += 1


async def chat_session(services: Services, lines: list[str] | None) -> int:
    token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}"
    async with FakeTelegram(token, bot_username="digest_local_bot") as fake:
        application = build_application(
            services, token=token, base_url=fake.base_url, base_file_url=fake.base_file_url,
            poll_timeout=1.0,
        )  # fmt: skip
        async with running(application, poll_timeout=1):
            interactive = lines is None
            why = "No TELEGRAM_BOT_TOKEN is set, so" if services.settings.token is None else "Here"
            print(
                f"{why} digestbot runs against its local Telegram Bot API "
                f"emulator at {fake.root_url}.\nThis is the real bot, talking HTTP to the emulator, on "
                f"{services.store.count()} stored articles. You are a Telegram user in a private chat."
            )
            if interactive:
                print(
                    "Type a message or a command (/help); :N presses button N; Ctrl-D or Ctrl-C quits.\n"
                )
            chat = TerminalChat(
                fake,
                color=interactive and sys.stdout.isatty(),
                language_code=services.settings.lang,  # DIGESTBOT_LANG
            )
            pushes = asyncio.get_running_loop().create_task(chat.watch_pushes())
            if interactive:
                prompt = Prompt()
                while (line := await prompt.get()) is not None:
                    if line.strip():
                        await chat.send(line.strip())
            else:
                for line in lines or []:
                    print(f"\n> {line}")
                    await chat.send(line)
            pushes.cancel()
    return 0


class Prompt:
    """Lines typed at the ``>`` prompt, one per :meth:`get`, read by a daemon thread.

    Not the loop's default executor: a thread blocked in ``input()`` there would hold up the
    shutdown after Ctrl-C until Enter was pressed; a daemon thread is simply left behind."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[asyncio.Future[str | None]] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="terminal-input", daemon=True).start()

    async def get(self) -> str | None:
        """The next line, or ``None`` at the end of input (Ctrl-D)."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._requests.put(future)
        return await future

    def _read(self) -> None:
        while True:
            future = self._requests.get()
            try:
                line: str | None = input("> ")
            except (EOFError, OSError):
                line = None
            loop = future.get_loop()
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(_settle, future, line)
            if line is None:
                return


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def run_embedded(services: Services) -> int:
    lines: list[str] | None = None
    if not sys.stdin.isatty():
        lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()] or DEMO
    try:
        return asyncio.run(chat_session(services, lines))
    except KeyboardInterrupt:  # Ctrl-C at the prompt: leave at once
        print()
        return 0
