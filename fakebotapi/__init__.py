"""Local emulator of the Telegram Bot API for tests and ``digestbot play``."""

from .client import ControlClient, ControlError
from .html import HtmlParseError, auto_entities, parse_html, utf16_len
from .limits import Limits, Violation
from .server import ApiError, FakeTelegram
from .state import ApiCall, SentMessage, User

__all__ = [
    "ApiCall",
    "ApiError",
    "ControlClient",
    "ControlError",
    "FakeTelegram",
    "HtmlParseError",
    "Limits",
    "SentMessage",
    "User",
    "Violation",
    "auto_entities",
    "parse_html",
    "utf16_len",
]
