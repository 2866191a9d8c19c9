"""Transparent huge pages for the C heap of ``digestbot ingest`` (Linux, glibc 2.35 or later).

A bulk load's writer spends most of its time in SQLite: FTS5's pending-terms hash (tens of
megabytes, read at random, once per token) and the page cache. With 4 KB pages nearly each of
those reads also misses the TLB. glibc's ``glibc.malloc.hugetlb=1`` tunable makes ``malloc`` ask
the kernel for transparent huge pages (``madvise``) for the memory it takes; the analysis workers,
forked from the process, inherit it. glibc reads its tunables only when a program starts, so
:func:`reexec_with_huge_pages` executes the same command line again, once, with the tunable added,
and the new process then takes it out of its environment (:func:`take_over`): the programs it
starts do not inherit it. The bot (``digestbot run``) does not use it: its memory is kept small.

Nothing happens where it cannot help: not Linux with glibc 2.35 or later, transparent huge pages
``never`` in ``/sys/kernel/mm/transparent_hugepage/enabled``, a ``GLIBC_TUNABLES`` that already
says something of ``glibc.malloc.hugetlb``, or ``DIGESTBOT_HUGE_PAGES=0``.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

TUNABLE = "glibc.malloc.hugetlb=1"
_TUNABLE_NAME = TUNABLE.split("=")[0]
TUNABLES_VAR = "GLIBC_TUNABLES"
SWITCH_VAR = "DIGESTBOT_HUGE_PAGES"  # "0": never
#: set with the tunable by :func:`reexec_with_huge_pages`: the tunable is ours to take out
MARK_VAR = "DIGESTBOT_HUGE_PAGES_SET"
THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
MIN_GLIBC = (2, 35)


def thp_mode(path: Path = THP_MODE) -> str:
    """The kernel's transparent huge page mode (``always``, ``madvise`` or ``never``; ``never``
    when it cannot be read)."""
    try:
        text = path.read_text()
    except OSError:
        return "never"
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else "never"


def glibc_version() -> tuple[int, ...] | None:
    """glibc's version, ``None`` under another C library (musl, macOS, Windows)."""
    name, version = platform.libc_ver()
    if name != "glibc":
        return None
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


def supported(environ: Mapping[str, str], thp: Path = THP_MODE) -> bool:
    """True when the tunable would take effect and nobody said otherwise."""
    if environ.get(SWITCH_VAR, "1").strip() == "0":
        return False
    if _TUNABLE_NAME in environ.get(TUNABLES_VAR, ""):  # the caller's own choice stands
        return False
    if not sys.platform.startswith("linux"):
        return False
    version = glibc_version()
    return version is not None and version >= MIN_GLIBC and thp_mode(thp) != "never"


def with_tunable(tunables: str) -> str:
    """``GLIBC_TUNABLES`` with :data:`TUNABLE` added (a colon-separated list)."""
    return f"{tunables}:{TUNABLE}" if tunables else TUNABLE


def without_tunable(tunables: str) -> str:
    """``GLIBC_TUNABLES`` with :data:`TUNABLE` taken out."""
    return ":".join(item for item in tunables.split(":") if item and item != TUNABLE)


def take_over(environ: MutableMapping[str, str]) -> bool:
    """In a process :func:`reexec_with_huge_pages` started: take the tunable and the mark out
    of ``environ`` (so that programs this one starts do not inherit them) and return True."""
    if environ.pop(MARK_VAR, None) is None:
        return False
    rest = without_tunable(environ.get(TUNABLES_VAR, ""))
    if rest:
        environ[TUNABLES_VAR] = rest
    else:
        environ.pop(TUNABLES_VAR, None)
    return True


def reexec_with_huge_pages(
    environ: MutableMapping[str, str] = os.environ,
    argv: Sequence[str] | None = None,
    execve: Callable[[str, list[str], MutableMapping[str, str]], object] = os.execve,
) -> bool:
    """Run this command again with glibc's huge-page tunable, when it is supported; return True
    in the process that already runs with it (and False where nothing was done).

    ``argv`` is the interpreter's own command line (``sys.orig_argv``: options, ``-m`` or the
    script, arguments), run again by the same interpreter. Call it before anything else runs:
    threads, open transactions and buffered output do not survive ``execve``."""
    if take_over(environ):
        log.debug("malloc backs its memory with transparent huge pages (%s)", TUNABLE)
        return True
    if not supported(environ):
        return False
    command = list(sys.orig_argv if argv is None else argv)
    env = dict(environ)
    env[TUNABLES_VAR] = with_tunable(env.get(TUNABLES_VAR, ""))
    env[MARK_VAR] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        execve(sys.executable, [sys.executable, *command[1:]], env)
    except OSError as exc:  # the same program, so hardly ever; go on without
        log.debug("could not run again with huge pages: %s", exc)
    return False
