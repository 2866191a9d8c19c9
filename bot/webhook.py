"""Taking updates by webhook instead of long polling, and the health endpoint beside it.

PTB's :meth:`~telegram.ext.Updater.start_webhook` runs a tornado server on ``listen:port`` that
refuses (403) a request without Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header and puts
every update into the Application's update queue, the :class:`~bot.updates.JournaledQueue`:
the update is journaled before the 200 that tells Telegram it arrived, and an update delivered
twice (Telegram retries when it saw no 2xx) is handled once. ``GET /healthz`` is served by the
same tornado application (one port for a load balancer's checks): 200 ``ok`` while the bot takes
updates (503 should the Application stop before the server closes).

``setWebhook`` is tried again when it fails (:data:`bot.startup.BOOTSTRAP_RETRIES`).
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web

from .common import BotApplication, updater_of
from .config import Webhook
from .startup import BOOTSTRAP_RETRIES

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class HealthHandler(tornado.web.RequestHandler):
    """``GET /healthz``: 200 ``ok`` while the Application runs and takes updates, else 503."""

    def initialize(self, bot_application: BotApplication) -> None:
        self.bot_application = bot_application

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        app = self.bot_application
        if app.running and app.updater is not None and app.updater.running:
            self.write("ok")
        else:
            self.set_status(503)
            self.write("stopping")


async def start_webhook(
    application: BotApplication, webhook: Webhook, allowed_updates: list[str]
) -> None:
    """Set the webhook at Telegram, serve it on ``webhook.listen:port`` and add the health route."""
    updater = updater_of(application)
    await updater.start_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=webhook.path,
        webhook_url=webhook.url,
        secret_token=webhook.secret,
        allowed_updates=allowed_updates,
        bootstrap_retries=BOOTSTRAP_RETRIES,
    )
    add_health_route(application)
    log.info("taking updates by webhook on %s:%d%s", webhook.listen, webhook.port, webhook.path)


def add_health_route(application: BotApplication) -> None:
    """Add ``/healthz`` to the tornado application PTB's webhook server runs. PTB builds that
    application inside ``start_webhook`` with only its own route, so it is reached through the
    server (PTB is pinned; a version that moves it fails here, at start-up, and in the tests)."""
    server: Any = getattr(updater_of(application), "_httpd", None)
    http_server = getattr(server, "_http_server", None)
    tornado_app = getattr(http_server, "request_callback", None)
    if not isinstance(tornado_app, tornado.web.Application):
        raise RuntimeError("cannot add the health endpoint: PTB's webhook server has changed")
    tornado_app.add_handlers(
        r".*", [(HEALTH_PATH, HealthHandler, {"bot_application": application})]
    )
