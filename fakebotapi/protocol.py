"""The Bot API's wire rules as the emulator applies them: Telegram's size limits, the method
names, error responses (``ApiError``) and how request parameters are read."""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]  # a JSON object as the Bot API sends and receives it

MAX_TEXT = 4096  # Unicode code points of the visible text (TDLib: utf8_length)

MAX_CAPTION = 1024

MAX_CALLBACK_DATA = 64  # bytes

MAX_INLINE_RESULTS = 50

MAX_UPLOAD = 50 * 1024 * 1024

MAX_DOWNLOAD = 20 * 1024 * 1024

DEFAULT_USER_ID = 1001

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction_count",
        "chat_boost",
        "removed_chat_boost",
        "purchased_paid_media",
    }
) - {"message_reaction_count"}

SEND_METHODS = frozenset({"sendMessage", "sendDocument"})

RATE_LIMITABLE = SEND_METHODS | {
    "editMessageText",
    "deleteMessage",
    "answerCallbackQuery",
    "answerInlineQuery",
}

METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "deleteMessage",
    "answerCallbackQuery",
    "answerInlineQuery",
    "setMyCommands",
    "getMyCommands",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "sendDocument",
    "getFile",
    "setChatMenuButton",
    "getChatMenuButton",
)

METHOD_BY_LOWER = {name.lower(): name for name in METHODS}


class ApiError(Exception):
    """A Bot API error response (``{"ok": false, ...}`` with the same HTTP status)."""

    def __init__(self, status: int, description: str, parameters: Json | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def bad(description: str, parameters: Json | None = None) -> ApiError:
    return ApiError(400, "Bad Request: " + description, parameters)


def required_int(p: Json, name: str) -> int:
    value = param_int(p, name)
    if value is None:
        raise bad(f"{name} is empty")
    return value


def param_int(p: Json, name: str) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"invalid {name} specified") from None


def param_bool(p: Json, name: str) -> bool:
    value = p.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def param_str(p: Json, name: str) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def param_json(p: Json, name: str, what: str | None = None) -> Any:
    value = p.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"can't parse {what or name} JSON object") from None
    return value


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))
