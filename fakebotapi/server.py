"""A local emulator of the Telegram Bot API (aiohttp), with injection and observation helpers.

``FakeTelegram`` listens on 127.0.0.1 and speaks the Bot API at ``/bot{token}/{method}`` and
serves files at ``/file/bot{token}/{path}``, so a real PTB ``telegram.Bot`` can be pointed at
it with ``base_url=fake.base_url, base_file_url=fake.base_file_url``.  Tests inject updates
(``user_message``, ``callback``, ...) and observe what the bot did (``sent``, ``calls``,
``wait_for_messages``).  A small JSON control API under ``/_control/`` exposes the same
injection/observation to another process (see ``python -m fakebotapi``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_request import FileField

from .html import HtmlParseError, auto_entities, finalize_text, parse_html, sort_entities
from .limits import Limits, SendTracker, Violation
from .state import ApiCall, ChatState, Member, SentMessage, User, chat_member_dict

__all__ = ["ApiError", "FakeTelegram"]

log = logging.getLogger("fakebotapi")

T = TypeVar("T")

MAX_TEXT = 4096  # Unicode code points of the visible text (TDLib: utf8_length)
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_INLINE_RESULTS = 50
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
DEFAULT_USER_ID = 1001

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_DEFAULT_ALLOWED = frozenset(
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
_SEND_METHODS = frozenset({"sendMessage", "sendDocument"})
_RATE_LIMITABLE = _SEND_METHODS | {
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "sendChatAction",
    "answerCallbackQuery",
    "answerInlineQuery",
}
_METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "logOut",
    "close",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "answerInlineQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "getChatMemberCount",
    "sendChatAction",
    "sendDocument",
    "getFile",
    "setChatMenuButton",
    "getChatMenuButton",
)
_METHOD_BY_LOWER = {name.lower(): name for name in _METHODS}


class ApiError(Exception):
    """A Bot API error response (``{"ok": false, ...}`` with the same HTTP status)."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
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


def _bad(description: str, parameters: dict | None = None) -> ApiError:
    return ApiError(400, "Bad Request: " + description, parameters)


@dataclass
class _Failure:
    method: str | None  # canonical method name, None = any but getUpdates
    status: int
    remaining: int
    description: str
    parameters: dict | None = None
    chat_id: int | None = None
    only_limitable: bool = False


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str | None = None

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class _Query:
    kind: str  # "callback" | "inline"
    update: dict[str, Any]
    answered: bool = False


class _Notifier:
    """Wake coroutines waiting for a predicate whenever state changes (no busy sleeping)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], T], timeout: float) -> T:
        """Return the first truthy ``predicate()``; raise TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)


# ---------------------------------------------------------------- parameter helpers


def _param_int(p: dict, name: str, *, required: bool = False) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"{name} is empty")
        return None
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _param_bool(p: dict, name: str) -> bool:
    value = p.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _param_str(p: dict, name: str) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _param_json(p: dict, name: str, what: str | None = None) -> Any:
    value = p.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what or name} JSON object") from None
    return value


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


class FakeTelegram:
    """In-process Telegram Bot API emulator; see the module docstring.

    Use as ``async with FakeTelegram() as fake:`` or ``await fake.start()`` / ``await
    fake.stop()``.  All injection/observation methods must be called from the event loop
    thread the server runs in.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "digest_test_bot",
        bot_first_name: str = "Digest Test Bot",
        enforce_limits: bool = False,
        limits: Limits | None = None,
        strict_html: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.enforce_limits = enforce_limits
        self.strict_html = strict_html
        self.latency = latency
        self.method_latency: dict[str, float] = {}  # e.g. {"sendMessage": 6.0}: a slow Bot API
        self.host = host
        self.port = port

        self.tracker = SendTracker(limits or Limits())
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.deleted: list[tuple[int, int]] = []
        self.webhook: dict[str, Any] = {}
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self.users: dict[int, dict[str, Any]] = {self.bot_id: self.bot_user}
        self.chats: dict[int, ChatState] = {}

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1000
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED
        self._poll_generation = 0
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._files: dict[str, _File] = {}
        self._file_counter = 0
        self._queries: dict[str, _Query] = {}
        self._query_counter = 0
        self._failures: list[_Failure] = []
        self._notifier = _Notifier()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._app = self._make_app()

    # ------------------------------------------------------------ lifecycle

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_get("/_control/{action}", self._handle_control_get)
        app.router.add_post("/_control/{action}", self._handle_control_post)
        return app

    async def start(self) -> FakeTelegram:
        """Start listening; the chosen port is in :attr:`port`."""
        self._closing = False
        self._runner = web.AppRunner(self._app, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("fake Telegram listening on %s", self.root_url)
        return self

    async def stop(self) -> None:
        """Release long polls and stop the server."""
        self._closing = True
        self._notifier.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB ``base_url`` (the token is appended by PTB)."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB ``base_file_url``."""
        return f"{self.root_url}/file/bot"

    @property
    def api_url(self) -> str:
        """Full method prefix, e.g. ``api_url + "/getMe"``."""
        return f"{self.root_url}/bot{self.token}"

    @property
    def control_url(self) -> str:
        return f"{self.root_url}/_control"

    # ------------------------------------------------------------ HTTP handling

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON encoded request parameters") from None
                if isinstance(body, dict):
                    params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, FileField):
                        files[key] = _Upload(value.filename, value.content_type, value.file.read())
                    elif isinstance(value, bytes | bytearray):
                        params[key] = bytes(value).decode("utf-8", "replace")
                    else:
                        params[key] = value
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        name = request.match_info["method"]
        method = _METHOD_BY_LOWER.get(name.lower())
        call = ApiCall(method=method or name, params={})
        self.calls.append(call)
        try:
            params, files = await self._read_params(request)
            call.params = params
            delay = self.method_latency.get(method or "", self.latency)
            if delay:  # answered late: the client may give up, the call still takes effect
                await asyncio.sleep(delay)
            if method is None:
                raise _bad("method not found")
            self._check_injected_failures(method, params)
            handler = getattr(self, "_m_" + method)
            result = await handler(params, files)
        except ApiError as err:
            call.status = err.status
            call.description = err.description
            self._notifier.notify()
            return web.json_response(err.payload(), status=err.status)
        call.status = 200
        self._notifier.notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["path"]
        for f in self._files.values():
            if f.file_path == path:
                return web.Response(
                    body=f.content, content_type=f.mime_type or "application/octet-stream"
                )
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _check_injected_failures(self, method: str, params: dict) -> None:
        for rule in self._failures:
            if rule.remaining <= 0:
                continue
            if rule.method is not None and rule.method != method:
                continue
            if rule.method is None and method == "getUpdates":
                continue
            if rule.only_limitable and method not in _RATE_LIMITABLE:
                continue
            if rule.chat_id is not None:
                chat = self._resolve_chat(params.get("chat_id"))
                if chat is None or chat.id != rule.chat_id:
                    continue
            rule.remaining -= 1
            self._failures = [r for r in self._failures if r.remaining > 0]
            raise ApiError(rule.status, rule.description, rule.parameters)

    # ------------------------------------------------------------ chats & users

    @staticmethod
    def _infer_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if chat_id <= -1_000_000_000_000 else "group"

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        bot_status: str | None = None,
        **bot_rights: bool,
    ) -> dict[str, Any]:
        """Register a chat (idempotent) and return its Chat dict.

        The bot is a member of groups and, in channels, an administrator allowed to post,
        unless ``bot_status`` says otherwise.
        """
        cs = self.chats.get(chat_id)
        if cs is None:
            chat_type = chat_type or self._infer_type(chat_id)
            chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                user = self.users.get(chat_id, {})
                chat["first_name"] = first_name or user.get("first_name", "Test")
                if last_name or user.get("last_name"):
                    chat["last_name"] = last_name or user.get("last_name")
                if username or user.get("username"):
                    chat["username"] = username or user.get("username")
            else:
                default = {"channel": "Test channel", "supergroup": "Test supergroup"}
                chat["title"] = title or default.get(chat_type, "Test group")
                if username:
                    chat["username"] = username.lstrip("@")
            cs = ChatState(chat)
            self.chats[chat_id] = cs
            if chat_type == "channel":
                cs.members[self.bot_id] = Member(
                    "administrator",
                    {
                        "can_post_messages": True,
                        "can_edit_messages": True,
                        "can_delete_messages": True,
                    },
                )
            else:
                cs.members[self.bot_id] = Member("member")
        else:
            if title and cs.type != "private":
                cs.chat["title"] = title
            if username:
                cs.chat["username"] = username.lstrip("@")
        if bot_status is not None:
            self.set_admin(chat_id, self.bot_id, bot_status, **bot_rights)
        return copy.deepcopy(cs.chat)

    def _resolve_chat(self, raw: Any) -> ChatState | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            for cs in self.chats.values():
                if str(cs.chat.get("username", "")).lower() == name and cs.type != "private":
                    return cs
            return None
        try:
            return self.chats.get(int(raw))
        except (TypeError, ValueError):
            return None

    def _chat(self, params: dict, *, send: bool = False) -> ChatState:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        cs = self._resolve_chat(raw)
        if cs is None:
            if send and str(raw).lstrip("-").isdigit() and int(raw) in self.users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if cs.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": cs.migrated_to},
            )
        if send:
            self._check_can_send(cs)
        return cs

    def _check_can_send(self, cs: ChatState) -> None:
        if cs.type == "private":
            if cs.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return
        me = cs.members.get(self.bot_id, Member("left"))
        kind = {"group": "group", "supergroup": "supergroup", "channel": "channel"}[cs.type]
        if me.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if me.status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        if cs.type == "channel":
            allowed = me.status == "creator" or (
                me.status == "administrator" and me.rights.get("can_post_messages")
            )
            if not allowed:
                raise _bad("need administrator rights in the channel chat")
        elif me.status == "restricted" and not me.rights.get("can_send_messages"):
            raise _bad("not enough rights to send text messages to the chat")

    def _user(
        self,
        user: User | dict | int | None,
        *,
        user_id: int | None = None,
        default_id: int = DEFAULT_USER_ID,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        if isinstance(user, User):
            data = user.to_dict()
        elif isinstance(user, dict):
            data = {"is_bot": False, "first_name": "Test", **user}
        else:
            uid = user if isinstance(user, int) else (user_id or default_id)
            data = dict(
                self.users.get(
                    uid, {"id": uid, "is_bot": False, "first_name": "Test", "language_code": "en"}
                )
            )
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                data[key] = value
        self.users[data["id"]] = data
        return dict(data)

    def set_admin(
        self,
        chat_id: int,
        user_id: int,
        status: str = "administrator",
        *,
        can_post_messages: bool | None = None,
        custom_title: str | None = None,
        until_date: int = 0,
        **rights: bool,
    ) -> None:
        """Set ``user_id``'s membership in ``chat_id`` (use ``fake.bot_id`` for the bot).

        ``status``: creator | administrator | member | restricted | left | kicked; ``rights``
        are ChatMember booleans (``can_delete_messages=True``, ...).
        """
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ValueError(f"unknown chat member status {status!r}")
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        if user_id not in self.users:
            self.users[user_id] = {"id": user_id, "is_bot": False, "first_name": "Test"}
        if can_post_messages is not None:
            rights["can_post_messages"] = can_post_messages
        self.chats[chat_id].members[user_id] = Member(status, rights, custom_title, until_date)
        if user_id == self.bot_id and self.chats[chat_id].type == "private":
            self.chats[chat_id].blocked = status == "kicked"

    def set_bot_status(self, chat_id: int, status: str, **rights: bool) -> None:
        """Shortcut for ``set_admin(chat_id, fake.bot_id, status, **rights)``."""
        self.set_admin(chat_id, self.bot_id, status, **rights)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (private) / the bot is kicked (groups, channels)."""
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        cs = self.chats[chat_id]
        if cs.type == "private":
            cs.blocked = True
        else:
            cs.members[self.bot_id] = Member("kicked")

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        cs = self.chats.get(chat_id)
        if cs is None:
            return
        if cs.type == "private":
            cs.blocked = False
        elif cs.members.get(self.bot_id, Member("left")).status in ("kicked", "left"):
            cs.members[self.bot_id] = (
                Member("administrator", {"can_post_messages": True})
                if cs.type == "channel"
                else Member("member")
            )

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade group ``chat_id`` to supergroup ``new_chat_id`` (state only, no updates)."""
        if chat_id not in self.chats:
            self.add_chat(chat_id, "group")
        old = self.chats[chat_id]
        if new_chat_id not in self.chats:
            self.add_chat(new_chat_id, "supergroup", title=old.chat.get("title"))
            self.chats[new_chat_id].members.update(copy.deepcopy(old.members))
        old.migrated_to = new_chat_id

    # ------------------------------------------------------------ limits & observation

    def set_limits(self, enforce: bool = True, limits: Limits | None = None) -> None:
        """Turn flood-limit enforcement on/off, optionally with new limit parameters."""
        self.enforce_limits = enforce
        if limits is not None:
            self.tracker = SendTracker(limits)

    @property
    def limit_violations(self) -> int:
        """Sends that exceeded a flood limit (counted even when not enforcing)."""
        return len(self.tracker.violations)

    @property
    def violations(self) -> list[Violation]:
        """Details of every limit violation (time, chat_id, scope, retry_after, rejected)."""
        return list(self.tracker.violations)

    def max_rate(self, chat_id: int, window_s: float = 1.0) -> int:
        """Most messages delivered to ``chat_id`` within any ``window_s``-second window."""
        return self.tracker.max_count(chat_id, window_s)

    def max_global_rate(self, window_s: float = 1.0) -> int:
        """Most messages delivered overall within any ``window_s``-second window."""
        return self.tracker.max_count(None, window_s)

    @property
    def send_times(self) -> list[tuple[float, int]]:
        """(monotonic time, chat_id) of every delivered message."""
        return list(self.tracker.log)

    def fail_next(
        self,
        method: str | None = None,
        status: int = 500,
        count: int = 1,
        description: str | None = None,
        *,
        parameters: dict | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with ``status``.

        ``method=None`` matches any method except getUpdates.
        """
        defaults = {
            400: "Bad Request: injected failure",
            403: "Forbidden: injected failure",
            409: "Conflict: injected failure",
            429: "Too Many Requests: retry after 1",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        canonical = None
        if method is not None:
            canonical = _METHOD_BY_LOWER.get(method.lower(), method)
        self._failures.append(
            _Failure(
                canonical,
                status,
                count,
                description or defaults.get(status, "Error"),
                parameters,
                chat_id,
            )
        )

    def rate_limit_next(
        self,
        chat_id: int | None = None,
        retry_after: int = 1,
        count: int = 1,
        *,
        method: str | None = None,
    ) -> None:
        """Make the next ``count`` sends (to ``chat_id``, or any chat) get 429 retry_after."""
        canonical = _METHOD_BY_LOWER.get(method.lower(), method) if method else None
        self._failures.append(
            _Failure(
                canonical,
                429,
                count,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
                chat_id,
                only_limitable=True,
            )
        )

    def messages_to(self, chat_id: int, *, include_edits: bool = False) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id`` in order (edits only if ``include_edits``)."""
        return [m for m in self.sent if m.chat_id == chat_id and (include_edits or not m.edited)]

    def last_message(self, chat_id: int) -> SentMessage | None:
        sent = self.messages_to(chat_id)
        return sent[-1] if sent else None

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state (after edits) of a stored message, or None if unknown/deleted."""
        msg = self._messages.get((chat_id, message_id))
        return copy.deepcopy(msg) if msg is not None else None

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[dict] | None:
        """Commands set for a scope key ("default", "all_private_chats", "chat:<id>", ...)."""
        return self.commands.get((scope, language_code))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Injected updates the bot has not confirmed yet (via getUpdates offset)."""
        return copy.deepcopy(self._updates)

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Await until ``predicate()`` is truthy (re-checked after every API call/injection)."""
        return await self._notifier.wait_for(predicate, timeout)

    async def wait_for_messages(
        self, chat_id: int, n: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Await until the bot has sent at least ``n`` messages to ``chat_id``; return them."""
        try:
            return await self.wait_for(
                lambda: (lambda m: m if len(m) >= n else None)(self.messages_to(chat_id)),
                timeout,
            )
        except TimeoutError:
            got = [m.text for m in self.messages_to(chat_id)]
            raise TimeoutError(
                f"expected {n} messages to chat {chat_id} within {timeout} s, got {got!r}"
            ) from None

    async def wait_for_call(self, method: str, n: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Await until ``method`` was called at least ``n`` times; return those calls."""
        return await self.wait_for(
            lambda: (lambda c: c if len(c) >= n else None)(self.calls_of(method)), timeout
        )

    async def wait_until_consumed(self, timeout: float = 5.0) -> None:
        """Await until the bot has confirmed every injected update."""
        await self.wait_for(lambda: not self._updates, timeout)

    def reset_observations(self) -> None:
        """Forget recorded sends, calls, answers, actions and rate statistics."""
        self.sent.clear()
        self.calls.clear()
        self.answers.clear()
        self.chat_actions.clear()
        self.deleted.clear()
        self.tracker.reset()

    # ------------------------------------------------------------ update injection

    def _push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._notifier.notify()
        return copy.deepcopy(update)

    def _incoming(
        self,
        cs: ChatState,
        sender: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"message_id": cs.take_message_id(), "date": int(time.time())}
        if cs.type == "channel":
            msg["sender_chat"] = copy.deepcopy(cs.chat)
        elif sender is not None:
            msg["from"] = sender
        msg["chat"] = copy.deepcopy(cs.chat)
        msg.update(extra)
        self._messages[(cs.id, msg["message_id"])] = msg
        return msg

    def _text_fields(self, text: str, entities: list[dict] | None) -> dict[str, Any]:
        ents = sort_entities(list(entities or []) + auto_entities(text, entities))
        data: dict[str, Any] = {"text": text}
        if ents:
            data["entities"] = ents
        return data

    def _reply_fields(self, cs: ChatState, reply_to_message_id: int | None) -> dict[str, Any]:
        if reply_to_message_id is None:
            return {}
        target = self._messages.get((cs.id, reply_to_message_id))
        if target is None:
            return {}
        target = copy.deepcopy(target)
        target.pop("reply_to_message", None)
        return {"reply_to_message": target}

    def user_message(
        self,
        chat: int | User | None = None,
        text: str = "",
        *,
        user: User | dict | int | None = None,
        user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        chat_username: str | None = None,
        entities: list[dict] | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Inject a text message from a user; return the Update dict.

        ``message_thread_id``: written inside that forum topic (``is_topic_message``).

        ``chat`` is a chat id or (private chats) a :class:`User`.  In a private chat the user
        id defaults to the chat id.  bot_command/url/mention/hashtag entities are computed
        automatically (``/cmd@botname`` included); pass ``entities`` for extra ones.
        """
        if isinstance(chat, User):
            user, chat = chat, chat.id
        if chat is None:
            chat = user.id if isinstance(user, User) else (user if isinstance(user, int) else None)
            chat = chat or user_id or DEFAULT_USER_ID
        known = self.chats.get(chat)
        chat_type = known.type if known is not None else (chat_type or self._infer_type(chat))
        default_id = chat if chat_type == "private" else DEFAULT_USER_ID
        sender = self._user(
            user,
            user_id=user_id,
            default_id=default_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        cs = self.chats.get(chat)
        if cs is None:
            self.add_chat(
                chat,
                chat_type,
                title=title,
                username=chat_username,
                first_name=sender.get("first_name"),
                last_name=sender.get("last_name"),
            )
            cs = self.chats[chat]
            if chat_type == "private":
                cs.chat["first_name"] = sender["first_name"]
                if sender.get("username"):
                    cs.chat["username"] = sender["username"]
        if cs.type != "private" and sender["id"] not in cs.members:
            cs.members[sender["id"]] = Member("member")
        extra = self._text_fields(text, entities)
        extra.update(self._reply_fields(cs, reply_to_message_id))
        if message_thread_id is not None:
            extra.update(message_thread_id=message_thread_id, is_topic_message=True)
        msg = self._incoming(cs, sender, extra)
        kind = "channel_post" if cs.type == "channel" else "message"
        return self._push_update(kind, copy.deepcopy(msg))

    def group_message(
        self,
        chat_id: int,
        text: str,
        *,
        user: User | dict | int | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Inject a message in a group/supergroup (default user id 1001); return the Update.

        ``chat_type`` defaults to the known type, else "supergroup" for -100… ids, else "group".
        """
        return self.user_message(
            chat_id,
            text,
            user=user,
            user_id=user_id or DEFAULT_USER_ID,
            chat_type=chat_type,
            title=title,
            **kwargs,
        )

    def channel_post(
        self,
        channel_id: int,
        text: str,
        *,
        username: str | None = None,
        title: str | None = None,
        entities: list[dict] | None = None,
    ) -> dict[str, Any]:
        """Inject a channel post (registers the channel, with the bot as posting admin)."""
        cs = self.chats.get(channel_id)
        if cs is None:
            self.add_chat(channel_id, "channel", title=title, username=username)
            cs = self.chats[channel_id]
        elif username:
            cs.chat["username"] = username.lstrip("@")
        msg = self._incoming(cs, None, self._text_fields(text, entities))
        return self._push_update("channel_post", copy.deepcopy(msg))

    def _find_message(self, message: Any) -> dict[str, Any]:
        if isinstance(message, SentMessage):
            key = (message.chat_id, message.message_id)
        elif isinstance(message, dict) and "message" in message and "update_id" in message:
            key = (message["message"]["chat"]["id"], message["message"]["message_id"])
        elif isinstance(message, dict):
            chat_id = message.get("chat_id", (message.get("chat") or {}).get("id"))
            key = (int(chat_id), int(message["message_id"]))
        else:
            chat_id, message_id = message
            key = (int(chat_id), int(message_id))
        msg = self._messages.get(key)
        if msg is None:
            raise KeyError(f"no message {key[1]} in chat {key[0]}")
        return msg

    def callback(
        self,
        message: SentMessage | dict | tuple[int, int],
        data: str,
        *,
        user: User | dict | int | None = None,
        user_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """A user presses an inline button with ``data`` on a message; return the Update.

        ``message``: a :class:`SentMessage`, a message dict or ``(chat_id, message_id)``.
        With ``strict`` the message must currently carry a button with that callback_data.
        """
        msg = self._find_message(message)
        if strict:
            rows = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
            datas = [b.get("callback_data") for row in rows for b in row]
            if data not in datas:
                raise ValueError(f"message has no button with callback_data {data!r}: {datas}")
        chat = msg["chat"]
        default_id = chat["id"] if chat["type"] == "private" else DEFAULT_USER_ID
        sender = self._user(
            user,
            user_id=user_id,
            default_id=default_id,
            first_name=first_name,
            language_code=language_code,
        )
        self._query_counter += 1
        query_id = f"{self.bot_id}{self._query_counter:08d}"
        payload = {
            "id": query_id,
            "from": sender,
            "message": copy.deepcopy(msg),
            "chat_instance": str(abs(hash((self.bot_id, chat["id"])))),
            "data": data,
        }
        update = self._push_update("callback_query", payload)
        self._queries[query_id] = _Query("callback", update)
        return update

    def inline_query(
        self,
        user: User | dict | int | None,
        query: str,
        offset: str = "",
        *,
        chat_type: str | None = "private",
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Inject an inline query from ``user`` (id, User or dict); return the Update."""
        sender = self._user(user, first_name=first_name, language_code=language_code)
        self._query_counter += 1
        query_id = f"{self.bot_id}{self._query_counter:08d}"
        payload: dict[str, Any] = {"id": query_id, "from": sender, "query": query, "offset": offset}
        if chat_type:
            payload["chat_type"] = chat_type
        update = self._push_update("inline_query", payload)
        self._queries[query_id] = _Query("inline", update)
        return update

    def my_chat_member(
        self,
        chat: int,
        old_status: str,
        new_status: str,
        *,
        user: User | dict | int | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        **rights: bool,
    ) -> dict[str, Any]:
        """The bot's status in ``chat`` changes (added, promoted, blocked, kicked...).

        Also updates the state: e.g. private ``kicked`` blocks the bot, ``member`` unblocks;
        in groups/channels the bot gets ``new_status`` (with ``rights`` for admins).
        """
        if chat not in self.chats:
            self.add_chat(chat, chat_type, title=title, username=username)
        cs = self.chats[chat]
        default_id = chat if cs.type == "private" else DEFAULT_USER_ID
        actor = self._user(user, user_id=user_id, default_id=default_id)
        old_member = chat_member_dict(self.bot_user, Member(old_status), cs.type)
        self.set_admin(chat, self.bot_id, new_status, **rights)
        new_member = chat_member_dict(self.bot_user, cs.members[self.bot_id], cs.type)
        payload = {
            "chat": copy.deepcopy(cs.chat),
            "from": actor,
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return self._push_update("my_chat_member", payload)

    def migrate_group(
        self, old_id: int, new_id: int, *, user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Upgrade a group to a supergroup: state change plus both service-message Updates."""
        if old_id not in self.chats:
            self.add_chat(old_id, "group")
        old = self.chats[old_id]
        sender = self._user(None, user_id=user_id or DEFAULT_USER_ID)
        first = self._incoming(old, sender, {"migrate_to_chat_id": new_id})
        update1 = self._push_update("message", copy.deepcopy(first))
        self.migrate(old_id, new_id)
        new = self.chats[new_id]
        second = self._incoming(new, sender, {"migrate_from_chat_id": old_id})
        update2 = self._push_update("message", copy.deepcopy(second))
        return [update1, update2]

    def _store_file(self, content: bytes, file_name: str | None, mime_type: str | None) -> _File:
        self._file_counter += 1
        n = self._file_counter
        record = _File(
            file_id=f"BQACAgIAAxkBAAI{n:06d}emu",
            file_unique_id=f"AgAD{n:06d}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[record.file_id] = record
        return record

    def document(
        self,
        chat: int | User,
        filename: str,
        content: bytes | str,
        mime: str | None = None,
        *,
        caption: str | None = None,
        user: User | dict | int | None = None,
        user_id: int | None = None,
        chat_type: str | None = None,
    ) -> dict[str, Any]:
        """A user sends a document; downloadable through getFile and the /file route."""
        if isinstance(chat, User):
            user, chat = chat, chat.id
        if isinstance(content, str):
            content = content.encode("utf-8")
        mime = mime or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        known = self.chats.get(chat)
        chat_type = known.type if known is not None else (chat_type or self._infer_type(chat))
        default_id = chat if chat_type == "private" else DEFAULT_USER_ID
        sender = self._user(user, user_id=user_id, default_id=default_id)
        if chat not in self.chats:
            self.add_chat(chat, chat_type, first_name=sender.get("first_name"))
        cs = self.chats[chat]
        record = self._store_file(content, filename, mime)
        extra: dict[str, Any] = {"document": record.document()}
        if caption:
            extra["caption"] = caption
            ents = auto_entities(caption)
            if ents:
                extra["caption_entities"] = ents
        msg = self._incoming(cs, sender if cs.type != "channel" else None, extra)
        kind = "channel_post" if cs.type == "channel" else "message"
        return self._push_update(kind, copy.deepcopy(msg))

    def file_content(self, file_id: str) -> bytes:
        """Content of a stored file (uploaded by the bot or injected)."""
        return self._files[file_id].content

    # ------------------------------------------------------------ validation helpers

    def _prepare_text(
        self, p: dict, text_key: str, entities_key: str, *, caption: bool = False
    ) -> tuple[str, list[dict]]:
        raw = _param_str(p, text_key)
        parse_mode = (_param_str(p, "parse_mode") or "").strip()
        explicit = _param_json(p, entities_key, "entities")
        if raw is None or raw == "":
            if caption:
                return "", []
            raise _bad("message text is empty")
        entities: list[dict] = []
        if explicit:
            if not isinstance(explicit, list):
                raise _bad("can't parse entities JSON object")
            text = raw
            entities = [dict(e) for e in explicit if isinstance(e, dict) and "type" in e]
        elif parse_mode.lower() == "html":
            try:
                text, entities = parse_html(raw, strict_amp=self.strict_html)
            except HtmlParseError as err:
                raise _bad(f"can't parse entities: {err}") from None
        elif parse_mode.lower() in ("markdown", "markdownv2"):
            log.warning("emulator does not parse %s; text is kept verbatim", parse_mode)
            text = raw
        elif parse_mode:
            raise _bad("unsupported parse_mode")
        else:
            text = raw
        text, entities = finalize_text(text, entities)
        if not text:
            if caption:
                return "", []
            raise _bad("message text is empty")
        if caption and len(text) > MAX_CAPTION:
            raise _bad("message caption is too long")
        if not caption and len(text) > MAX_TEXT:
            raise _bad("message is too long")
        entities = sort_entities(entities + auto_entities(text, entities))
        return text, entities

    def _check_markup(self, p: dict) -> dict | None:
        markup = _param_json(p, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup)
        return markup

    @staticmethod
    def _check_inline_keyboard(markup: dict) -> None:
        rows = markup.get("inline_keyboard")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                "can't parse inline keyboard button: InlineKeyboardMarkup must be an "
                "Array of Arrays of InlineKeyboardButton"
            )
        actions = (
            "url",
            "callback_data",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                if not any(k in button for k in actions):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= _utf8_len(data) <= MAX_CALLBACK_DATA:
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button and not str(button["url"]).strip():
                    raise _bad("BUTTON_URL_INVALID")

    def _link_preview(self, p: dict) -> dict | None:
        options = _param_json(p, "link_preview_options", "link preview options")
        if options is None and _param_bool(p, "disable_web_page_preview"):
            options = {"is_disabled": True}
        return options if isinstance(options, dict) else None

    def _reply_to_id(self, cs: ChatState, p: dict) -> int | None:
        params = _param_json(p, "reply_parameters", "reply parameters")
        allow = _param_bool(p, "allow_sending_without_reply")
        mid: int | None = None
        if isinstance(params, dict) and params.get("message_id") is not None:
            mid = int(params["message_id"])
            allow = allow or bool(params.get("allow_sending_without_reply"))
        elif p.get("reply_to_message_id") not in (None, ""):
            mid = _param_int(p, "reply_to_message_id")
        if mid is None:
            return None
        if (cs.id, mid) not in self._messages:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return mid

    def _check_limits(self, cs: ChatState) -> None:
        now = time.monotonic()
        verdict = self.tracker.check(cs.id, cs.type, now)
        if verdict is None:
            return
        scope, retry_after = verdict
        self.tracker.violation(cs.id, scope, retry_after, now, self.enforce_limits)
        if self.enforce_limits:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _deliver(
        self,
        cs: ChatState,
        method: str,
        p: dict,
        extra: dict[str, Any],
        *,
        text: str | None,
        raw_text: str | None,
        entities: list[dict],
        markup: dict | None,
        link_preview: dict | None = None,
        document: dict | None = None,
    ) -> dict[str, Any]:
        self._check_limits(cs)
        now = time.monotonic()
        msg = self._incoming(cs, self.bot_user, extra)
        self.tracker.record(cs.id, cs.type, now)
        self.sent.append(
            SentMessage(
                chat_id=cs.id,
                message_id=msg["message_id"],
                text=text,
                raw_text=raw_text,
                parse_mode=_param_str(p, "parse_mode"),
                entities=entities,
                reply_markup=markup,
                date=msg["date"],
                method=method,
                link_preview_options=link_preview,
                document=document,
                message=copy.deepcopy(msg),
                params=dict(p),
            )
        )
        return copy.deepcopy(msg)

    # ------------------------------------------------------------ Bot API methods

    async def _m_getMe(self, p: dict, files: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_logOut(self, p: dict, files: dict) -> bool:
        return True

    async def _m_close(self, p: dict, files: dict) -> bool:
        return True

    async def _m_setWebhook(self, p: dict, files: dict) -> bool:
        url = _param_str(p, "url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "params": dict(p)} if url else {}
        if _param_bool(p, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_deleteWebhook(self, p: dict, files: dict) -> bool:
        self.webhook = {}
        if _param_bool(p, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, p: dict, files: dict) -> dict:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        return info

    def _drop_confirmed(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        kept = [u for u in self._updates if any(k in allowed for k in u if k != "update_id")]
        if len(kept) != len(self._updates):
            self._updates = kept
        return kept

    async def _m_getUpdates(self, p: dict, files: dict) -> list:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _param_int(p, "offset")
        limit = _param_int(p, "limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = max(_param_int(p, "timeout") or 0, 0)
        allowed = _param_json(p, "allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
        self._poll_generation += 1
        generation = self._poll_generation
        self._drop_confirmed(offset)
        self._notifier.notify()  # wake an older long poll so it can report the conflict
        if timeout:
            with contextlib.suppress(TimeoutError):
                await self._notifier.wait_for(
                    lambda: (
                        self._deliverable() or self._closing or generation != self._poll_generation
                    ),
                    timeout,
                )
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            )
        return copy.deepcopy(self._deliverable()[:limit])

    async def _m_sendMessage(self, p: dict, files: dict) -> dict:
        cs = self._chat(p, send=True)
        text, entities = self._prepare_text(p, "text", "entities")
        markup = self._check_markup(p)
        link_preview = self._link_preview(p)
        reply_to = self._reply_to_id(cs, p)
        extra: dict[str, Any] = {"text": text}
        if entities:
            extra["entities"] = entities
        if link_preview:
            extra["link_preview_options"] = link_preview
        if markup and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        extra.update(self._reply_fields(cs, reply_to))
        return self._deliver(
            cs,
            "sendMessage",
            p,
            extra,
            text=text,
            raw_text=_param_str(p, "text"),
            entities=entities,
            markup=markup,
            link_preview=link_preview,
        )

    async def _m_sendDocument(self, p: dict, files: dict) -> dict:
        cs = self._chat(p, send=True)
        value = p.get("document")
        upload = files.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        record: _File | None = None
        if upload is not None:
            if len(upload.content) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            record = self._store_file(upload.content, upload.filename, upload.content_type)
        elif isinstance(value, str) and value in self._files:
            record = self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rstrip("/").rsplit("/", 1)[-1] or "file"
            record = self._store_file(b"", name, mimetypes.guess_type(name)[0])
        elif isinstance(value, str) and value:
            raise _bad("wrong file identifier/HTTP URL specified")
        if record is None:
            raise _bad("there is no document in the request")
        caption, entities = self._prepare_text(p, "caption", "caption_entities", caption=True)
        markup = self._check_markup(p)
        reply_to = self._reply_to_id(cs, p)
        extra: dict[str, Any] = {"document": record.document()}
        if caption:
            extra["caption"] = caption
            if entities:
                extra["caption_entities"] = entities
        if markup and "inline_keyboard" in markup:
            extra["reply_markup"] = markup
        extra.update(self._reply_fields(cs, reply_to))
        return self._deliver(
            cs,
            "sendDocument",
            p,
            extra,
            text=caption or None,
            raw_text=_param_str(p, "caption"),
            entities=entities,
            markup=markup,
            document=record.document(),
        )

    def _editable(self, p: dict) -> tuple[ChatState, dict]:
        cs = self._chat(p, send=True)
        mid = _param_int(p, "message_id")
        if mid is None:
            raise _bad("message identifier is not specified")
        msg = self._messages.get((cs.id, mid))
        if msg is None:
            raise _bad("message to edit not found")
        own = (msg.get("from") or {}).get("id") == self.bot_id
        if cs.type == "channel":
            own = any(s.message_id == mid and s.chat_id == cs.id for s in self.sent)
        if not own:
            raise _bad("message can't be edited")
        return cs, msg

    def _record_edit(
        self,
        cs: ChatState,
        method: str,
        p: dict,
        msg: dict,
        markup: dict | None,
        link_preview: dict | None = None,
    ) -> dict:
        msg["edit_date"] = int(time.time())
        self.sent.append(
            SentMessage(
                chat_id=cs.id,
                message_id=msg["message_id"],
                text=msg.get("text", msg.get("caption")),
                raw_text=_param_str(p, "text"),
                parse_mode=_param_str(p, "parse_mode"),
                entities=list(msg.get("entities", [])),
                reply_markup=markup,
                date=msg["date"],
                method=method,
                edited=True,
                link_preview_options=link_preview,
                message=copy.deepcopy(msg),
                params=dict(p),
            )
        )
        return copy.deepcopy(msg)

    async def _m_editMessageText(self, p: dict, files: dict) -> dict | bool:
        if p.get("inline_message_id"):
            text, entities = self._prepare_text(p, "text", "entities")
            self._check_markup(p)
            self.sent.append(
                SentMessage(
                    chat_id=0,
                    message_id=0,
                    text=text,
                    raw_text=_param_str(p, "text"),
                    parse_mode=_param_str(p, "parse_mode"),
                    entities=entities,
                    reply_markup=_param_json(p, "reply_markup"),
                    date=int(time.time()),
                    method="editMessageText",
                    edited=True,
                    params=dict(p),
                )
            )
            return True
        cs, msg = self._editable(p)
        text, entities = self._prepare_text(p, "text", "entities")
        markup = self._check_markup(p)
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        inline = markup if markup and "inline_keyboard" in markup else None
        if (
            msg.get("text") == text
            and msg.get("entities", []) == entities
            and msg.get("reply_markup") == inline
        ):
            raise _bad(_NOT_MODIFIED[len("Bad Request: ") :])
        link_preview = self._link_preview(p)
        msg["text"] = text
        if entities:
            msg["entities"] = entities
        else:
            msg.pop("entities", None)
        if inline:
            msg["reply_markup"] = inline
        else:
            msg.pop("reply_markup", None)
        if link_preview:
            msg["link_preview_options"] = link_preview
        return self._record_edit(cs, "editMessageText", p, msg, markup, link_preview)

    async def _m_editMessageReplyMarkup(self, p: dict, files: dict) -> dict | bool:
        markup = self._check_markup(p)
        if p.get("inline_message_id"):
            return True
        cs, msg = self._editable(p)
        inline = markup if markup and "inline_keyboard" in markup else None
        if msg.get("reply_markup") == inline:
            raise _bad(_NOT_MODIFIED[len("Bad Request: ") :])
        if inline:
            msg["reply_markup"] = inline
        else:
            msg.pop("reply_markup", None)
        return self._record_edit(cs, "editMessageReplyMarkup", p, msg, markup)

    async def _m_deleteMessage(self, p: dict, files: dict) -> bool:
        cs = self._chat(p)
        mid = _param_int(p, "message_id", required=True)
        if (cs.id, mid) not in self._messages:
            raise _bad("message to delete not found")
        del self._messages[(cs.id, mid)]
        assert mid is not None
        self.deleted.append((cs.id, mid))
        return True

    async def _m_answerCallbackQuery(self, p: dict, files: dict) -> bool:
        query_id = _param_str(p, "callback_query_id")
        query = self._queries.get(query_id or "")
        if query is None or query.kind != "callback" or query.answered:
            raise _bad(_QUERY_TOO_OLD[len("Bad Request: ") :])
        text = _param_str(p, "text") or ""
        if len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        self.answers.append(
            {
                "method": "answerCallbackQuery",
                "callback_query_id": query_id,
                "text": text or None,
                "show_alert": _param_bool(p, "show_alert"),
                "url": _param_str(p, "url"),
                "cache_time": _param_int(p, "cache_time"),
                "query": query.update["callback_query"],
            }
        )
        return True

    async def _m_answerInlineQuery(self, p: dict, files: dict) -> bool:
        query_id = _param_str(p, "inline_query_id")
        query = self._queries.get(query_id or "")
        if query is None or query.kind != "inline" or query.answered:
            raise _bad(_QUERY_TOO_OLD[len("Bad Request: ") :])
        results = _param_json(p, "results", "inline query results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or "type" not in result:
                raise _bad("can't parse inline query result")
            rid = str(result.get("id", ""))
            if not 1 <= _utf8_len(rid) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if rid in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._prepare_text(content, "message_text", "entities")
            if isinstance(result.get("reply_markup"), dict):
                self._check_inline_keyboard(result["reply_markup"])
        next_offset = _param_str(p, "next_offset") or ""
        if _utf8_len(next_offset) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        query.answered = True
        self.answers.append(
            {
                "method": "answerInlineQuery",
                "inline_query_id": query_id,
                "results": results,
                "cache_time": _param_int(p, "cache_time"),
                "is_personal": _param_bool(p, "is_personal"),
                "next_offset": next_offset,
                "query": query.update["inline_query"],
            }
        )
        return True

    @staticmethod
    def _scope_key(p: dict) -> tuple[str, str]:
        scope = _param_json(p, "scope", "bot command scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse bot command scope JSON object")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators"):
            key = f"{kind}:{scope.get('chat_id')}"
        elif kind == "chat_member":
            key = f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
        elif kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = kind
        else:
            raise _bad("wrong bot command scope type specified")
        lang = _param_str(p, "language_code") or ""
        if lang and not (len(lang) == 2 and lang.isascii() and lang.isalpha()):
            raise _bad("invalid language code specified")
        return key, lang

    async def _m_setMyCommands(self, p: dict, files: dict) -> bool:
        commands = _param_json(p, "commands", "bot commands")
        if not isinstance(commands, list):
            raise _bad("can't parse bot commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        cleaned: list[dict[str, str]] = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad("can't parse BotCommand")
            name = str(cmd.get("command", ""))
            desc = str(cmd.get("description", ""))
            if not (
                1 <= len(name) <= 32
                and all(c.islower() or c.isdigit() or c == "_" for c in name)
                and name.isascii()
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise _bad(
                    "command description is empty"
                    if not desc
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
            cleaned.append({"command": name, "description": desc})
        key = self._scope_key(p)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _m_getMyCommands(self, p: dict, files: dict) -> list:
        return copy.deepcopy(self.commands.get(self._scope_key(p), []))

    async def _m_deleteMyCommands(self, p: dict, files: dict) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _m_getChat(self, p: dict, files: dict) -> dict:
        cs = self._chat(p)
        info = copy.deepcopy(cs.chat)
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    def _member_of(self, cs: ChatState, user_id: int) -> dict:
        user = self.users.get(user_id)
        if cs.type == "private":
            if user_id not in (cs.id, self.bot_id):
                raise _bad("user not found")
            return chat_member_dict(
                user or {"id": user_id, "is_bot": False, "first_name": "Test"},
                Member("member"),
                cs.type,
            )
        if user is None:
            raise _bad("user not found")
        member = cs.members.get(user_id, Member("left"))
        return chat_member_dict(dict(user), member, cs.type)

    async def _m_getChatMember(self, p: dict, files: dict) -> dict:
        cs = self._chat(p)
        user_id = _param_int(p, "user_id", required=True)
        assert user_id is not None
        return self._member_of(cs, user_id)

    async def _m_getChatAdministrators(self, p: dict, files: dict) -> list:
        cs = self._chat(p)
        if cs.type == "private":
            raise _bad("there are no administrators in the private chat")
        return [
            self._member_of(cs, uid)
            for uid, m in cs.members.items()
            if m.status in ("creator", "administrator")
            and not self.users.get(uid, {}).get("is_bot")
        ]

    async def _m_getChatMemberCount(self, p: dict, files: dict) -> int:
        cs = self._chat(p)
        if cs.type == "private":
            return 2
        return sum(1 for m in cs.members.values() if m.status not in ("left", "kicked")) or 1

    async def _m_sendChatAction(self, p: dict, files: dict) -> bool:
        cs = self._chat(p, send=True)
        action = _param_str(p, "action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((cs.id, action))
        return True

    async def _m_getFile(self, p: dict, files: dict) -> dict:
        file_id = _param_str(p, "file_id") or ""
        record = self._files.get(file_id)
        if record is None:
            raise _bad("invalid file_id")
        if len(record.content) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        if record.file_path is None:
            ext = ""
            if record.file_name and "." in record.file_name:
                ext = "." + record.file_name.rsplit(".", 1)[1]
            record.file_path = f"documents/file_{self._file_counter}_{record.file_unique_id}{ext}"
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.content),
            "file_path": record.file_path,
        }

    async def _m_setChatMenuButton(self, p: dict, files: dict) -> bool:
        button = _param_json(p, "menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise _bad("can't parse menu button JSON object")
        if p.get("chat_id") not in (None, ""):
            cs = self._chat(p)
            if cs.type != "private":
                raise _bad("chat must be a private chat")
            cs.menu_button = button
        else:
            self.default_menu_button = button
        return True

    async def _m_getChatMenuButton(self, p: dict, files: dict) -> dict:
        if p.get("chat_id") not in (None, ""):
            cs = self._chat(p)
            return copy.deepcopy(cs.menu_button or self.default_menu_button)
        return copy.deepcopy(self.default_menu_button)

    # ------------------------------------------------------------ control API

    _CONTROL_ACTIONS = (
        "user_message",
        "group_message",
        "channel_post",
        "callback",
        "inline_query",
        "my_chat_member",
        "migrate_group",
        "document",
        "block",
        "unblock",
        "migrate",
        "fail_next",
        "rate_limit_next",
        "set_admin",
        "set_bot_status",
        "add_chat",
        "reset_observations",
    )

    async def _handle_control_post(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "message":
            action = "user_message"
        try:
            body = await request.json() if request.body_exists else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if action == "set_limits":
                limits = body.get("limits")
                self.set_limits(
                    bool(body.get("enforce", True)),
                    Limits(**limits) if isinstance(limits, dict) else None,
                )
                result: Any = True
            elif action in self._CONTROL_ACTIONS:
                kwargs = dict(body)
                if isinstance(kwargs.get("user"), dict) and "id" in kwargs["user"]:
                    kwargs["user"] = User(**kwargs["user"])
                if action == "callback" and "message" not in kwargs:
                    kwargs["message"] = (kwargs.pop("chat_id"), kwargs.pop("message_id"))
                if action == "document":
                    if "content_b64" in kwargs:
                        kwargs["content"] = base64.b64decode(kwargs.pop("content_b64"))
                    if "chat_id" in kwargs:
                        kwargs["chat"] = kwargs.pop("chat_id")
                if action == "user_message" and "chat_id" in kwargs:
                    kwargs["chat"] = kwargs.pop("chat_id")
                if action == "my_chat_member" and "chat_id" in kwargs:
                    kwargs["chat"] = kwargs.pop("chat_id")
                result = getattr(self, action)(**kwargs)
            else:
                return web.json_response(
                    {"ok": False, "description": f"unknown control action {action!r}"},
                    status=404,
                )
        except (TypeError, ValueError, KeyError) as err:
            return web.json_response({"ok": False, "description": repr(err)}, status=400)
        self._notifier.notify()
        return web.json_response({"ok": True, "result": result})

    async def _handle_control_get(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        q = request.query
        try:
            since = int(q.get("since", "0"))
            timeout = min(float(q.get("timeout", "0")), 60.0)
            chat_id = int(q["chat_id"]) if q.get("chat_id") else None
        except ValueError as err:
            return web.json_response({"ok": False, "description": repr(err)}, status=400)
        if action == "sent":

            def select() -> list[dict]:
                return [
                    m.to_dict()
                    for m in self.sent[since:]
                    if chat_id is None or m.chat_id == chat_id
                ]

            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await self.wait_for(select, timeout)
            return web.json_response({"ok": True, "result": select(), "next": len(self.sent)})
        if action == "calls":
            method = q.get("method")
            calls = [
                c.to_dict()
                for c in self.calls[since:]
                if method is None or c.method.lower() == method.lower()
            ]
            return web.json_response({"ok": True, "result": calls, "next": len(self.calls)})
        simple: dict[str, Callable[[], Any]] = {
            "answers": lambda: self.answers,
            "commands": lambda: [
                {"scope": k[0], "language_code": k[1], "commands": v}
                for k, v in self.commands.items()
            ],
            "updates": lambda: self._updates,
            "chats": lambda: [cs.chat for cs in self.chats.values()],
            "bot": lambda: {
                "user": self.bot_user,
                "base_url": self.base_url,
                "base_file_url": self.base_file_url,
            },
            "stats": lambda: {
                "limit_violations": self.limit_violations,
                "max_global_rate_1s": self.max_global_rate(1.0),
                "sent": len(self.sent),
                "calls": len(self.calls),
                "pending_updates": len(self._updates),
                "enforce_limits": self.enforce_limits,
            },
        }
        if action not in simple:
            return web.json_response(
                {"ok": False, "description": f"unknown control action {action!r}"}, status=404
            )
        return web.json_response(
            {"ok": True, "result": simple[action]()}, dumps=lambda o: json.dumps(o, default=str)
        )
