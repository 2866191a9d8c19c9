"""The JSON control API under ``/_control/``: injection and observation for a bot running in
another process (see ``python -m fakebotapi`` and ``ControlClient``)."""

from __future__ import annotations

import base64
import contextlib

from aiohttp import web

from .protocol import Json
from .state import User
from .world import World


class ControlApi(World):
    """``POST /_control/<injection method>`` with its keyword arguments as JSON;
    ``GET /_control/sent`` (long-polls with ``timeout``) and ``GET /_control/stats``."""

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
        "migrate",
        "fail_next",
        "rate_limit_next",
        "set_admin",
        "set_bot_status",
        "add_chat",
    )

    async def _handle_control_post(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "message":
            action = "user_message"
        try:
            body = await request.json() if request.body_exists else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if action in self._CONTROL_ACTIONS:
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

            def select() -> list[Json]:
                return [
                    m.to_dict()
                    for m in self.sent[since:]
                    if chat_id is None or m.chat_id == chat_id
                ]

            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await self.wait_for(select, timeout)
            return web.json_response({"ok": True, "result": select(), "next": len(self.sent)})
        if action == "stats":
            stats = {
                "limit_violations": self.limit_violations,
                "max_global_rate_1s": self.max_global_rate(1.0),
                "sent": len(self.sent),
                "calls": len(self.calls),
                "pending_updates": len(self._updates),
                "enforce_limits": self.enforce_limits,
            }
            return web.json_response({"ok": True, "result": stats})
        return web.json_response(
            {"ok": False, "description": f"unknown control action {action!r}"}, status=404
        )
