"""`digestbot run` limits glibc's malloc arenas to two (bot/arenas.py): counted with glibc's own
``malloc_stats()`` in a process whose threads all allocate at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import bot.main
from bot.arenas import ARENAS, is_glibc, limit_arenas

pytestmark = pytest.mark.skipif(not is_glibc(), reason="malloc arenas are glibc's")

# eight threads hold an allocation at the same moment, then glibc reports its arenas on stderr
THREADS_ALLOCATE = """
import ctypes, sys, threading
from bot.arenas import limit_arenas
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


def test_eight_threads_share_two_arenas_once_limited() -> None:
    assert arenas("limit") <= ARENAS
    assert arenas("free") > ARENAS  # glibc's default: an arena per thread


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False


def test_digestbot_run_limits_them_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bot.main, "limit_arenas", lambda: calls.append("limit"))

    def config_error() -> None:
        calls.append("settings")
        raise bot.main.ConfigError("no settings in this test")

    monkeypatch.setattr(bot.main, "load_settings", config_error)
    assert bot.main.run() == 2
    assert calls == ["limit", "settings"]
