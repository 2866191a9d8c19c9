"""glibc's malloc arenas in ``digestbot run``: at most two (:func:`limit_arenas`).

glibc gives each thread that allocates an arena of its own (up to eight per core), and an arena
keeps what its thread freed for that thread's next allocations. The bot runs short jobs on worker
threads — a source poll and its page extractions (lxml trees), the store's queries, the corpus
poll — and every one of them left a partly free arena behind, so the peak RSS grew with the
number of threads that had ever run a job rather than with the work in flight (figures in
docs/benchmarks.md). With two arenas, what one job frees serves the next, and the event loop
still rarely waits for a worker's lock.

``MALLOC_ARENA_MAX`` in the environment (which glibc itself reads at start) wins; other C
libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import os

ARENAS = 2
M_ARENA_MAX = -8  # glibc's malloc.h


def is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # not a GNU C library
        return False


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Allow at most ``arenas`` malloc arenas from now on (call it before threads start: arenas
    made already stay); ``False`` when the C library is not glibc or ``MALLOC_ARENA_MAX`` is set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not is_glibc():
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
