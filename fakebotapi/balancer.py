"""A round-robin load balancer for webhook POSTs, as nginx or caddy would run it in front of bot
replicas: the emulator's webhook points at it, it forwards each request to the next healthy
replica and, when that replica refuses the connection, resets it, times out or answers 5xx,
retries the same request on the next one (so an update reaches a live replica; the bot's update
journal makes a request that reached two replicas handled once).

Health: every :attr:`RoundRobin.check_interval` seconds each replica's ``GET /healthz`` is asked;
a replica that fails it, or fails a forwarded request, is skipped until it answers 200 again.
Loopback only, no TLS: the proxy in ``compose.yaml`` is where TLS ends in a deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

log = logging.getLogger("fakebotapi.balancer")

FORWARDED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


@dataclass
class Backend:
    """One replica: its base URL (``http://127.0.0.1:PORT``) and what the balancer knows of it."""

    base_url: str
    healthy: bool = True
    forwarded: int = 0  # requests it answered (any status below 500)
    failed: int = 0  # requests it refused, dropped or answered 5xx


@dataclass
class Forward:
    """One forwarded request: which backend answered it (-1: none) and after how many tries."""

    path: str
    backend: int
    status: int
    attempts: int


class RoundRobin:
    """``async with RoundRobin(["http://127.0.0.1:8001", ...]) as lb:``; point the webhook at
    ``lb.url("/hook")``. See the module docstring."""

    check_interval = 0.25  # s between health checks of every backend
    check_timeout = 1.0  # s for one health check
    request_timeout = 8.0  # s for a backend to answer one forwarded request

    def __init__(
        self,
        backends: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        health_path: str = "/healthz",
    ) -> None:
        self.backends = [Backend(url.rstrip("/")) for url in backends]
        self.host = host
        self.port = port
        self.health_path = health_path
        self.forwards: list[Forward] = []
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._checker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> RoundRobin:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        self._checker = asyncio.get_running_loop().create_task(self._check_forever())
        return self

    async def stop(self) -> None:
        checker, self._checker = self._checker, None
        if checker is not None:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RoundRobin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, path: str = "/") -> str:
        """This balancer's URL for ``path`` (what the webhook is set to)."""
        return f"http://{self.host}:{self.port}{path}"

    def add(self, base_url: str) -> int:
        """Add a backend; returns its index."""
        self.backends.append(Backend(base_url.rstrip("/")))
        return len(self.backends) - 1

    # -- forwarding -----------------------------------------------------------------------------
    def _order(self) -> list[int]:
        """Backends to try for the next request: healthy ones from the rotation point on, then
        (should none be healthy) the others, as a last resort."""
        n = len(self.backends)
        if n == 0:
            return []
        start = self._next % n
        rotation = [(start + i) % n for i in range(n)]
        order = [i for i in rotation if self.backends[i].healthy] + [
            i for i in rotation if not self.backends[i].healthy
        ]
        self._next = order[0] + 1  # the next request starts after the one tried first
        return order

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED_HEADERS if k in request.headers}
        attempts = 0
        for index in self._order():
            attempts += 1
            backend = self.backends[index]
            try:
                status, data, ctype = await self._forward(backend, request, body, headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("backend %s failed: %s", backend.base_url, type(exc).__name__)
                backend.failed += 1
                backend.healthy = False
                continue
            if status >= 500:
                backend.failed += 1
                backend.healthy = False
                continue
            backend.forwarded += 1
            self.forwards.append(Forward(request.path, index, status, attempts))
            return web.Response(status=status, body=data, content_type=ctype)
        self.forwards.append(Forward(request.path, -1, 502, attempts))
        return web.Response(status=502, text="no replica answered")

    async def _forward(
        self, backend: Backend, request: web.Request, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        if self._session is None:
            raise RuntimeError("the balancer is not started")
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        async with self._session.request(
            request.method, backend.base_url + request.path_qs, data=body, headers=headers,
            timeout=timeout,
        ) as response:  # fmt: skip
            return response.status, await response.read(), response.content_type

    # -- health ---------------------------------------------------------------------------------
    async def check(self) -> None:
        """Ask every backend's health endpoint now."""
        await asyncio.gather(*(self._check(b) for b in list(self.backends)))

    async def _check_forever(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_interval)

    async def _check(self, backend: Backend) -> None:
        if self._session is None:
            return
        try:
            timeout = aiohttp.ClientTimeout(total=self.check_timeout)
            async with self._session.get(
                backend.base_url + self.health_path, timeout=timeout
            ) as response:
                await response.read()
                backend.healthy = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            backend.healthy = False
