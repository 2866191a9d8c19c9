"""Set-up behaviour of the command line: a missing database is reported (never created) by
read-only commands, ``--db`` after the command, ``--version``, ``./.env``; the terminal chat quits
on Ctrl-C, answers unknown commands and speaks ``DIGESTBOT_LANG``."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main

from .conftest import ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["stats"],
        ["search", "棉花"],
        ["region", "喀什"],
        ["show", "abc"],
        ["summarize", "--id", "x"],
    ],
)
def test_read_only_commands_on_a_missing_database_create_nothing(
    tmp_path: Path, capsys, argv: list[str]
) -> None:
    missing = tmp_path / "missing" / "dir" / "x.db"
    assert main(["--db", str(missing), *argv]) == 1
    assert "no database" in capsys.readouterr().err
    assert main([*argv, "--db", str(missing), "--json"]) == 1  # --db after the command too
    assert json.loads(capsys.readouterr().out) == {"error": "no database", "db": str(missing)}
    assert not (tmp_path / "missing").exists()


def test_db_after_the_command_and_ingest_creates(tmp_path: Path, capsys) -> None:
    db = tmp_path / "new" / "x.db"
    assert main(["ingest", str(ROOT / "corpus"), "--db", str(db), "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 2
    assert main(["--db", str(tmp_path / "other.db"), "stats", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 2  # the later --db wins


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("digestbot ") and out.strip().split()[-1][0].isdigit()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGESTBOT_", "TELEGRAM_"))}
    return env | extra


def test_dot_env_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    db = tmp_path / "from-env-file.db"
    assert main(["ingest", str(ROOT / "corpus"), "--db", str(db), "--workers", "1"]) == 0
    (tmp_path / ".env").write_text(f"DIGESTBOT_DB={db}\n", "utf-8")
    command = [sys.executable, "-m", "bot.cli", "stats", "--json"]
    done = subprocess.run(command, cwd=tmp_path, env=_env(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["db_path"] == str(db)
    other = tmp_path / "nowhere.db"
    done = subprocess.run(
        command, cwd=tmp_path, env=_env(DIGESTBOT_DB=str(other)), capture_output=True, timeout=60
    )
    assert done.returncode == 1 and str(other).encode() in done.stdout


def test_terminal_chat_unknown_command_language_and_ctrl_c(tmp_path: Path) -> None:
    import pty

    env = _env(DIGESTBOT_DB=str(tmp_path / "x.db"), DIGESTBOT_CORPUS=str(ROOT / "corpus"))
    env["DIGESTBOT_LANG"] = "en"
    master, slave = pty.openpty()
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "play"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()

    def until(token: bytes, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen.extend(os.read(master, 65536))
                except OSError:
                    return False
            if token in seen:
                return True
        return False

    try:
        assert until(b"> ", 60), seen.decode(errors="replace")
        os.write(master, b"/nosuch\r")
        assert until(b"There is no command /nosuch", 20), seen.decode(errors="replace")
        del seen[:]
        os.write(master, b"/start\r")
        assert until(b"Hello", 20), seen.decode(errors="replace")  # DIGESTBOT_LANG=en
        assert until(b"> ", 10)
        started = time.monotonic()
        os.killpg(chat.pid, signal.SIGINT)  # Ctrl-C at the prompt
        assert chat.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.wait()
        os.close(master)
