"""Updates by webhook: the real Application serves PTB's webhook over loopback and the fake Bot API
POSTs updates to it. The secret header is checked, an update delivered twice is handled once,
the health endpoint answers, and the fake refuses getUpdates while a webhook is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.config import ConfigError, Webhook, load_settings
from bot.logsafe import TokenMask
from fakebotapi import FakeTelegram
from fakebotapi.replicas import free_port

from .botkit import TOKEN, USER, BotEnv, running_bot
from .conftest import GRASSROOTS_TITLE
from .test_kill_restart import ROOT

SECRET = "s3cret-Webhook_token"


def webhook_for(port: int) -> Webhook:
    return Webhook(
        url=f"http://127.0.0.1:{port}/tg-hook", secret=SECRET, listen="127.0.0.1", port=port
    )


@pytest.fixture
async def hooked(bot_db_template: Path, tmp_path: Path):
    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    hook = webhook_for(free_port())
    async with running_bot(db, webhook=hook) as env:
        env.fake.add_chat(USER, "private", first_name="Wu")  # for updates POSTed by the test
        yield env, hook


def command(update_id: int, text: str, chat: int = USER) -> dict:
    """An Update as Telegram would POST it: a private /command message."""
    word = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": "Wu"},
            "from": {"id": chat, "is_bot": False, "first_name": "Wu", "language_code": "zh-hans"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(word)}],
        },
    }


async def post(hook: Webhook, update: dict, secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with httpx.AsyncClient() as client:
        response = await client.post(hook.url, json=update, headers=headers, timeout=10)
    return response.status_code


async def help_then_before(env: BotEnv, hook: Webhook, update_id: int, before: int) -> list[str]:
    """POST a /help, wait for its answer; return the texts the bot sent before it (and after
    its ``before``-th message)."""
    assert await post(hook, command(update_id, "/help"), SECRET) == 200
    sent = await env.fake.wait_for(
        lambda: (lambda m: m if any("/search" in (x.text or "") for x in m) else None)(
            env.fake.messages_to(USER)[before:]
        ),
        timeout=10,
    )
    return [m.text or "" for m in sent[:-1]]


async def test_search_by_webhook_is_answered(hooked) -> None:
    env, hook = hooked
    assert env.fake.webhook is not None and env.fake.webhook.url == hook.url
    assert env.fake.webhook.secret == SECRET
    (reply,) = await env.say("/search 第一书记")
    assert GRASSROOTS_TITLE in reply.text
    assert env.fake.deliveries and all(d.status == 200 for d in env.fake.deliveries)
    assert env.fake.calls_of("getUpdates") == []  # nothing polled


async def test_missing_or_wrong_secret_is_refused_and_not_handled(hooked) -> None:
    env, hook = hooked
    before = len(env.fake.messages_to(USER))
    assert await post(hook, command(900_001, "/search 第一书记"), None) == 403
    assert await post(hook, command(900_002, "/search 第一书记"), "wrong-secret") == 403
    assert await help_then_before(env, hook, 900_003, before) == []
    journaled = {row[0] for row in env.store.conn.execute("SELECT update_id FROM update_journal")}
    assert 900_003 in journaled and not journaled & {900_001, 900_002}


async def test_same_update_posted_twice_is_answered_once(hooked) -> None:
    env, hook = hooked
    before = len(env.fake.messages_to(USER))
    update = command(900_010, "/search 第一书记")
    assert await post(hook, update, SECRET) == 200
    assert await post(hook, update, SECRET) == 200  # Telegram retrying: the bot's 200 was lost
    answers = await help_then_before(env, hook, 900_011, before)
    assert len(answers) == 1 and GRASSROOTS_TITLE in answers[0]


async def test_health_endpoint_answers_while_running(hooked) -> None:
    _, hook = hooked
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{hook.port}/healthz", timeout=10)
    assert response.status_code == 200 and response.text == "ok"


@pytest.mark.parametrize("method", ["setWebhook", "deleteWebhook"])
async def test_a_failed_bootstrap_call_is_tried_again_at_start(
    method: str, bot_db_template: Path, tmp_path: Path
) -> None:
    """A 502 from the Bot API on the call that sets up how updates arrive (``setWebhook`` for a
    webhook, ``deleteWebhook`` for long polling) does not stop the start-up: it is sent again."""
    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    async with FakeTelegram(TOKEN) as fake:
        fake.fail_next(method, status=502)
        hook = webhook_for(free_port()) if method == "setWebhook" else None
        async with running_bot(db, webhook=hook, fake=fake) as env:
            assert [c.status for c in fake.calls_of(method)] == [502, 200]
            if hook is not None:
                assert fake.webhook is not None and fake.webhook.url == hook.url
            (reply,) = await env.say("/search 第一书记")
            assert GRASSROOTS_TITLE in reply.text


async def test_fake_refuses_get_updates_while_a_webhook_is_set() -> None:
    async with FakeTelegram(TOKEN) as fake, httpx.AsyncClient() as client:
        api = fake.api_url
        first = await client.post(f"{api}/getUpdates", json={"timeout": 0})
        assert first.status_code == 200
        hook = {"url": "http://127.0.0.1:9/x", "secret_token": SECRET}
        assert (await client.post(f"{api}/setWebhook", json=hook)).json()["result"] is True
        refused = await client.post(f"{api}/getUpdates", json={"timeout": 0})
        assert refused.status_code == 409
        assert "webhook is active" in refused.json()["description"]
        info = (await client.post(f"{api}/getWebhookInfo")).json()["result"]
        assert info["url"] == "http://127.0.0.1:9/x"
        assert (await client.post(f"{api}/deleteWebhook")).json()["result"] is True
        assert (await client.post(f"{api}/getUpdates", json={"timeout": 0})).status_code == 200
        remote = await client.post(f"{api}/setWebhook", json={"url": "http://example.com/x"})
        assert remote.status_code == 400  # Telegram wants https (the fake allows http on loopback)


async def test_fake_retries_a_failed_delivery_with_the_secret_header() -> None:
    seen: list[str | None] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        return web.Response(status=500 if len(seen) <= 2 else 200)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with FakeTelegram(TOKEN) as fake, httpx.AsyncClient() as client:
            fake.webhook_retry_delay = 0.01
            url = f"http://127.0.0.1:{port}/hook"
            await client.post(f"{fake.api_url}/setWebhook", json={"url": url, "secret_token": SECRET})
            update = fake.user_message(USER, "hello")
            await fake.wait_until_consumed()
            assert [d.status for d in fake.deliveries] == [500, 500, 200]
            assert {d.update_id for d in fake.deliveries} == {update["update_id"]}
            assert seen == [SECRET] * 3
            info = (await client.post(f"{fake.api_url}/getWebhookInfo")).json()["result"]
            assert "500" in info["last_error_message"]
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DIGESTBOT_WEBHOOK_URL": "https://bot.example.com/tg"}, "DIGESTBOT_WEBHOOK_SECRET"),
        ({"DIGESTBOT_WEBHOOK_URL": "http://bot.example.com/tg", "DIGESTBOT_WEBHOOK_SECRET": "x"},
         "https URL"),
        ({"DIGESTBOT_WEBHOOK_URL": "https://b.example/t", "DIGESTBOT_WEBHOOK_SECRET": "bad secret"},
         "DIGESTBOT_WEBHOOK_SECRET"),
        ({"DIGESTBOT_WEBHOOK_URL": "https://b.example/t", "DIGESTBOT_WEBHOOK_SECRET": "x",
          "DIGESTBOT_WEBHOOK_PORT": "99999"}, "DIGESTBOT_WEBHOOK_PORT"),
        ({"DIGESTBOT_WEBHOOK_URL": "https://b.example/t", "DIGESTBOT_WEBHOOK_SECRET": "x",
          "DIGESTBOT_WEBHOOK_LISTEN": "any"}, "DIGESTBOT_WEBHOOK_LISTEN"),
    ],
)  # fmt: skip
def test_webhook_settings_are_refused_in_one_line(env: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert "bad secret" not in str(caught.value)


def test_webhook_settings_and_secret_never_shown() -> None:
    settings = load_settings(
        {"DIGESTBOT_WEBHOOK_URL": "https://bot.example.com/tg/hook",
         "DIGESTBOT_WEBHOOK_SECRET": SECRET, "DIGESTBOT_WEBHOOK_LISTEN": "0.0.0.0"}
    )  # fmt: skip
    assert settings.webhook == Webhook(
        url="https://bot.example.com/tg/hook", secret=SECRET, listen="0.0.0.0", port=8443
    )
    assert settings.webhook.path == "/tg/hook"
    assert SECRET not in repr(settings) and SECRET not in repr(settings.webhook)
    assert load_settings({}).webhook is None  # long polling stays the default
    assert SECRET not in TokenMask(TOKEN, (SECRET,)).mask(f"setWebhook secret_token={SECRET}")


def test_run_webhook_without_url_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    from bot.cli import main

    for name in ("DIGESTBOT_WEBHOOK_URL", "DIGESTBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert main(["run", "--webhook"]) == 2
    err = capsys.readouterr().err
    assert "DIGESTBOT_WEBHOOK_URL" in err and err.count("\n") == 1 and TOKEN not in err


async def test_digestbot_run_webhook_process_answers_and_never_logs_the_secret(
    bot_db_template: Path, tmp_path: Path
) -> None:
    """A real ``digestbot run --webhook`` (DEBUG log: PTB logs setWebhook's parameters there)."""
    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    async with FakeTelegram(TOKEN) as fake:
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, DIGESTBOT_DB=str(db),
            DIGESTBOT_CORPUS=str(tmp_path / "corpus"), DIGESTBOT_LOG_LEVEL="DEBUG",
            DIGESTBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", DIGESTBOT_WEBHOOK_SECRET=SECRET,
            DIGESTBOT_WEBHOOK_PORT=str(port),
        )  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--webhook", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await fake.wait_for_call("setWebhook", timeout=60)
            fake.user_message(USER, "/search 第一书记", language_code="zh-hans")
            (reply,) = await fake.wait_for_messages(USER, 1, timeout=60)
            assert GRASSROOTS_TITLE in (reply.text or "")
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = stderr.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "started (webhook)" in log and "setWebhook" in log
    assert SECRET not in log and TOKEN.split(":", 1)[1] not in log
