"""Local emulator of the Telegram Bot API for tests, benchmarks and ``digestbot play``.

``FakeTelegram`` (``server``: HTTP and lifecycle) is assembled from ``methods`` (the Bot API
methods), ``injection`` (updates as users cause them) and ``control`` (the JSON control API), all
over ``world`` (the emulated chats, messages, files and update queue); ``protocol`` holds the wire
rules, ``html`` Telegram's HTML entity parser, ``limits`` the flood limits, ``state`` the records.
"""

from .client import ControlClient, ControlError
from .html import HtmlParseError, auto_entities, parse_html, utf16_len
from .limits import Limits, Violation
from .protocol import ApiError
from .server import FakeTelegram
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
