"""What ``digestbot run`` does to its own memory footprint before it starts: glibc's malloc arenas
limited to one (:func:`limit_arenas`), httpx imported without its command-line client
(:func:`import_httpx`), python-telegram-bot without its webhook server unless the bot runs on a
webhook (:func:`import_telegram_ext`). Figures in docs/benchmarks.md.

glibc gives each thread that allocates an arena of its own (up to eight per core), and an arena
keeps what its thread freed for that thread's next allocations. The bot runs short jobs on worker
threads (a source poll and its page extractions, the corpus poll) and answers on the event loop's:
what a poll freed in its arena could not serve the searches that came next, so the peak RSS grew
by the sum of the threads' high-water marks rather than by the work in flight. With one arena,
what any job frees serves the next. The threads hold the GIL for most of their work, so they
seldom wait for the arena's lock.

``MALLOC_ARENA_MAX`` or ``GLIBC_TUNABLES=glibc.malloc.arena_max=N`` in the environment (which
glibc itself reads at start) wins; other C libraries (musl, macOS) are left alone.

httpx's ``__init__`` imports its command-line client, whose first imports (click, then pygments)
succeed whenever those packages are installed for something else (sqlite-utils needs click,
pytest pygments); the client then fails on rich, which is not installed, and httpx goes on
without it, but the modules already imported stay (~1.4 MB resident). The bot never runs it.

python-telegram-bot's ``Updater`` imports its webhook server, tornado, whenever tornado is
installed (it is: the ``webhooks`` extra, for ``digestbot run --webhook``), so a bot on long
polling loaded a web server it never starts. Imported with tornado hidden, PTB takes webhooks as
unavailable, as where tornado is not installed; a webhook bot imports it as before.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys

ARENAS = 1
M_ARENA_MAX = -8  # glibc's malloc.h


def is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # not a GNU C library
        return False


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Allow at most ``arenas`` malloc arenas from now on (call it before threads start: arenas
    made already stay); ``False`` when the C library is not glibc or the environment sets them
    (``MALLOC_ARENA_MAX``, or ``glibc.malloc.arena_max`` in ``GLIBC_TUNABLES``)."""
    tunables = os.environ.get("GLIBC_TUNABLES", "").split(":")
    tuned = any(t.startswith("glibc.malloc.arena_max=") for t in tunables)
    if os.environ.get("MALLOC_ARENA_MAX") or tuned or not is_glibc():
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


_CLI_ONLY = ("click", "pygments", "rich")  # what httpx's command-line client imports first


_WEBHOOK_ONLY = ("tornado",)  # python-telegram-bot's webhook server


def _import_hiding(module: str, packages: tuple[str, ...]) -> None:
    """Import ``module`` (if not imported yet) while ``packages`` cannot be imported, so that it
    takes the path it takes where they are not installed; they can be imported again after."""
    if module in sys.modules:
        return
    hidden = [name for name in packages if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        importlib.import_module(module)
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_httpx() -> None:
    """Import httpx (python-telegram-bot's HTTP client) with its command-line client's packages
    hidden, so that it skips the client as it does where they are not installed; they can still be
    imported later (sqlite-utils does, for a migration)."""
    _import_hiding("httpx", _CLI_ONLY)


def import_telegram_ext(*, webhooks: bool) -> None:
    """Import ``telegram.ext``; without ``webhooks``, with tornado hidden, so that PTB's
    ``Updater`` comes without its webhook server (``start_webhook`` would then say webhooks are
    not installed). Nothing changes if ``telegram.ext`` is imported already."""
    _import_hiding("telegram.ext", () if webhooks else _WEBHOOK_ONLY)
