"""Start-up failures of a real `digestbot run` are one line, never show the token, and give the
right exit status; with no network it keeps retrying with one warning line per attempt."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from fakebotapi import FakeTelegram

from .botkit import TOKEN
from .conftest import ROOT

OTHER_TOKEN = "123456789:AAF-another-valid-looking-token-xyz0123"


def bot_env(tmp_path: Path, token: str, base_url: str, db: Path | None = None) -> dict[str, str]:
    (tmp_path / "corpus").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=base_url,
        DIGESTBOT_DB=str(db or tmp_path / "s.db"), DIGESTBOT_CORPUS=str(tmp_path / "corpus"),
        DIGESTBOT_LOG_LEVEL="INFO",
    )  # fmt: skip
    return env


async def run_to_end(env: dict[str, str], *argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *(argv or ("run",)), cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, stderr.decode()


def assert_one_line(stderr: str, *tokens: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for token in tokens:
        assert token not in stderr and token.split(":")[1] not in stderr
    return lines[0]


async def test_a_token_telegram_rejects_is_one_line_without_the_token(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN) as fake:
        code, stderr = await run_to_end(bot_env(tmp_path, OTHER_TOKEN, fake.base_url))
    assert code == 2
    line = assert_one_line(stderr, OTHER_TOKEN, TOKEN)
    assert "rejected the bot token" in line


async def test_a_base_url_with_a_trailing_slash_works(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN) as fake:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT,
            env=bot_env(tmp_path, TOKEN, fake.base_url + "/"),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await fake.wait_for_call("getUpdates", timeout=60)
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert TOKEN.split(":")[1] not in stderr.decode()


async def test_no_network_means_one_warning_line_per_retry(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=ROOT,
        env=bot_env(tmp_path, TOKEN, f"http://127.0.0.1:{port}/bot"),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        while sum("cannot reach Telegram" in line for line in lines) < 2:
            raw = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert raw, "".join(lines)
            lines.append(raw.decode())
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stderr.read(), 30)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = "".join(lines) + rest.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and TOKEN.split(":")[1] not in stderr
    assert len(stderr.strip().splitlines()) <= 6, stderr


@pytest.mark.parametrize("content", [b"", b"\x8f garbage, not SQLite " * 500])
async def test_an_empty_or_garbage_database_is_one_line_and_status_2(
    tmp_path: Path, content: bytes
) -> None:
    db = tmp_path / "bad.db"
    db.write_bytes(content)
    code, stderr = await run_to_end(bot_env(tmp_path, TOKEN, "http://127.0.0.1:9/bot", db))
    assert code == 2
    line = assert_one_line(stderr, TOKEN)
    assert str(db) in line
    code, stderr = await run_to_end(bot_env(tmp_path, TOKEN, "", db), "stats")
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert db.read_bytes() == content  # not turned into a new, empty database


def test_an_empty_file_is_not_taken_for_a_new_database(tmp_path: Path) -> None:
    from digests.errors import StoreError
    from digests.store import Store

    db = tmp_path / "zero.db"
    db.touch()
    with pytest.raises(StoreError, match="empty"):
        Store(db)
    assert db.stat().st_size == 0


def test_processes_opening_a_new_database_together_all_get_it(tmp_path: Path) -> None:
    """Two ``digestbot ingest`` runs started together on a new file: the database is made under
    a name of its own and linked into place, so none of them meets a half-made (0-byte) file."""
    import subprocess

    db, go = tmp_path / "new.db", tmp_path / "go"
    script = (
        "import pathlib, sys, time\n"
        "from digests.store import Store\n"
        "go = pathlib.Path(sys.argv[2])\n"
        "deadline = time.monotonic() + 30\n"
        "while not go.exists() and time.monotonic() < deadline: pass\n"
        "Store(sys.argv[1]).close()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(db), str(go)], cwd=ROOT, stderr=subprocess.PIPE
        )
        for _ in range(6)
    ]
    try:
        import time

        time.sleep(1.5)  # every process imported and spinning on the starting line
        go.touch()
        errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert sorted(f.name for f in tmp_path.iterdir()) == ["go", "new.db"]  # no spare left
