"""What `digestbot run` does to its footprint (bot/footprint.py): glibc's malloc arenas limited to
one (counted with glibc's own ``malloc_stats()`` in a process whose threads all allocate at once),
httpx imported without its command-line client's packages, python-telegram-bot without its
webhook server unless the bot runs on a webhook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import bot.main
from bot.footprint import ARENAS, is_glibc, limit_arenas

glibc_only = pytest.mark.skipif(not is_glibc(), reason="malloc arenas are glibc's")

# eight threads hold an allocation at the same moment, then glibc reports its arenas on stderr
THREADS_ALLOCATE = """
import ctypes, sys, threading
from bot.footprint import limit_arenas
if sys.argv[1] == "limit":
    assert limit_arenas()
barrier = threading.Barrier(8)
def work():
    blocks = [bytearray(4096) for _ in range(200)]
    barrier.wait()
    del blocks
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, **env: str) -> int:
    base = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run(
        [sys.executable, "-c", THREADS_ALLOCATE, mode], env={**base, **env},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


@glibc_only
def test_eight_threads_share_one_arena_once_limited() -> None:
    assert arenas("limit") <= ARENAS
    assert arenas("free") > ARENAS  # glibc's default: an arena per thread


@glibc_only
@pytest.mark.parametrize(
    ("name", "value"),
    [("MALLOC_ARENA_MAX", "4"), ("GLIBC_TUNABLES", "glibc.malloc.arena_max=4")],
)
def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    assert limit_arenas() is False


def test_digestbot_run_limits_them_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bot.main, "limit_arenas", lambda: calls.append("limit"))
    monkeypatch.setattr(bot.main, "import_httpx", lambda: calls.append("httpx"))

    def config_error() -> None:
        calls.append("settings")
        raise bot.main.ConfigError("no settings in this test")

    monkeypatch.setattr(bot.main, "load_settings", config_error)
    assert bot.main.run() == 2
    assert calls == ["limit", "httpx", "settings"]


# httpx imported the way `digestbot run` does, then whatever else the process needs later
HTTPX_FIRST = """
import json, sys
from bot.footprint import import_httpx
import_httpx()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "click", "pygments"))
import click, telegram  # still importable afterwards (sqlite-utils imports click)
print(json.dumps(loaded))
"""


def test_httpx_is_imported_without_its_command_line_client() -> None:
    pytest.importorskip("click")  # installed with sqlite-utils: what httpx would load
    out = subprocess.run(
        [sys.executable, "-c", HTTPX_FIRST], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(out.stdout)
    assert "httpx" in loaded
    assert [m for m in loaded if not m.startswith("httpx")] == []


# telegram.ext imported the way `digestbot run` does, for long polling or for a webhook
TELEGRAM_EXT = """
import json, sys
from bot.footprint import import_telegram_ext
import_telegram_ext(webhooks=sys.argv[1] == "webhook")
from telegram.ext import _updater
report = {"tornado": "tornado" in sys.modules, "webhooks": _updater.WEBHOOKS_AVAILABLE}
import tornado.web  # still importable afterwards
print(json.dumps(report))
"""


@pytest.mark.parametrize(("mode", "loaded"), [("polling", False), ("webhook", True)])
def test_the_webhook_server_is_loaded_only_for_a_webhook(mode: str, loaded: bool) -> None:
    out = subprocess.run(
        [sys.executable, "-c", TELEGRAM_EXT, mode],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == {"tornado": loaded, "webhooks": loaded}
