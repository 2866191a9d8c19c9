"""Update injection: what users do (messages, button presses, inline queries, documents,
membership changes, group migration), queued as Updates for ``getUpdates``."""

from __future__ import annotations

import copy
import mimetypes
import time
from typing import Any

from .html import auto_entities, sort_entities
from .protocol import (
    DEFAULT_USER_ID,
    Json,
)
from .state import Member, SentMessage, User, chat_member_dict
from .world import PendingQuery, World


class UpdateInjection(World):
    """Inject updates as a user or chat would cause them; each method returns the Update dict."""

    def _text_fields(self, text: str, entities: list[Json] | None) -> dict[str, Any]:
        ents = sort_entities(list(entities or []) + auto_entities(text, entities))
        data: dict[str, Any] = {"text": text}
        if ents:
            data["entities"] = ents
        return data

    def user_message(
        self,
        chat: int | User | None = None,
        text: str = "",
        *,
        user: User | Json | int | None = None,
        user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        chat_username: str | None = None,
        entities: list[Json] | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Inject a text message from a user; return the Update dict.

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
        user: User | Json | int | None = None,
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
        entities: list[Json] | None = None,
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
            chat_id = message["chat_id"] if "chat_id" in message else message["chat"]["id"]
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
        message: SentMessage | Json | tuple[int, int],
        data: str,
        *,
        user: User | Json | int | None = None,
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
        self._queries[query_id] = PendingQuery("callback", update)
        return update

    def inline_query(
        self,
        user: User | Json | int | None,
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
        self._queries[query_id] = PendingQuery("inline", update)
        return update

    def my_chat_member(
        self,
        chat: int,
        old_status: str,
        new_status: str,
        *,
        user: User | Json | int | None = None,
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
        self.set_bot_status(chat, new_status, **rights)
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

    def document(
        self,
        chat: int | User,
        filename: str,
        content: bytes | str,
        mime: str | None = None,
        *,
        caption: str | None = None,
        user: User | Json | int | None = None,
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
