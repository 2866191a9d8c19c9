"""numpy for the engine's bulk paths, and the switch that keeps a process off it.

A bulk ingest analyses articles by the thousand, and numpy makes each of them cheaper: token
offsets, the CJK pairs of long texts, place fragments, the summary graph, MinHash signatures.
The bot analyses an article now and then, and importing numpy would be a large share of its
memory budget (docs/benchmarks.md). A process that calls :func:`set_lean` takes the plain-Python
path of each of those steps instead, with the same results: the same integers, and the same
floats except PageRank's, which a matrix inverse computes in one path and sweeps of loops in the
other (they agree to about 1e-12; the summaries chosen were the same on every benchmark article).
Each fast path is tested against its plain one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["is_lean", "numpy", "require_numpy", "set_lean"]

_lean = False


def set_lean(lean: bool = True) -> None:
    """Make this process take the plain paths (``lean=True``) or numpy's (the default)."""
    global _lean
    _lean = lean


def is_lean() -> bool:
    return _lean


def numpy() -> Any:
    """The numpy module (imported on first use), or ``None`` in a lean process."""
    return None if _lean else _numpy()


def require_numpy() -> Any:
    """The numpy module whatever the switch: for helpers of a numpy path, which only runs where
    :func:`numpy` gave the module."""
    return _numpy()


@lru_cache(maxsize=1)
def _numpy() -> Any:
    import numpy

    return numpy
