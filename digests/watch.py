"""Watching the corpus folder: ingest files that are new or changed once they stop changing.

Each poll stats every supported file. A file is ingested when its size and modification time are
the same as at the previous poll, or when it was last modified at least ``settle_seconds`` ago
(so a file still being written waits for the next round). What was ingested or rejected is
remembered with its size and mtime, so an unchanged file is not read again and a changed one is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RejectedInput
from .formats import iter_paths
from .ingest import IngestReport, IngestStatus, ingest
from .store import Store

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """What one poll of the corpus folder did."""

    ready: list[Path] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)


def poll_corpus(
    store: Store,
    folder: Path,
    *,
    settle_seconds: float,
    now: float | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
    status: IngestStatus | None = None,
) -> PollResult:
    """One round: find stable new/changed files under ``folder`` and ingest them. A file that is
    rejected is remembered with its size and mtime and not read again until it changes; an
    interrupted round (``stop``) remembers nothing, so the next one takes the files again."""
    now = time.time() if now is None else now
    result = PollResult()
    if not folder.is_dir():
        return result
    stats: dict[Path, tuple[int, int]] = {}
    seen = store.corpus_files()
    for path in iter_paths([folder]):
        if isinstance(path, RejectedInput):
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        key = str(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
        known = seen.get(key)
        if known is not None and known[:2] == (size, mtime_ns) and known[2] != "seen":
            continue  # ingested or rejected already, unchanged since
        stable = (known is not None and known[:2] == (size, mtime_ns)) or (
            now - mtime_ns / 1e9 >= settle_seconds
        )
        if stable:
            result.ready.append(path)
            stats[path] = (size, mtime_ns)
        else:
            result.waiting.append(path)
            store.record_corpus_file(key, size, mtime_ns, "seen", now=now)
    if result.ready:
        result.report = ingest(
            store, result.ready, workers=workers, progress=False, stop=stop, status=status,
            short_transactions=True,  # the bot's own writes wait behind no long transaction
        )  # fmt: skip
        if result.report.interrupted:
            log.info("corpus poll interrupted; the rest is taken at the next start")
            return result
        rejected = result.report.rejected_files
        for path, (size, mtime_ns) in stats.items():
            reason = rejected.get(str(path))
            outcome = "rejected" if reason else "ingested"
            store.record_corpus_file(str(path), size, mtime_ns, outcome, reason or "", now=now)
        log.info(
            "corpus poll: %d added, %d duplicates, %d rejected, %d still being written",
            len(result.report.added), len(result.report.duplicates),
            result.report.rejected_count, len(result.waiting),
        )  # fmt: skip
    return result
