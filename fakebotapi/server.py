"""The emulator's HTTP side and lifecycle: routes, request parsing, injected failures, start/stop.

``FakeTelegram`` is assembled here from ``methods`` (the Bot API) with ``webhook`` (its webhook
methods and deliveries), ``injection`` (updates) and
``control`` (the JSON control API), all over ``world`` (the emulated state). It listens on
127.0.0.1, speaks the Bot API at ``/bot{token}/{method}`` and serves files at
``/file/bot{token}/{path}``, so a real PTB ``telegram.Bot`` can be pointed at it with
``base_url=fake.base_url, base_file_url=fake.base_file_url``.  Tests inject updates
(``user_message``, ``callback``, ...) and observe what the bot did (``sent``, ``calls``,
``wait_for_messages``).  A small JSON control API under ``/_control/`` exposes the same
injection/observation to another process (see ``python -m fakebotapi``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from .control import ControlApi
from .injection import UpdateInjection
from .protocol import (
    MAX_UPLOAD,
    METHOD_BY_LOWER,
    RATE_LIMITABLE,
    ApiError,
    Json,
    bad,
)
from .state import ApiCall
from .webhook import WebhookDelivery
from .world import Upload, log

__all__ = ["ApiError", "FakeTelegram"]


class FakeTelegram(WebhookDelivery, UpdateInjection, ControlApi):
    """In-process Telegram Bot API emulator; see the module docstring.

    Use as ``async with FakeTelegram() as fake:`` or ``await fake.start()`` / ``await
    fake.stop()``.  All injection/observation methods must be called from the event loop
    thread the server runs in.
    """

    _runner: web.AppRunner | None = None

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
        self._runner = web.AppRunner(self._make_app(), shutdown_timeout=2.0, access_log=None)
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
        await self._stop_delivery()
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

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad("can't parse JSON encoded request parameters") from None
                if isinstance(body, dict):
                    params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, FileField):
                        files[key] = Upload(value.filename, value.content_type, value.file.read())
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
        method = METHOD_BY_LOWER.get(name.lower())
        call = ApiCall(method=method or name, params={})
        self.calls.append(call)
        try:
            params, files = await self._read_params(request)
            call.params = params
            delay = self.method_latency.get(method or "", self.latency)
            if delay:  # answered late: the client may give up, the call still takes effect
                await asyncio.sleep(delay)
            if method is None:
                raise bad("method not found")
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

    def _check_injected_failures(self, method: str, params: Json) -> None:
        for rule in self._failures:
            if rule.remaining <= 0:
                continue
            if rule.method is not None and rule.method != method:
                continue
            if rule.method is None and method == "getUpdates":
                continue
            if rule.only_limitable and method not in RATE_LIMITABLE:
                continue
            if rule.chat_id is not None:
                chat = self._resolve_chat(params.get("chat_id"))
                if chat is None or chat.id != rule.chat_id:
                    continue
            rule.remaining -= 1
            self._failures = [r for r in self._failures if r.remaining > 0]
            raise ApiError(rule.status, rule.description, rule.parameters)
