"""Webhooks as Telegram runs them: ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``, and the
delivery of queued updates by HTTPS POST instead of ``getUpdates``.

While a webhook is set, ``getUpdates`` answers 409 Conflict, and each update is POSTed (one at a
time, in order) to the URL with the ``X-Telegram-Bot-Api-Secret-Token`` header; an answer other
than 2xx, or none, is retried after :attr:`WebhookDelivery.webhook_retry_delay` seconds, at most
:attr:`WebhookDelivery.webhook_attempts` times, then the update is dropped (Telegram also gives up
eventually). Unlike Telegram, plain ``http://`` is accepted for loopback addresses: the emulator
and the bot under test talk over 127.0.0.1 without TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .methods import BotApiMethods
from .protocol import ApiError, Json, bad, param_bool, param_json, param_str
from .world import log

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Webhook:
    """The webhook a bot set, and how its deliveries went (as ``getWebhookInfo`` reports)."""

    url: str
    secret: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Delivery:
    """One POST of an update to the webhook: ``status`` 0 when no HTTP answer came."""

    update_id: int
    status: int


class WebhookDelivery(BotApiMethods):
    """The webhook methods and the task that POSTs queued updates to the webhook."""

    webhook_attempts = 5  # POSTs of one update before it is dropped
    webhook_retry_delay = 0.2  # s between attempts (Telegram waits longer, growing)
    webhook_timeout = 10.0  # s for the bot to answer one POST

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.webhook: Webhook | None = None
        self.deliveries: list[Delivery] = []  # every POST to a webhook so far, in order
        self._webhook_task: asyncio.Task[None] | None = None

    async def _m_setWebhook(self, p: Json, files: Json) -> bool:
        url = param_str(p, "url") or ""
        if not url:  # Telegram: an empty URL removes the webhook
            await self._remove_webhook(drop=param_bool(p, "drop_pending_updates"))
            return True
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = param_str(p, "secret_token")
        if secret is not None and not (
            1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
        ):
            raise bad("secret token contains unallowed characters")
        allowed = param_json(p, "allowed_updates", "allowed updates")
        if isinstance(allowed, list) and allowed:
            self._allowed_updates = frozenset(allowed)
        if param_bool(p, "drop_pending_updates"):
            self._updates.clear()
        await self._stop_delivery()
        self.webhook = Webhook(url=url, secret=secret)
        self._poll_generation += 1  # a long poll in progress ends with 409
        self._webhook_task = asyncio.get_running_loop().create_task(self._post_updates(self.webhook))
        self._notifier.notify()
        return True

    async def _m_deleteWebhook(self, p: Json, files: Json) -> bool:
        await self._remove_webhook(drop=param_bool(p, "drop_pending_updates"))
        return True

    async def _m_getWebhookInfo(self, p: Json, files: Json) -> Json:
        hook = self.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["allowed_updates"] = sorted(self._allowed_updates)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _m_getUpdates(self, p: Json, files: Json) -> list[Json]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        return await super()._m_getUpdates(p, files)

    async def _remove_webhook(self, *, drop: bool) -> None:
        self.webhook = None
        await self._stop_delivery()
        if drop:
            self._updates.clear()
        self._notifier.notify()

    async def _stop_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _post_updates(self, hook: Webhook) -> None:
        """POST the queued updates to ``hook`` in order until it is replaced or removed."""
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self.webhook is hook and not self._closing:
                try:
                    await self._notifier.wait_for(
                        lambda: self._deliverable() or self.webhook is not hook or self._closing,
                        3600.0,
                    )
                except TimeoutError:
                    continue
                if self.webhook is not hook or self._closing:
                    return
                update = self._deliverable()[0]
                for attempt in range(1, self.webhook_attempts + 1):
                    if await self._post(session, hook, update):
                        break
                    if attempt < self.webhook_attempts:
                        await asyncio.sleep(self.webhook_retry_delay)
                else:
                    log.info("webhook: update %s dropped after failures", update["update_id"])
                self._updates = [u for u in self._updates if u is not update]
                self._notifier.notify()

    async def _post(self, session: aiohttp.ClientSession, hook: Webhook, update: Json) -> bool:
        headers = {SECRET_HEADER: hook.secret} if hook.secret else {}
        try:
            async with session.post(hook.url, json=update, headers=headers) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = 0, f"Connection failed: {type(exc).__name__}"
        else:
            error = f"Wrong response from the webhook: {status}"
        self.deliveries.append(Delivery(update["update_id"], status))
        self._notifier.notify()
        if 200 <= status < 300:
            return True
        hook.last_error_date, hook.last_error_message = int(time.time()), error
        return False
