"""Settings validation, the token never logged, and the README's run command (embedded mode)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from telegram.error import TelegramError

from bot.config import ConfigError, load_settings
from bot.logsafe import TokenMask, setup_logging

from .botkit import TOKEN, USER, running_bot
from .conftest import CORPUS, GRASSROOTS_TITLE, ROOT

SECRET = "123456789:AAF-very-secret-token-value-0123456789"


def test_defaults_without_any_variable() -> None:
    settings = load_settings({})
    assert settings.token is None and settings.lang == "zh" and settings.poll_seconds == 60
    assert settings.db == "data/digestbot.db" and settings.corpus == "corpus"


def test_all_variables() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": SECRET,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "DIGESTBOT_DB": "/tmp/x.db",
            "DIGESTBOT_CORPUS": "/srv/corpus",
            "DIGESTBOT_ADMINS": "1, 2 3",
            "DIGESTBOT_LANG": "en",
            "DIGESTBOT_POLL_SECONDS": "5",
            "DIGESTBOT_SOURCE_POLL_SECONDS": "30",
        }
    )
    assert settings.admins == {1, 2, 3} and settings.lang == "en" and settings.poll_seconds == 5
    assert settings.source_poll_seconds == 30
    assert load_settings({}).source_poll_seconds == 60
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token " + SECRET[::-1]}, "TELEGRAM_BOT_TOKEN is malformed"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"DIGESTBOT_ADMINS": "12,abc"}, "DIGESTBOT_ADMINS"),
        ({"DIGESTBOT_LANG": "fr"}, "DIGESTBOT_LANG"),
        ({"DIGESTBOT_POLL_SECONDS": "soon"}, "DIGESTBOT_POLL_SECONDS"),
        ({"DIGESTBOT_POLL_SECONDS": "0"}, "DIGESTBOT_POLL_SECONDS"),
        ({"DIGESTBOT_SOURCE_POLL_SECONDS": "often"}, "DIGESTBOT_SOURCE_POLL_SECONDS must be a"),
        ({"DIGESTBOT_SOURCE_POLL_SECONDS": "1e9"}, "DIGESTBOT_SOURCE_POLL_SECONDS must be betw"),
    ],
)
def test_malformed_settings(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(env)
    assert SECRET[::-1] not in str(info.value)


def test_run_with_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": SECRET + " junk",
        "DIGESTBOT_DB": str(tmp_path / "a.db"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "TELEGRAM_BOT_TOKEN" in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


def test_mask_filter_hides_token_in_urls_args_and_tracebacks() -> None:
    mask = TokenMask(SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(mask)
    logger = logging.getLogger("masktest")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getMe", SECRET)
        logger.warning("other token 555555:%s", "B" * 35)
        try:
            raise RuntimeError(f"failed for {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert SECRET not in out and "B" * 35 not in out
    assert "bot<token>/getMe" in out and "RuntimeError" in out


async def test_token_never_in_logs_during_a_session(tmp_path: Path, seeded_db: Path) -> None:
    import shutil

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    setup_logging("DEBUG", TOKEN)
    try:
        db = tmp_path / "b.db"
        shutil.copy(seeded_db, db)
        async with running_bot(db) as env:
            await env.say("/search 第一书记")
            env.fake.fail_next("sendMessage", status=500, description="Internal Server Error")
            env.fake.user_message(USER, "/start")
            await env.fake.wait_for_call("sendMessage", n=3, timeout=10)
            await env.fake.wait_for(lambda: env.errors, timeout=10)
            (error,) = env.take_errors()  # the planted 500, expected here
            assert isinstance(error, TelegramError) and "Internal Server Error" in str(error)
            logging.getLogger("httpx").info("request https://x/bot%s/getUpdates", TOKEN)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out = stream.getvalue()
    assert "getUpdates" in out or "bot<token>" in out  # the session did log
    assert "error while handling an update" in out  # the failed send was logged
    assert TOKEN not in out and TOKEN.split(":")[1] not in out


def test_readme_run_command_embedded_mode(tmp_path: Path) -> None:
    """`digestbot run` with no token: the emulator + terminal chat, on the shipped corpus."""
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(DIGESTBOT_DB=str(tmp_path / "run.db"), DIGESTBOT_CORPUS=str(CORPUS))
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input="/search 第一书记\n/region 喀什\n",
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "local Telegram Bot API emulator" in proc.stdout
    assert proc.stdout.count(GRASSROOTS_TITLE) >= 2
    assert "喀什地区" in proc.stdout
