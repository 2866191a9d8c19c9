"""A real HTTP server on 127.0.0.1 serving recorded feeds and pages to the source tests.

Routes are set per test: ``site.add("/feed.xml", body, headers=..., status=...)`` or a handler.
It counts requests per path and keeps their headers, so a test can check conditional GET and
redirects. Connections to it go through ``DIGESTBOT_FETCH_ALLOW`` (the fetcher refuses loopback
otherwise).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

DATA = Path(__file__).parent / "data"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: dict[str, int] = defaultdict(int)
        self.requests: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.active: dict[str, int] = defaultdict(int)
        self.max_active: dict[str, int] = defaultdict(int)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/xml",
        etag: str | None = None,
        delay: float = 0.0,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            if etag and request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            extra = dict(headers or {})
            if etag:
                extra["ETag"] = etag
            extra.setdefault("Content-Type", content_type)
            return web.Response(status=status, body=data, headers=extra)

        self.routes[path] = handler

    def add_handler(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def redirect(self, path: str, to: str, status: int) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self.routes[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.hits[path] += 1
        self.requests[path].append(dict(request.headers))
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        self.active[path] += 1
        self.max_active[path] = max(self.max_active[path], self.active[path])
        try:
            return await handler(request)
        finally:
            self.active[path] -= 1

    async def start(self) -> LocalSite:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class ThreadedSite:
    """A :class:`LocalSite` on its own event loop in a thread, for synchronous callers (the CLI
    runs its own loop). ``with ThreadedSite() as site: ...``; routes are added the same way."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.site = LocalSite()

    def __enter__(self) -> LocalSite:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.site.start(), self.loop).result(10)
        return self.site

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.site.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
