"""Start-up against Telegram: wait for the network, refuse a rejected token, say it in one line.

``connect`` initialises the bot (``getMe``); while Telegram cannot be reached it logs one warning
line per attempt and tries again with a growing delay (up to ``MAX_DELAY``) until it succeeds or
the process is asked to stop. A token Telegram rejects is not retried. ``one_line`` turns any
start-up failure into one line of text with the token masked, so that nothing but that line
reaches the terminal (no traceback, never the token).

Once connected, the call that sets up how updates arrive — ``deleteWebhook`` for long polling,
``setWebhook`` for a webhook — is tried again ``BOOTSTRAP_RETRIES`` times when it fails or times
out (PTB would stop the start-up at the first failure; both calls are idempotent), so a bot
starting while the Bot API answers slowly or with a 5xx still starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError

from .logsafe import TokenMask

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
BOOTSTRAP_RETRIES = 3  # deleteWebhook/setWebhook attempts after the first (a time-out at once)


async def connect(
    bot: Bot, stop: asyncio.Event, *, first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY
) -> bool:
    """Initialise ``bot``, retrying network failures; ``False`` if ``stop`` was set first.
    ``InvalidToken`` and other Telegram errors are raised."""
    delay = first_delay
    while not stop.is_set():
        try:
            await bot.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                raise
            log.warning("cannot reach Telegram (%s); retrying in %.0f s", describe(exc), delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, max_delay)
    return False


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` (the cause's message when it has none of its own)."""
    text = str(exc) or (str(exc.__cause__) if exc.__cause__ else "") or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def one_line(exc: BaseException, token: str | None) -> str:
    """The start-up failure ``exc`` as one line for the terminal, the token masked."""
    if isinstance(exc, InvalidToken):
        text = (
            "Telegram rejected the bot token (401/404): check TELEGRAM_BOT_TOKEN and "
            "TELEGRAM_API_BASE_URL"
        )
    else:
        text = describe(exc)
    return TokenMask(token).mask(" ".join(text.split()))
