"""The Bot API methods the bot calls (``_m_<method>``), with Telegram's validation of text,
entities, keyboards, replies and flood limits."""

from __future__ import annotations

import contextlib
import copy
import mimetypes
import re
import time
from typing import Any

from .html import HtmlParseError, auto_entities, finalize_text, parse_html, sort_entities
from .protocol import (
    DEFAULT_ALLOWED,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_DOWNLOAD,
    MAX_INLINE_RESULTS,
    MAX_TEXT,
    MAX_UPLOAD,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    Json,
    bad,
    param_bool,
    param_int,
    param_json,
    param_str,
    required_int,
    utf8_len,
)
from .state import ChatState, Member, SentMessage, chat_member_dict
from .world import StoredFile, World, log


class BotApiMethods(World):
    """One coroutine per Bot API method: ``(params, files) -> result`` or raise ``ApiError``."""

    def _prepare_text(
        self, p: Json, text_key: str, entities_key: str, *, caption: bool = False
    ) -> tuple[str, list[Json]]:
        raw = param_str(p, text_key)
        parse_mode = (param_str(p, "parse_mode") or "").strip()
        explicit = param_json(p, entities_key, "entities")
        if raw is None or raw == "":
            if caption:
                return "", []
            raise bad("message text is empty")
        entities: list[Json] = []
        if explicit:
            if not isinstance(explicit, list):
                raise bad("can't parse entities JSON object")
            text = raw
            entities = [dict(e) for e in explicit if isinstance(e, dict) and "type" in e]
        elif parse_mode.lower() == "html":
            try:
                text, entities = parse_html(raw, strict_amp=self.strict_html)
            except HtmlParseError as err:
                raise bad(f"can't parse entities: {err}") from None
        elif parse_mode.lower() in ("markdown", "markdownv2"):
            log.warning("emulator does not parse %s; text is kept verbatim", parse_mode)
            text = raw
        elif parse_mode:
            raise bad("unsupported parse_mode")
        else:
            text = raw
        text, entities = finalize_text(text, entities)
        if not text:
            if caption:
                return "", []
            raise bad("message text is empty")
        if caption and len(text) > MAX_CAPTION:
            raise bad("message caption is too long")
        if not caption and len(text) > MAX_TEXT:
            raise bad("message is too long")
        entities = sort_entities(entities + auto_entities(text, entities))
        return text, entities

    def _check_markup(self, p: Json) -> Json | None:
        markup = param_json(p, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup)
        return markup

    @staticmethod
    def _check_inline_keyboard(markup: Json) -> None:
        rows = markup.get("inline_keyboard")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad(
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
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                if not any(k in button for k in actions):
                    raise bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= utf8_len(data) <= MAX_CALLBACK_DATA:
                        raise bad("BUTTON_DATA_INVALID")
                if "url" in button and not str(button["url"]).strip():
                    raise bad("BUTTON_URL_INVALID")

    def _link_preview(self, p: Json) -> Json | None:
        options = param_json(p, "link_preview_options", "link preview options")
        if options is None and param_bool(p, "disable_web_page_preview"):
            options = {"is_disabled": True}
        return options if isinstance(options, dict) else None

    def _reply_to_id(self, cs: ChatState, p: Json) -> int | None:
        params = param_json(p, "reply_parameters", "reply parameters")
        allow = param_bool(p, "allow_sending_without_reply")
        mid: int | None = None
        if isinstance(params, dict) and params.get("message_id") is not None:
            mid = int(params["message_id"])
            allow = allow or bool(params.get("allow_sending_without_reply"))
        elif p.get("reply_to_message_id") not in (None, ""):
            mid = param_int(p, "reply_to_message_id")
        if mid is None:
            return None
        if (cs.id, mid) not in self._messages:
            if allow:
                return None
            raise bad("message to be replied not found")
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
        p: Json,
        extra: dict[str, Any],
        *,
        text: str | None,
        raw_text: str | None,
        entities: list[Json],
        markup: Json | None,
        link_preview: Json | None = None,
        document: Json | None = None,
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
                parse_mode=param_str(p, "parse_mode"),
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

    async def _m_getMe(self, p: Json, files: Json) -> Json:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

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

    async def _m_getUpdates(self, p: Json, files: Json) -> list[Json]:
        offset = param_int(p, "offset")
        limit = param_int(p, "limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = max(param_int(p, "timeout") or 0, 0)
        allowed = param_json(p, "allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
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

    async def _m_sendMessage(self, p: Json, files: Json) -> Json:
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
            raw_text=param_str(p, "text"),
            entities=entities,
            markup=markup,
            link_preview=link_preview,
        )

    async def _m_sendDocument(self, p: Json, files: Json) -> Json:
        cs = self._chat(p, send=True)
        value = p.get("document")
        upload = files.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        record: StoredFile | None = None
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
            raise bad("wrong file identifier/HTTP URL specified")
        if record is None:
            raise bad("there is no document in the request")
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
            raw_text=param_str(p, "caption"),
            entities=entities,
            markup=markup,
            document=record.document(),
        )

    def _editable(self, p: Json) -> tuple[ChatState, Json]:
        cs = self._chat(p, send=True)
        mid = param_int(p, "message_id")
        if mid is None:
            raise bad("message identifier is not specified")
        msg = self._messages.get((cs.id, mid))
        if msg is None:
            raise bad("message to edit not found")
        own = (msg.get("from") or {}).get("id") == self.bot_id
        if cs.type == "channel":
            own = any(s.message_id == mid and s.chat_id == cs.id for s in self.sent)
        if not own:
            raise bad("message can't be edited")
        return cs, msg

    def _record_edit(
        self,
        cs: ChatState,
        method: str,
        p: Json,
        msg: Json,
        markup: Json | None,
        link_preview: Json | None = None,
    ) -> Json:
        msg["edit_date"] = int(time.time())
        self.sent.append(
            SentMessage(
                chat_id=cs.id,
                message_id=msg["message_id"],
                text=msg.get("text", msg.get("caption")),
                raw_text=param_str(p, "text"),
                parse_mode=param_str(p, "parse_mode"),
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

    async def _m_editMessageText(self, p: Json, files: Json) -> Json | bool:
        if p.get("inline_message_id"):
            text, entities = self._prepare_text(p, "text", "entities")
            self._check_markup(p)
            self.sent.append(
                SentMessage(
                    chat_id=0,
                    message_id=0,
                    text=text,
                    raw_text=param_str(p, "text"),
                    parse_mode=param_str(p, "parse_mode"),
                    entities=entities,
                    reply_markup=param_json(p, "reply_markup"),
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
            raise bad("there is no text in the message to edit")
        inline = markup if markup and "inline_keyboard" in markup else None
        if (
            msg.get("text") == text
            and msg.get("entities", []) == entities
            and msg.get("reply_markup") == inline
        ):
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
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

    async def _m_deleteMessage(self, p: Json, files: Json) -> bool:
        cs = self._chat(p)
        mid = required_int(p, "message_id")
        if (cs.id, mid) not in self._messages:
            raise bad("message to delete not found")
        del self._messages[(cs.id, mid)]
        self.deleted.append((cs.id, mid))
        return True

    async def _m_answerCallbackQuery(self, p: Json, files: Json) -> bool:
        query_id = param_str(p, "callback_query_id")
        query = self._queries.get(query_id or "")
        if query is None or query.kind != "callback" or query.answered:
            raise bad(QUERY_TOO_OLD[len("Bad Request: ") :])
        text = param_str(p, "text") or ""
        if len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query.answered = True
        self.answers.append(
            {
                "method": "answerCallbackQuery",
                "callback_query_id": query_id,
                "text": text or None,
                "show_alert": param_bool(p, "show_alert"),
                "url": param_str(p, "url"),
                "cache_time": param_int(p, "cache_time"),
                "query": query.update["callback_query"],
            }
        )
        return True

    async def _m_answerInlineQuery(self, p: Json, files: Json) -> bool:
        query_id = param_str(p, "inline_query_id")
        query = self._queries.get(query_id or "")
        if query is None or query.kind != "inline" or query.answered:
            raise bad(QUERY_TOO_OLD[len("Bad Request: ") :])
        results = param_json(p, "results", "inline query results")
        if not isinstance(results, list):
            raise bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or "type" not in result:
                raise bad("can't parse inline query result")
            rid = str(result.get("id", ""))
            if not 1 <= utf8_len(rid) <= 64:
                raise bad("RESULT_ID_INVALID")
            if rid in seen:
                raise bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._prepare_text(content, "message_text", "entities")
            if isinstance(result.get("reply_markup"), dict):
                self._check_inline_keyboard(result["reply_markup"])
        next_offset = param_str(p, "next_offset") or ""
        button = param_json(p, "button", "inline query results button")
        if button is not None:
            self._check_results_button(button)
        if utf8_len(next_offset) > 64:
            raise bad("NEXT_OFFSET_INVALID")
        query.answered = True
        self.answers.append(
            {
                "method": "answerInlineQuery",
                "inline_query_id": query_id,
                "results": results,
                "cache_time": param_int(p, "cache_time"),
                "is_personal": param_bool(p, "is_personal"),
                "next_offset": next_offset,
                "button": button,
                "query": query.update["inline_query"],
            }
        )
        return True

    @staticmethod
    def _check_results_button(button: object) -> None:
        """An ``InlineQueryResultsButton``: a text and exactly one of ``start_parameter``
        (1-64 characters of ``A-Za-z0-9_-``) or ``web_app``."""
        if not isinstance(button, dict) or not str(button.get("text") or "").strip():
            raise bad("BUTTON_TEXT_INVALID")
        start, web_app = button.get("start_parameter"), button.get("web_app")
        if (start is None) == (web_app is None):
            raise bad("can't parse inline query results button")
        if start is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(start)):
            raise bad("START_PARAM_INVALID")

    @staticmethod
    def _scope_key(p: Json) -> tuple[str, str]:
        scope = param_json(p, "scope", "bot command scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad("can't parse bot command scope JSON object")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators"):
            key = f"{kind}:{scope.get('chat_id')}"
        elif kind == "chat_member":
            key = f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
        elif kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = kind
        else:
            raise bad("wrong bot command scope type specified")
        lang = param_str(p, "language_code") or ""
        if lang and not (len(lang) == 2 and lang.isascii() and lang.isalpha()):
            raise bad("invalid language code specified")
        return key, lang

    async def _m_setMyCommands(self, p: Json, files: Json) -> bool:
        commands = param_json(p, "commands", "bot commands")
        if not isinstance(commands, list):
            raise bad("can't parse bot commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands")
        cleaned: list[dict[str, str]] = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise bad("can't parse BotCommand")
            name = str(cmd.get("command", ""))
            desc = str(cmd.get("description", ""))
            if not (
                1 <= len(name) <= 32
                and all(c.islower() or c.isdigit() or c == "_" for c in name)
                and name.isascii()
            ):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise bad(
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

    async def _m_getMyCommands(self, p: Json, files: Json) -> list[Json]:
        return copy.deepcopy(self.commands.get(self._scope_key(p), []))

    async def _m_getChat(self, p: Json, files: Json) -> Json:
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

    def _member_of(self, cs: ChatState, user_id: int) -> Json:
        user = self.users.get(user_id)
        if cs.type == "private":
            if user_id not in (cs.id, self.bot_id):
                raise bad("user not found")
            return chat_member_dict(
                user or {"id": user_id, "is_bot": False, "first_name": "Test"},
                Member("member"),
                cs.type,
            )
        if user is None:
            raise bad("user not found")
        member = cs.members.get(user_id, Member("left"))
        return chat_member_dict(dict(user), member, cs.type)

    async def _m_getChatMember(self, p: Json, files: Json) -> Json:
        cs = self._chat(p)
        user_id = required_int(p, "user_id")
        assert user_id is not None
        return self._member_of(cs, user_id)

    async def _m_getChatAdministrators(self, p: Json, files: Json) -> list[Json]:
        cs = self._chat(p)
        if cs.type == "private":
            raise bad("there are no administrators in the private chat")
        return [
            self._member_of(cs, uid)
            for uid, m in cs.members.items()
            if m.status in ("creator", "administrator")
            and not self.users.get(uid, {}).get("is_bot")
        ]

    async def _m_getFile(self, p: Json, files: Json) -> Json:
        file_id = param_str(p, "file_id") or ""
        record = self._files.get(file_id)
        if record is None:
            raise bad("invalid file_id")
        if len(record.content) > MAX_DOWNLOAD:
            raise bad("file is too big")
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

    async def _m_setChatMenuButton(self, p: Json, files: Json) -> bool:
        button = param_json(p, "menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise bad("can't parse menu button JSON object")
        if p.get("chat_id") not in (None, ""):
            cs = self._chat(p)
            if cs.type != "private":
                raise bad("chat must be a private chat")
            cs.menu_button = button
        else:
            self.default_menu_button = button
        return True

    async def _m_getChatMenuButton(self, p: Json, files: Json) -> Json:
        if p.get("chat_id") not in (None, ""):
            cs = self._chat(p)
            return copy.deepcopy(cs.menu_button or self.default_menu_button)
        return copy.deepcopy(self.default_menu_button)
