"""`digestbot ingest` runs itself again with glibc's huge-page tunable (digests.hugepages): when,
with what command line and environment, and that what it starts does not inherit the tunable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digests import hugepages
from digests.hugepages import (
    MARK_VAR,
    SWITCH_VAR,
    TUNABLE,
    TUNABLES_VAR,
    reexec_with_huge_pages,
    supported,
    take_over,
    thp_mode,
    with_tunable,
    without_tunable,
)

ROOT = Path(__file__).resolve().parents[1]
ON_GLIBC_LINUX = (
    sys.platform.startswith("linux")
    and (hugepages.glibc_version() or (0,)) >= hugepages.MIN_GLIBC
    and thp_mode() != "never"
)


def thp_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "enabled"
    path.write_text(text)
    return path


def test_thp_mode_reads_the_bracketed_choice(tmp_path: Path) -> None:
    assert thp_mode(thp_file(tmp_path, "always [madvise] never\n")) == "madvise"
    assert thp_mode(thp_file(tmp_path, "[always] madvise never\n")) == "always"
    assert thp_mode(thp_file(tmp_path, "always madvise [never]\n")) == "never"
    assert thp_mode(tmp_path / "missing") == "never"


def test_tunables_list_edits() -> None:
    assert with_tunable("") == TUNABLE
    assert with_tunable("glibc.malloc.arena_max=2") == f"glibc.malloc.arena_max=2:{TUNABLE}"
    assert without_tunable(f"glibc.malloc.arena_max=2:{TUNABLE}") == "glibc.malloc.arena_max=2"
    assert without_tunable(TUNABLE) == ""


@pytest.mark.skipif(not ON_GLIBC_LINUX, reason="needs Linux, glibc 2.35+ and THP not 'never'")
def test_supported_unless_told_otherwise(tmp_path: Path) -> None:
    madvise = thp_file(tmp_path, "always [madvise] never\n")
    assert supported({}, madvise)
    assert not supported({SWITCH_VAR: "0"}, madvise)
    assert supported({SWITCH_VAR: "1"}, madvise)
    # somebody chose a huge-page setting of their own: it stands
    assert not supported({TUNABLES_VAR: "glibc.malloc.hugetlb=0"}, madvise)
    assert not supported({}, thp_file(tmp_path, "always madvise [never]\n"))


@pytest.mark.skipif(not ON_GLIBC_LINUX, reason="needs Linux, glibc 2.35+ and THP not 'never'")
def test_reexec_runs_the_same_command_with_the_tunable() -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def execve(path: str, args: list[str], env: object) -> None:
        assert isinstance(env, dict)
        calls.append((path, args, env))

    environ = {"PATH": "/usr/bin", TUNABLES_VAR: "glibc.malloc.arena_max=2"}
    argv = ["python3", "-X", "utf8", "-m", "bot.cli", "ingest", "corpus"]
    assert reexec_with_huge_pages(environ, argv, execve) is False  # execve returned: not run
    [(path, args, env)] = calls
    assert path == sys.executable
    assert args == [sys.executable, "-X", "utf8", "-m", "bot.cli", "ingest", "corpus"]
    assert env[TUNABLES_VAR] == f"glibc.malloc.arena_max=2:{TUNABLE}"
    assert env[MARK_VAR] == "1" and env["PATH"] == "/usr/bin"
    assert environ == {"PATH": "/usr/bin", TUNABLES_VAR: "glibc.malloc.arena_max=2"}  # untouched

    # the new process: the tunable and the mark leave its environment, the caller's stay
    assert reexec_with_huge_pages(env, argv, execve) is True
    assert env == {"PATH": "/usr/bin", TUNABLES_VAR: "glibc.malloc.arena_max=2"}
    assert len(calls) == 1  # never a second time


def test_no_reexec_when_switched_off_or_failing() -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("must not run again")

    assert reexec_with_huge_pages({SWITCH_VAR: "0"}, ["python3", "x"], refuse) is False

    def fails(*_: object) -> None:
        raise OSError("exec format error")

    # where it would run again, a failing execve lets the command go on as it is
    assert reexec_with_huge_pages({}, ["python3", "x"], fails) is False


def test_take_over_leaves_an_unmarked_environment_alone() -> None:
    environ = {TUNABLES_VAR: TUNABLE}  # the user's own setting, not ours
    assert take_over(environ) is False
    assert environ == {TUNABLES_VAR: TUNABLE}
    marked = {TUNABLES_VAR: TUNABLE, MARK_VAR: "1"}
    assert take_over(marked) is True and marked == {}


@pytest.mark.skipif(not ON_GLIBC_LINUX, reason="needs Linux, glibc 2.35+ and THP not 'never'")
def test_console_script_ingest_runs_on_huge_pages(tmp_path: Path) -> None:
    """The real command line: the process runs again with the tunable (it says so at DEBUG),
    and the ingest is done once, correctly, by that process."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in (TUNABLES_VAR, MARK_VAR, SWITCH_VAR)
    }
    env["DIGESTBOT_LOG_LEVEL"] = "DEBUG"
    db = tmp_path / "t.db"
    script = "import sys; from bot.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", script, "--db", str(db), "ingest", str(ROOT / "corpus")]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("transparent huge pages") == 1
    assert "2 added, 0 duplicates, 0 rejected" in proc.stderr
    assert proc.stdout.count("added ") == 2

    env[SWITCH_VAR] = "0"
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "transparent huge pages" not in proc.stderr
    assert "0 added, 2 duplicates" in proc.stderr
