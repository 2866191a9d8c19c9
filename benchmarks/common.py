"""Shared helpers of the benchmark suite: timing, percentiles, tables, machine facts, caches."""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"


def repo_path(path: Path | str) -> str:
    """``path`` relative to the repository when inside it (results never record where a clone
    happened to live)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def quiet_jieba() -> None:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def latency_stats(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "p99_ms": round(percentile(samples_ms, 99), 3),
        "max_ms": round(max(samples_ms), 3) if samples_ms else float("nan"),
    }


def time_calls(fn: Callable[[], object], n: int, warmup: int = 5) -> list[float]:
    """Milliseconds of ``n`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table (CJK characters count as two columns)."""

    def width(s: str) -> int:
        return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in s)

    def fmt(v: object) -> str:
        if isinstance(v, float):
            if v != v:  # NaN
                return "–"
            if abs(v) < 1:
                return f"{v:.3f}"
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], width(c))

    def line(items: Sequence[str]) -> str:
        parts = []
        for i, c in enumerate(items):
            pad = " " * (widths[i] - width(c))
            parts.append(c + pad if i == 0 else pad + c)
        return "  ".join(parts)

    out = [f"\n== {title} ==", line(list(headers)), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def machine_info() -> dict[str, object]:
    """CPU model, cores, memory, OS, Python and the versions of the libraries that matter."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        import psutil

        mem = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover
        pass
    versions = {}
    for name in (
        "jieba",
        "rjieba",
        "python-telegram-bot",
        "sqlite-utils",
        "opencc",
        "ahocorasick-rs",
        "aiohttp",
        "numpy",
        "matplotlib",
        "digestbot",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "memory_gb": round(mem / 2**30, 1) if mem else None,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
        "engine_fingerprint": engine_fingerprint(),
    }


def engine_fingerprint() -> str:
    """A hash of the engine's code and data: cached databases are only reused when it matches."""
    h = hashlib.sha1()
    for path in sorted((ROOT / "digests").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json", ".txt"):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU seconds a process has used so far (``/proc/PID/stat``): unlike wall
    time, hardly moved by other processes sharing the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """VmHWM (peak resident set size) of a process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None
