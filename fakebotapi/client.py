"""Async client for the emulator's ``/_control`` API (for a bot running in another process).

Example::

    async with ControlClient("http://127.0.0.1:PORT") as ctl:
        await ctl.inject("user_message", chat_id=42, text="/start")
        sent = await ctl.sent(chat_id=42, timeout=5)
"""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

__all__ = ["ControlClient", "ControlError"]


class ControlError(RuntimeError):
    """The control API refused a request."""


class ControlClient:
    """Thin JSON wrapper around ``POST/GET {root_url}/_control/{action}``."""

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url.rstrip("/").removesuffix("/bot")
        self._session: aiohttp.ClientSession | None = None
        self.next_sent = 0  # cursor for :meth:`new_messages`

    async def __aenter__(self) -> ControlClient:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _result(self, resp: aiohttp.ClientResponse) -> dict[str, Any]:
        body: dict[str, Any] = await resp.json()
        if not body.get("ok"):
            raise ControlError(body.get("description", f"HTTP {resp.status}"))
        return body

    async def inject(self, action: str, **kwargs: Any) -> Any:
        """Call an injection method by name (user_message, callback, document, block, ...).

        Arguments are the keyword arguments of the FakeTelegram method; ``callback`` takes
        ``chat_id``/``message_id``/``data``; ``document`` takes ``content`` as bytes or str.
        """
        if action == "document" and isinstance(kwargs.get("content"), bytes):
            kwargs["content_b64"] = base64.b64encode(kwargs.pop("content")).decode()
        url = f"{self.root_url}/_control/{action}"
        async with self._http().post(url, json=kwargs) as resp:
            return (await self._result(resp))["result"]

    async def get(self, action: str, **params: Any) -> dict[str, Any]:
        """GET an observation endpoint (sent, stats)."""
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self._http().get(f"{self.root_url}/_control/{action}", params=query) as resp:
            return await self._result(resp)

    async def new_messages(
        self, chat_id: int | None = None, timeout: float = 0.0
    ) -> list[dict[str, Any]]:
        """Messages recorded since the previous call (long-polls up to ``timeout`` s)."""
        body = await self.get("sent", chat_id=chat_id, since=self.next_sent, timeout=timeout)
        self.next_sent = body["next"]
        messages: list[dict[str, Any]] = body["result"]
        return messages
