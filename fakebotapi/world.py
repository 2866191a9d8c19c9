"""The emulated Telegram: chats, users and memberships, stored messages and files, the update
queue, and what tests observe or inject (sends, calls, failures, flood limits)."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .limits import Limits, SendTracker
from .protocol import (
    DEFAULT_ALLOWED,
    DEFAULT_USER_ID,
    METHOD_BY_LOWER,
    ApiError,
    Json,
    bad,
)
from .state import ApiCall, ChatState, Member, SentMessage, User

log = logging.getLogger("fakebotapi")

T = TypeVar("T")


@dataclass
class Failure:
    method: str | None  # canonical method name, None = any but getUpdates
    status: int
    remaining: int
    description: str
    parameters: Json | None = None
    chat_id: int | None = None
    only_limitable: bool = False


@dataclass
class StoredFile:
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
class Upload:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class PendingQuery:
    kind: str  # "callback" | "inline"
    update: dict[str, Any]
    answered: bool = False


class Notifier:
    """Wake coroutines waiting for a predicate whenever state changes (no busy sleeping)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float) -> T:
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


class World:
    """State shared by the Bot API methods, update injection and the control API.

    All methods must be called from the event loop thread the server runs in.
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
        first_update_id: int | None = None,
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
        self.deleted: list[tuple[int, int]] = []
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self.users: dict[int, dict[str, Any]] = {self.bot_id: self.bot_user}
        self.chats: dict[int, ChatState] = {}

        self._updates: list[dict[str, Any]] = []
        # A new emulator is a new Telegram: like Telegram's after a week without updates, its
        # first update_id is random, so it never repeats the ids an earlier emulator gave to a
        # bot whose database remembers them (the bot drops an update it has journaled).
        self._next_update_id = (
            first_update_id if first_update_id is not None else random.randrange(10**8, 10**9)
        )
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._queries: dict[str, PendingQuery] = {}
        self._query_counter = 0
        self._failures: list[Failure] = []
        self._notifier = Notifier()
        self._closing = False

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
            self.set_bot_status(chat_id, bot_status, **bot_rights)
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

    def _chat(self, params: Json, *, send: bool = False) -> ChatState:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad("chat_id is empty")
        cs = self._resolve_chat(raw)
        if cs is None:
            if send and str(raw).lstrip("-").isdigit() and int(raw) in self.users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad("chat not found")
        if cs.migrated_to is not None:
            raise bad(
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
                raise bad("need administrator rights in the channel chat")
        elif me.status == "restricted" and not me.rights.get("can_send_messages"):
            raise bad("not enough rights to send text messages to the chat")

    def _user(
        self,
        user: User | Json | int | None,
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
        self._set_member(chat_id, user_id, Member(status, rights, custom_title, until_date))

    def _set_member(self, chat_id: int, user_id: int, member: Member) -> None:
        self.chats[chat_id].members[user_id] = member
        if user_id == self.bot_id and self.chats[chat_id].type == "private":
            self.chats[chat_id].blocked = member.status == "kicked"

    def set_bot_status(self, chat_id: int, status: str, **rights: bool) -> None:
        """Shortcut for ``set_admin(chat_id, fake.bot_id, status, **rights)``."""
        self.set_admin(chat_id, self.bot_id, status)
        self.chats[chat_id].members[self.bot_id].rights.update(rights)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (private) / the bot is kicked (groups, channels)."""
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        cs = self.chats[chat_id]
        if cs.type == "private":
            cs.blocked = True
        else:
            cs.members[self.bot_id] = Member("kicked")

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade group ``chat_id`` to supergroup ``new_chat_id`` (state only, no updates)."""
        if chat_id not in self.chats:
            self.add_chat(chat_id, "group")
        old = self.chats[chat_id]
        if new_chat_id not in self.chats:
            self.add_chat(new_chat_id, "supergroup", title=old.chat.get("title"))
            self.chats[new_chat_id].members.update(copy.deepcopy(old.members))
        old.migrated_to = new_chat_id

    @property
    def limit_violations(self) -> int:
        """Sends that exceeded a flood limit (counted even when not enforcing)."""
        return len(self.tracker.violations)

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
        parameters: Json | None = None,
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
            canonical = METHOD_BY_LOWER.get(method.lower(), method)
        self._failures.append(
            Failure(
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
        canonical = METHOD_BY_LOWER.get(method.lower(), method) if method else None
        self._failures.append(
            Failure(
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

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[Json] | None:
        """Commands set for a scope key ("default", "all_private_chats", "chat:<id>", ...)."""
        return self.commands.get((scope, language_code))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Injected updates the bot has not confirmed yet (via getUpdates offset)."""
        return copy.deepcopy(self._updates)

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
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

    def _reply_fields(self, cs: ChatState, reply_to_message_id: int | None) -> dict[str, Any]:
        if reply_to_message_id is None:
            return {}
        target = self._messages.get((cs.id, reply_to_message_id))
        if target is None:
            return {}
        target = copy.deepcopy(target)
        target.pop("reply_to_message", None)
        return {"reply_to_message": target}

    def _store_file(
        self, content: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        record = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{n:06d}emu",
            file_unique_id=f"AgAD{n:06d}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[record.file_id] = record
        return record

    def file_content(self, file_id: str) -> bytes:
        """Content of a stored file (uploaded by the bot or injected)."""
        return self._files[file_id].content
