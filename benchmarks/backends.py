"""SQLite against PostgreSQL in one run (issue 16's figures): ingest throughput with one and with
two concurrent ``digestbot ingest`` processes into the same store, keyword and region search
latency, delivery with Telegram's limits on, and (:mod:`benchmarks.replicas_bench`) update →
reply latency through 1 and 3 webhook replicas and the sender's takeover after a ``kill -9``.

The PostgreSQL half runs against the server named by ``DIGESTBOT_BENCH_DATABASE_URL`` (else
``DIGESTBOT_TEST_DATABASE_URL``), each store in a fresh schema that is dropped at the end of the
run; with neither set it is skipped and the reason printed and recorded. Every ingest process
runs with ``--workers 1``: a process stands for one machine's ingest, so two of them use two
cores, and what the figure shows is how the store takes a second writer (SQLite serialises them
on its write lock; PostgreSQL takes both).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

from .common import ROOT, table

URL_VARS = ("DIGESTBOT_BENCH_DATABASE_URL", "DIGESTBOT_TEST_DATABASE_URL")
INGEST_MAX = 10_000  # the ingest figure's corpus: the largest size up to this one
# the searched stores: the largest size up to this one (a PostgreSQL store of 1M articles would
# take hours to build here, ~100 articles/s)
SEARCH_MAX = 100_000
QUICK_INGEST = 100  # --quick: articles ingested (and then searched) per run
QUICK_QUERIES = 10  # --quick: queries per class
QUICK_CHATS = (20, 2)  # --quick: private chats and groups of the delivery
FULL_CHATS = (1000, 100)
FRESH_QUERIES, FRESH_BUDGET_S = 30, 5.0  # PostgreSQL searched before its vacuum, per class
SETTLED_TABLES = ("articles", "article_search", "article_regions", "region_counts", "article_stories")
REPLICAS = (1, 3)  # webhook replicas behind the balancer
ROUNDS, QUICK_ROUNDS = 30, 3  # timed /help + /search pairs per replica set
QUICK_PACE_S = 0.1  # --quick: one replica, alone under 30 msg/s (else replicas_bench.PACE_S)
TAKEOVER_REPLICAS, TAKEOVER_SUBSCRIBERS = 3, 500


def bench_url() -> tuple[str | None, str]:
    """The PostgreSQL server's URL, or None and why not."""
    for name in URL_VARS:
        url = os.environ.get(name, "").strip()
        if url:
            return url, name
    return None, f"PostgreSQL half skipped: neither {' nor '.join(URL_VARS)} is set"


class Schemas:
    """Fresh schemas in the benchmark database, each reachable through its own URL (so
    ``digestbot`` subprocesses use it too), all dropped by :meth:`drop_all`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []
        self.by_url: dict[str, str] = {}

    def new(self) -> str:
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        self.names.append(name)
        joiner = "&" if "?" in self.url else "?"
        url = f"{self.url}{joiner}options={quote(f'-csearch_path={name}')}"
        self.by_url[url] = name
        return url

    def unvacuumed(self, url: str) -> int:
        """Rows inserted into the search table since its last vacuum (they sit in the GIN
        indexes' pending lists, which every search scans)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT n_ins_since_vacuum FROM pg_stat_user_tables "
                "WHERE schemaname = %s AND relname = 'article_search'",
                [self.by_url[url]],
            ).fetchone()
        return int(row[0]) if row else -1

    def settle(self, url: str) -> None:
        """``VACUUM ANALYZE`` of the store's article tables, as autovacuum does a while after
        an ingest (only this schema's: the database is shared)."""
        import psycopg

        name = self.by_url[url]
        tables = ", ".join(f"{name}.{t}" for t in SETTLED_TABLES)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"VACUUM (ANALYZE) {tables}")

    def server_version(self) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        self.names.clear()


# -- ingest --------------------------------------------------------------------------------------
def split_corpus(folder: Path, n: int, parts: int, dest: Path) -> list[Path]:
    """The first ``n`` articles of a generated corpus written as ``parts`` folders of
    (nearly) equal, contiguous shares."""
    lines: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            lines += [line for line in fh if line.strip()]
        if len(lines) >= n:
            break
    lines = lines[:n]
    out = []
    share = -(-len(lines) // parts)
    for index in range(parts):
        part = dest / f"half-{index}"
        part.mkdir(parents=True, exist_ok=True)
        chunk = lines[index * share : (index + 1) * share]
        for k in range(0, len(chunk), 500):
            (part / f"part-{k // 500:05d}.jsonl").write_text("".join(chunk[k : k + 500]), "utf-8")
        out.append(part)
    return out


def _env(target: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))}
    env["DIGESTBOT_DATABASE_URL" if "://" in target else "DIGESTBOT_DB"] = target
    return env


def run_ingests(target: str, groups: list[list[Path]], work: Path, workers: int | None = 1) -> dict:
    """One ``digestbot ingest`` process per group of folders, all started at once against
    ``target``; wall time from the first start to the last exit (interpreter start-up
    included, ~1 s a process)."""
    procs = []
    logs = []
    start = time.perf_counter()
    for index, group in enumerate(groups):
        log = work / f"ingest-{uuid.uuid4().hex[:6]}-{index}.log"
        logs.append(log)
        cmd = [sys.executable, "-m", "bot.cli", "ingest", *(str(p) for p in group)]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        with log.open("wb") as err:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=_env(target), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        procs.append(proc)
    ended: dict[int, float] = {}
    deadline = start + 3600
    while len(ended) < len(procs) and time.perf_counter() < deadline:
        for index, proc in enumerate(procs):
            if index not in ended and proc.poll() is not None:
                ended[index] = time.perf_counter() - start
        time.sleep(0.02)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    seconds = max(ended.values()) if ended else float("nan")
    summaries = [log.read_text("utf-8", "replace").strip().splitlines()[-1:] for log in logs]
    failed = [
        f"process {i}: exit {p.returncode}: {logs[i].read_text('utf-8', 'replace')[-500:]}"
        for i, p in enumerate(procs)
        if p.returncode != 0
    ]
    if failed:
        raise RuntimeError("digestbot ingest failed: " + " | ".join(failed))
    return {
        "processes": len(groups),
        "seconds": round(seconds, 2),
        "per_process_s": [round(ended[i], 2) for i in sorted(ended)],
        "summaries": [s[0] if s else "" for s in summaries],
    }


def _checkpoint(path: str) -> None:
    """The SQLite counterpart of the vacuum: the write-ahead log folded into the file."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _count(target: str) -> int:
    from digests.backends import open_store

    with open_store(target) as store:
        return store.count()


def ingest_pair(folder: Path, n: int, targets: Iterator[str], work: Path) -> dict:
    """``n`` articles ingested by one process, then (into a new store) by two processes on
    halves at once."""
    halves = split_corpus(folder, n, 2, work / f"split-{n}")
    out: dict[str, object] = {}
    for processes, groups in ((1, [halves]), (2, [[h] for h in halves])):
        target = next(targets)
        _count(target)  # the empty store made first: two processes racing to create a new
        # SQLite file find it 0 bytes long, and one refuses it as not a database
        run = run_ingests(target, groups, work)
        stored = _count(target)
        run.update(articles=n, stored=stored, articles_per_s=round(n / run["seconds"], 1))
        if stored != n:
            raise RuntimeError(f"{processes} ingest processes stored {stored} of {n} articles")
        out[str(processes)] = run
        out["_target"] = target  # the two-process store, searched in --quick
    one, two = out["1"], out["2"]
    out["speedup_2_vs_1"] = round(two["articles_per_s"] / one["articles_per_s"], 2)  # type: ignore[index]
    return out


def store_sizes(sizes: list[int], quick: bool) -> tuple[int, int]:
    """Articles ingested for the ingest figure, and the corpus size of the searched stores: the
    largest of ``sizes`` (sorted) up to ``INGEST_MAX`` and ``SEARCH_MAX``, else the smallest."""
    ingest_n = QUICK_INGEST if quick else max([s for s in sizes if s <= INGEST_MAX] or [sizes[0]])
    return ingest_n, max([s for s in sizes if s <= SEARCH_MAX] or [sizes[0]])


# -- the part ------------------------------------------------------------------------------------
def backends_bench(
    folders: dict[int, Path], metas: dict, sqlite_dbs: dict[int, Path], *, quick: bool,
    n_queries: int, ensure_sqlite_db,
) -> dict[str, object]:  # fmt: skip
    """The whole comparison; ``folders``/``metas`` are the generated corpora by size,
    ``sqlite_dbs`` the SQLite databases the run already has, ``ensure_sqlite_db(size)`` builds
    (or finds cached) the one of a size."""
    from . import engine

    engine.warm_engine()
    url, why = bench_url()
    if quick:
        n_queries = min(n_queries, QUICK_QUERIES)
    ingest_n, search_size = store_sizes(sorted(folders), quick)
    ingest_folder = folders[min(s for s in folders if s >= ingest_n)]
    search_n = ingest_n if quick else search_size  # articles in the searched stores
    meta = metas[search_size]
    result: dict[str, object] = {
        "postgresql": {"server": None, "url_from": why} if url else {"skipped": why},
        "ingest": {"articles": ingest_n, "workers_per_process": 1},
        "search": {"articles": search_n},
        "region": {"articles": search_n},
        "delivery": {},
        "webhook_latency": {},
        "takeover": {},
    }
    if not url:
        print(f"\n== Backends: {why} ==")
    backends = ["sqlite", "postgresql"] if url else ["sqlite"]
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-backends-")))
        schemas = Schemas(url) if url else None
        if schemas is not None:
            stack.callback(schemas.drop_all)
            result["postgresql"]["server"] = schemas.server_version()  # type: ignore[index]

        def targets(kind: str) -> Iterator[str]:
            while True:
                if kind == "sqlite":
                    yield str(work / f"{uuid.uuid4().hex[:8]}.db")
                else:
                    assert schemas is not None
                    yield schemas.new()

        search_targets: dict[str, str] = {}
        for kind in backends:
            t0 = time.perf_counter()
            pair = ingest_pair(ingest_folder, ingest_n, targets(kind), work)
            search_targets[kind] = str(pair.pop("_target"))
            result["ingest"][kind] = pair  # type: ignore[index]
            print(f"backends: ingest on {kind} measured in {time.perf_counter() - t0:.1f} s")
        if not quick and search_size != ingest_n:  # else the two-process stores are searched
            search_targets["sqlite"] = str(sqlite_dbs.get(search_size) or ensure_sqlite_db(search_size))
            if url:
                target = next(targets("postgresql"))
                build = run_ingests(target, [[folders[search_size]]], work, workers=None)
                build.update(articles=search_size, stored=_count(target))
                build["articles_per_s"] = round(search_size / build["seconds"], 1)
                result["postgresql"]["build"] = build  # type: ignore[index]
                search_targets["postgresql"] = target
        budget = 15.0 if search_size >= 100_000 else 10.0
        if schemas is not None:  # as the ingest left it: before any vacuum
            target = search_targets["postgresql"]
            fresh = {"unvacuumed_rows": schemas.unvacuumed(target)}
            fresh.update(
                engine.search_bench(
                    target, meta, search_n, min(n_queries, FRESH_QUERIES), FRESH_BUDGET_S
                )
            )
            result["search"]["postgresql_before_vacuum"] = fresh  # type: ignore[index]
            schemas.settle(target)
        _checkpoint(search_targets["sqlite"])
        for kind in backends:
            t0 = time.perf_counter()
            result["search"][kind] = engine.search_bench(  # type: ignore[index]
                search_targets[kind], meta, search_n, n_queries, budget
            )
            result["region"][kind] = engine.region_bench(  # type: ignore[index]
                search_targets[kind], meta, search_n, n_queries, budget
            )
            print(f"backends: search on {kind} measured in {time.perf_counter() - t0:.1f} s")
        if url:
            result["totals"] = compare_totals(search_targets, meta)
        replica_part(result, backends, targets, work, quick)
        n_private, n_groups = QUICK_CHATS if quick else FULL_CHATS
        for kind in backends:
            from .botbench import _deliver_once

            database = None if kind == "sqlite" else next(targets(kind))
            r = asyncio.run(
                _deliver_once(n_private, n_groups, limits=True, concurrency=4, database=database)
            )
            r.pop("_text", None)
            r.pop("_markup", None)
            result["delivery"][kind] = r  # type: ignore[index]
    print_backends(result)
    print("\n" + markdown(result))
    return result


def compare_totals(targets: dict[str, str], meta) -> dict[str, object]:
    """Every distinct keyword and region query of the benchmark on both backends: the totals
    must agree wherever both are exact (beyond ``COUNT_CAP`` matches they are estimates from
    ranges of article numbers, which two ingests number differently)."""
    from digests.backends import open_store
    from digests.regions import load_gazetteer
    from digests.search import keyword_search, region_search

    from .engine import keyword_classes

    gazetteer = load_gazetteer()
    queries = sorted({q for qs in keyword_classes(meta).values() for q in qs})
    places = sorted(set(meta.region_queries.values()))
    found: dict[str, dict[str, tuple[int, bool]]] = {}
    for kind, target in targets.items():
        with open_store(target) as store:
            seen = {}
            for q in queries:
                r = keyword_search(store, q, limit=5)
                seen[q] = (r.total, r.approximate)
            for place in places:
                rr = region_search(store, gazetteer, place, limit=5).results
                seen["region " + place] = (rr.total, rr.approximate)
            found[kind] = seen
    sqlite, pg = found["sqlite"], found["postgresql"]
    exact = [q for q in sqlite if not sqlite[q][1] and not pg[q][1]]
    return {
        "queries": len(sqlite),
        "exact_on_both": len(exact),
        "mismatches": [
            {"query": q, "sqlite": sqlite[q][0], "postgresql": pg[q][0]}
            for q in exact
            if sqlite[q][0] != pg[q][0]
        ],
    }


def replica_part(
    result: dict, backends: list[str], targets, work: Path, quick: bool
) -> None:
    """Webhook latency through 1 and 3 replicas and the sender's takeover, on each backend
    (``--quick``: one replica, a few rounds, on the last backend; no takeover)."""
    from . import botbench, replicas_bench

    plan = [(kind, n) for kind in backends for n in REPLICAS]
    if quick:
        plan = [(backends[-1], 1)]
        result["takeover"]["skipped"] = "not in --quick (a burst of 500 messages)"
    for kind, n in plan:
        target = next(targets(kind))
        botbench._seed_db(target)
        t0 = time.perf_counter()
        result["webhook_latency"].setdefault(kind, {})[str(n)] = replicas_bench.webhook_latency(
            target, n, QUICK_ROUNDS if quick else ROUNDS, work, QUICK_PACE_S if quick else replicas_bench.PACE_S
        )
        print(f"backends: webhook latency, {n} replica(s) on {kind}: {time.perf_counter() - t0:.1f} s")
    if quick:
        return
    for kind in backends:
        target = next(targets(kind))
        botbench._seed_db(target)
        t0 = time.perf_counter()
        result["takeover"][kind] = replicas_bench.takeover(
            target, TAKEOVER_REPLICAS, TAKEOVER_SUBSCRIBERS, work
        )
        print(f"backends: takeover on {kind}: {time.perf_counter() - t0:.1f} s")


def print_replicas(r: dict) -> None:
    rows = []
    for kind, by_n in r["webhook_latency"].items():
        for n, v in by_n.items():
            rows.append(
                [kind, n, f"{v['help']['p50_ms']:.1f} / {v['help']['p95_ms']:.1f}",
                 f"{v['search']['p50_ms']:.1f} / {v['search']['p95_ms']:.1f}"]
            )  # fmt: skip
    if rows:
        print(
            table(
                "Webhook update → reply through the balancer (one at a time)",
                ["store", "replicas", "/help p50 / p95 ms", "/search p50 / p95 ms"],
                rows,
            )
        )
    rows = [
        [kind, v["replicas"], v["subscribers"], v["killed_after_messages"], v["lease_taken_over_s"],
         v["sending_resumed_s"], f"{v['lost']} / {v['duplicates']} / {v['limit_violations']}"]
        for kind, v in r["takeover"].items()
        if isinstance(v, dict)
    ]  # fmt: skip
    if rows:
        headers = [
            "store", "replicas", "subscribers", "killed after", "lease taken s",
            "sending resumed s", "lost / dups / violations",
        ]  # fmt: skip
        print(table("Sender killed (kill -9) during a burst", headers, rows))
    elif "skipped" in r["takeover"]:
        print(f"takeover: {r['takeover']['skipped']}")


# -- printing ------------------------------------------------------------------------------------
def print_backends(r: dict) -> None:
    pg = r["postgresql"]
    where = f"PostgreSQL {pg['server']}" if "server" in pg else "PostgreSQL (skipped)"
    kinds = ("sqlite", "postgresql")
    ing = r["ingest"]
    rows = []
    for processes in ("1", "2"):
        rows.append(
            [f"ingest {ing['articles']:,} art., {processes} process(es), art/s"]
            + [str(ing[k][processes]["articles_per_s"]) if k in ing else "–" for k in kinds]
            + [""]
        )  # fmt: skip
    rows.append(
        ["ingest: 2 processes ÷ 1"]
        + [str(ing[k]["speedup_2_vs_1"]) if k in ing else "–" for k in kinds]
        + [""]
    )
    fresh = r["search"].get("postgresql_before_vacuum", {})
    for part in ("search", "region"):
        data = r[part]
        for name in data.get("sqlite", {}):
            cells = []
            for c in (data.get(k, {}).get(name) for k in kinds):
                cells.append(f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f}" if c else "–")
            c = fresh.get(name) if part == "search" else None
            cells.append(f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f}" if c else "")
            rows.append([f"{part} {name} @ {data['articles']:,}, p50 / p95 ms", *cells])
    d = r["delivery"]
    rows.append(
        ["delivery, limits on, msg/s"]
        + [str(d[k]["msgs_per_s"]) if k in d else "–" for k in kinds]
        + [""]
    )
    rows.append(
        ["delivery violations / lost / dups"]
        + [
            f"{d[k]['limit_violations']} / {d[k]['lost']} / {d[k]['duplicates']}" if k in d else "–"
            for k in kinds
        ]
        + [""]
    )
    print(
        table(
            f"Backends: SQLite vs {where}",
            ["measure", "SQLite", "PostgreSQL", "PG before VACUUM"],
            rows,
        )
    )
    if fresh:
        print(f"(before VACUUM: {fresh['unvacuumed_rows']:,} rows inserted since the last vacuum)")
    totals = r.get("totals")
    if totals:
        print(
            f"totals: {totals['exact_on_both']} of {totals['queries']} queries exact on both "
            f"backends, {len(totals['mismatches'])} differ {totals['mismatches'][:3] or ''}"
        )
    print_replicas(r)


def markdown(r: dict) -> str:
    """The figures as the Markdown table of docs/benchmarks.md (printed at the end of the part,
    ready to paste after a rerun)."""

    def pair(c: dict | None) -> str:
        return f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f}" if c else "–"

    kinds = ("sqlite", "postgresql")
    ing, d = r["ingest"], r["delivery"]
    lines = ["| measure | SQLite | PostgreSQL |", "| --- | --- | --- |"]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | {' | '.join(cells)} |")

    for p in ("1", "2"):
        row(
            f"ingest {ing['articles']:,} articles, {p} `digestbot ingest --workers 1` "
            f"process{'es' if p == '2' else ''}, articles/s",
            [f"{ing[k][p]['articles_per_s']:,}" if k in ing else "–" for k in kinds],
        )
    row("ingest, 2 processes ÷ 1", [str(ing[k]["speedup_2_vs_1"]) if k in ing else "–" for k in kinds])
    fresh = r["search"].get("postgresql_before_vacuum", {})
    for part in ("search", "region"):
        data = r[part]
        for name in data.get("sqlite", {}):
            cells = [pair(data.get(k, {}).get(name)) for k in kinds]
            if part == "search" and fresh.get(name):
                cells[1] += f" ({pair(fresh[name])} before VACUUM)"
            row(f"{part} p50 / p95 ms @ {data['articles']:,}: {name}", cells)
    row("delivery with limits on, msg/s", [str(d[k]["msgs_per_s"]) if k in d else "–" for k in kinds])
    row(
        "delivery violations / lost / duplicates",
        [
            f"{d[k]['limit_violations']} / {d[k]['lost']} / {d[k]['duplicates']}" if k in d else "–"
            for k in kinds
        ],
    )
    for n in (str(x) for x in REPLICAS):
        for command in ("help", "search"):
            hooks = [r["webhook_latency"].get(k, {}).get(n) for k in kinds]
            row(
                f"webhook update → reply p50 / p95 ms, {n} replica{'s' if n != '1' else ''}: "
                f"/{command}",
                [pair(v[command]) if v else "–" for v in hooks],
            )
    cells = []
    for k in kinds:
        v = r["takeover"].get(k)
        cells.append(
            f"lease {v['lease_taken_over_s']} s, sending {v['sending_resumed_s']} s "
            f"({v['lost']} lost, {v['duplicates']} dups, {v['limit_violations']} violations)"
            if isinstance(v, dict)
            else "–"
        )
    row("sender killed mid-burst: taken over / sending resumed after", cells)
    return "\n".join(lines)
