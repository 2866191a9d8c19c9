"""Logging set-up: one line per event (tracebacks folded), the bot token masked everywhere.

The mask is a ``logging.Filter`` on the handlers, so it also covers records from PTB and httpx
(whose request lines contain ``/bot<token>/method``).
"""

from __future__ import annotations

import logging
import re

_TOKEN_IN_URL = re.compile(r"bot\d{1,20}:[A-Za-z0-9_-]{5,100}")
_BARE_TOKEN = re.compile(r"\b\d{6,20}:[A-Za-z0-9_-]{30,100}\b")


class TokenMask(logging.Filter):
    """Replace the configured token (and anything shaped like one) with ``<token>``, and each of
    ``secrets`` (the webhook's secret token) with ``<secret>``."""

    def __init__(self, token: str | None = None, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.token = token
        self.secrets = tuple(s for s in secrets if s)

    def mask(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "<token>")
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        text = _TOKEN_IN_URL.sub("bot<token>", text)
        return _BARE_TOKEN.sub("<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class OneLineFormatter(logging.Formatter):
    """``time level logger: message`` on one line; a traceback is folded into the same line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " ⏎ ")


def setup_logging(
    level: str = "INFO", token: str | None = None, *, secrets: tuple[str, ...] = ()
) -> TokenMask:
    """Configure the root logger: one line per event on stderr, token and secrets masked."""
    mask = TokenMask(token, secrets)
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(OneLineFormatter())
        root.addHandler(stream)
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler:  # ours or the CLI's, not a test's capture
            handler.setFormatter(OneLineFormatter())
        for old in [f for f in handler.filters if isinstance(f, TokenMask)]:
            handler.removeFilter(old)
        handler.addFilter(mask)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    return mask
