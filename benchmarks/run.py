"""The benchmark suite's command line: ``python -m benchmarks [--quick] [--sizes …] [--only …]``.

Parts (``--only``, comma-separated): ``ingest`` (with the jieba baseline and, at the first size,
the per-stage breakdown), ``search``, ``region``, ``delivery``, ``reliability`` (delivery under
faults, docs/reliability.md), ``memory`` (includes the DB size),
``startup``, ``summary``, ``sources`` (feeds parsed, pages extracted, a polling round over
local feeds: :mod:`benchmarks.sources_bench`), ``backends`` (SQLite against PostgreSQL:
:mod:`benchmarks.backends`). Each part prints a table; everything measured goes to
``benchmarks/results/<YYYY-MM-DD>[-quick].json`` (or ``--out``) and, after a full run of every
part at every size, the plot to
``docs/benchmarks.png``. Nothing asserts on time: targets are reported as met or missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path

from .common import ROOT, machine_info, quiet_jieba, repo_path, table

PARTS = (
    "ingest", "search", "region", "reply", "delivery", "reliability", "flood", "memory", "startup",
    "summary", "sources", "backends",
)
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)
BASELINE_MAX = 100_000  # jieba baseline on at most this many articles: all of them up to 100k
# (the same texts as the ingest; a sample of 10,000 took ~40 s and moved with the machine's
# speed from minute to minute), half of them just before the ingest and half just after it
QUICK_BASELINE_MAX = 500


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 articles, under a minute")
    parser.add_argument(
        "--sizes",
        help="comma-separated corpus sizes, k and m allowed (default 1k,10k,100k; 1m by hand)",
    )
    parser.add_argument("--only", help="comma-separated parts: " + ",".join(PARTS))
    parser.add_argument(
        "--out", help="results file (.json) or folder (default benchmarks/results/)"
    )
    parser.add_argument(
        "--plot", help="plot path (default: docs/benchmarks.png after a full run of every part)"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus generator seed")
    parser.add_argument("--queries", type=int, default=None, help="queries per class")
    parser.add_argument(
        "--update",
        action="store_true",
        help="merge into the results file at --out (or today's) instead of starting afresh",
    )
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="without the ingest part, reuse a cached database even if digests/ changed since",
    )
    return parser.parse_args(argv)


def parse_size(text: str) -> int:
    """``1000``, ``10_000``, ``10k``, ``1m`` → articles."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = int(text[:-1] if scale > 1 else text)
    if number <= 0:
        raise ValueError(text)
    return number * scale


def _out_path(args: argparse.Namespace) -> Path:
    name = f"{date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    if args.out:
        out = Path(args.out)
        return out if out.suffix == ".json" else out / name
    return ROOT / "benchmarks" / "results" / name


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_jieba()
    parts = [p.strip() for p in (args.only or ",".join(PARTS)).split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown parts: {', '.join(sorted(unknown))}; choose from {PARTS}", file=sys.stderr)
        return 2
    if args.sizes:
        try:
            sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
        except ValueError:
            print(f"bad --sizes {args.sizes!r}: e.g. 1k,10k,100k,1m", file=sys.stderr)
            return 2
    else:
        sizes = list(QUICK_SIZES if args.quick else FULL_SIZES)
    n_queries = args.queries or (50 if args.quick else 100)
    started = time.perf_counter()
    results: dict = {
        "date": date.today().isoformat(),
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
        "parts": parts,
        "seed": args.seed,
        "machine": machine_info(),
        "corpus": {},
        "ingest": {},
        "search": {},
        "region": {},
        "reply": {},
        "timings_s": {},
    }
    out = _out_path(args)
    if args.update and out.is_file():
        previous = json.loads(out.read_text("utf-8"))
        for key in ("corpus", "ingest", "search", "region", "reply"):
            old = {int(k): v for k, v in previous.get(key, {}).items()}
            results[key] = {**old, **results[key]}
        results["timings_s"] = {**previous.get("timings_s", {}), **results["timings_s"]}
        results["sizes"] = sorted(set(results["sizes"]) | set(previous.get("sizes", [])))
        results["parts"] = sorted(set(results["parts"]) | set(previous.get("parts", [])))
        for key, value in previous.items():
            results.setdefault(key, value)
    print(f"digestbot benchmarks ({results['mode']}): sizes {sizes}, parts {','.join(parts)}")
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}")

    from . import engine
    from .corpus import generate

    metas = {}
    folders: dict[int, Path] = {}
    dbs: dict[int, Path] = {}
    for size in sizes:
        t0 = time.perf_counter()
        folder, meta = generate(size, args.seed)
        metas[size] = meta
        folders[size] = folder
        results["corpus"][size] = {**asdict(meta), "folder": repo_path(folder)}
        results["timings_s"][f"generate {size}"] = round(time.perf_counter() - t0, 2)
        if "ingest" in parts:
            t0 = time.perf_counter()
            half = min(size, QUICK_BASELINE_MAX if args.quick else BASELINE_MAX) // 2
            before = engine.jieba_baseline(folder, half)
            rj_before = engine.rjieba_baseline(folder, half)
            ing = engine.ingest_bench(folder, size, args.seed)
            rj_after = engine.rjieba_baseline(folder, half, skip=half)
            after = engine.jieba_baseline(folder, half, skip=half)
            ing["jieba"] = engine.combined_baseline(before, after)
            ing["rjieba"] = engine.combined_baseline(rj_before, rj_after)
            ing["ratio_vs_jieba"] = round(ing["articles_per_s"] / ing["jieba"]["articles_per_s"], 2)
            ing["ratio_vs_rjieba"] = round(
                ing["articles_per_s"] / ing["rjieba"]["articles_per_s"], 3
            )
            results["ingest"][size] = ing
            results["timings_s"][f"ingest {size}"] = round(time.perf_counter() - t0, 2)
            dbs[size] = ROOT / ing["db"]  # relative to the repository, or absolute
            if size == sizes[0]:
                t0 = time.perf_counter()
                results["stages"] = engine.stage_breakdown(folder, 100 if args.quick else 500)
                results["timings_s"]["stages"] = round(time.perf_counter() - t0, 2)
        elif {"search", "region", "reply", "memory", "startup"} & set(parts):
            dbs[size] = engine.ensure_db(folder, size, args.seed, any_engine=args.reuse_db)
        budget = 15.0 if size >= 100_000 else 10.0
        if "search" in parts:
            t0 = time.perf_counter()
            results["search"][size] = engine.search_bench(dbs[size], meta, size, n_queries, budget)
            results["timings_s"][f"search {size}"] = round(time.perf_counter() - t0, 2)
        if "region" in parts:
            t0 = time.perf_counter()
            results["region"][size] = engine.region_bench(dbs[size], meta, size, n_queries, budget)
            results["timings_s"][f"region {size}"] = round(time.perf_counter() - t0, 2)
        if "reply" in parts:
            t0 = time.perf_counter()
            searches = [q for qs in engine.keyword_classes(meta).values() for q in qs[:2]]
            regions = list(meta.region_queries.values())
            from . import botbench

            results["reply"][size] = botbench.reply_bench(
                dbs[size], searches, regions, 20 if args.quick else 50
            )
            print_reply(size, results["reply"][size])
            results["timings_s"][f"reply {size}"] = round(time.perf_counter() - t0, 2)
        _save(results, out)

    print_engine_tables(results)
    from . import botbench

    failed: list[str] = []
    if "delivery" in parts:
        t0 = time.perf_counter()
        n_private, n_groups = (50, 5) if args.quick else (1000, 100)
        if _guard(results, "delivery", failed, botbench.delivery_bench, n_private, n_groups):
            print_delivery(results["delivery"])
        results["timings_s"]["delivery"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    if "reliability" in parts:
        from . import reliability

        t0 = time.perf_counter()
        if _guard(results, "reliability", failed, reliability.reliability_bench, args.quick):
            print_reliability(results["reliability"])
        results["timings_s"]["reliability"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    if "flood" in parts:
        from . import flood

        t0 = time.perf_counter()
        if _guard(results, "flood", failed, flood.flood_bench, args.quick):
            flood.print_flood(results["flood"])
        results["timings_s"]["flood"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    largest = max(sizes)
    if "memory" in parts:
        queries = [q for qs in engine.keyword_classes(metas[largest]).values() for q in qs[:3]]
        searches = 50 if args.quick else 200
        # the bot as it is, then the same bot polling a feed source first (benchmarks.site)
        for key, source in (("memory", False), ("memory_source", True)):
            t0 = time.perf_counter()
            if _guard(
                results, key, failed, botbench.memory_bench, dbs[largest], queries, searches,
                source=source,
            ):  # fmt: skip
                mem = results[key]
                mem["articles"] = largest
                mem["db_mb_per_1k"] = round(mem["db_mb"] / largest * 1000, 2)
                print_memory(mem)
            results["timings_s"][key] = round(time.perf_counter() - t0, 2)
            _save(results, out)
    if "startup" in parts:
        t0 = time.perf_counter()
        if _guard(results, "startup", failed, botbench.startup_bench, dbs[largest]):
            results["startup"]["articles"] = largest
            st = results["startup"]
            runs = " ".join(f"{x:.2f}" for x in st["runs_s"])
            row = [st["warmup_s"], runs, st["median_s"], st.get("cpu_median_s", "")]
            print(
                table(
                    f"Start-up: `digestbot run` to the answer to /start ({largest:,} articles)",
                    ["warm-up s", "runs s", "median s", "CPU s (median)"],
                    [row],
                )
            )
        results["timings_s"]["startup"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    if "summary" in parts:
        t0 = time.perf_counter()
        _guard(results, "summary_quality", failed, summary_part)
        results["timings_s"]["summary"] = round(time.perf_counter() - t0, 2)
    if "sources" in parts:
        from . import sources_bench

        t0 = time.perf_counter()
        if _guard(results, "sources", failed, sources_bench.sources_bench, args.quick):
            sources_bench.print_sources(results["sources"])
        results["timings_s"]["sources"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    if "backends" in parts:
        from . import backends

        t0 = time.perf_counter()
        _guard(
            results, "backends", failed, lambda: backends.backends_bench(
                folders, metas, dbs, quick=args.quick, n_queries=n_queries,
                ensure_sqlite_db=lambda size: engine.ensure_db(
                    folders[size], size, args.seed, any_engine=args.reuse_db
                ),
            ),
        )  # fmt: skip
        results["timings_s"]["backends"] = round(time.perf_counter() - t0, 2)
        _save(results, out)
    results["targets"] = targets(results)
    print_targets(results["targets"])
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    # The README's plot is redrawn only by a full run of the full sizes; a partial run draws
    # one only where --plot says.
    full_run = not args.quick and not args.sizes and not args.only
    plot_path = (
        Path(args.plot) if args.plot else (ROOT / "docs" / "benchmarks.png" if full_run else None)
    )
    if plot_path is not None and ({"ingest", "search"} & set(results["parts"])):
        from .plot import draw

        drawn = draw(results, plot_path)
        results["plot"] = repo_path(drawn) if drawn else None
        if drawn:
            print(f"\nplot: {drawn}")
    _save(results, out)
    print(f"results: {out}  ({results['total_seconds']:.1f} s)")
    if failed:
        print(f"FAILED parts: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _guard(results: dict, key: str, failed: list[str], fn, *args, **kwargs) -> bool:
    """Run one part; a failure is recorded (and makes the exit status 1) but the other parts
    still run."""
    try:
        results[key] = fn(*args, **kwargs)
        return True
    except Exception as exc:
        import traceback

        traceback.print_exc()
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        failed.append(key)
        return False


def _save(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.part")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), "utf-8")
    tmp.replace(out)


# -- printing ----------------------------------------------------------------------------------
def print_engine_tables(results: dict) -> None:
    ingest = results["ingest"]
    if ingest:
        rows = []
        for size, r in ingest.items():
            j = r["jieba"]
            rows.append(
                [
                    size, r["seconds"], r["articles_per_s"], j["articles_per_s"],
                    j.get("before_articles_per_s", "-"), j.get("after_articles_per_s", "-"),
                    j["articles"], r["ratio_vs_jieba"], r.get("rjieba", {}).get("articles_per_s", "-"),
                    r.get("ratio_vs_rjieba", "-"), r["db_mb"], r["db_mb_per_1k"],
                    r["rejected"],
                ]
            )  # fmt: skip
        print(
            table(
                f"Ingest (digestbot ingest code path, {results['machine']['cores']} workers) vs "
                "jieba.lcut (1 process, half before and half after the ingest)",
                [
                    "articles",
                    "seconds",
                    "art/s",
                    "jieba art/s",
                    "before",
                    "after",
                    "jieba n",
                    "ratio",
                    "rjieba art/s",
                    "÷ rjieba",
                    "DB MB",
                    "MB/1k art",
                    "rejected",
                ],
                rows,
            )
        )
    stages = results.get("stages")
    if stages:
        rows = [[k, v["ms_per_article"], v["share_pct"]] for k, v in stages["stages"].items()]
        rows.append(["sum of stages", stages["sum_ms_per_article"], 100.0])
        rows.append(["analyze() itself (no read/store)", stages["analyze_ms_per_article"], ""])
        print(
            table(
                f"Ingest stages, one process, sample of {stages['sample']} articles",
                ["stage", "ms/article", "share %"],
                rows,
            )
        )
    for key, title in (("search", "Keyword search"), ("region", "Region search")):
        data = results[key]
        if not data:
            continue
        rows = []
        for size, classes in data.items():
            for name, r in classes.items():
                rows.append(
                    [size, name, r["df"], r["df_pct"], r["n"], r["p50_ms"], r["p95_ms"],
                     r["p99_ms"]]
                )  # fmt: skip
        print(
            table(
                f"{title}: latency of one page (5 hits with snippets)",
                ["articles", "class", "df", "df %", "n", "p50 ms", "p95 ms", "p99 ms"],
                rows,
            )
        )


def print_reply(size: int, r: dict) -> None:
    rows = [
        [f"/{kind}", v["n"], v["p50_ms"], v["p95_ms"], v.get("p95_over_help_ms", "")]
        for kind, v in r.items()
    ]
    print(
        table(
            f"Reply latency through `digestbot run` ({size:,} articles): send → reply",
            ["command", "n", "p50 ms", "p95 ms", "p95 − /help's"],
            rows,
        )
    )


def print_delivery(d: dict) -> None:
    rows = []
    for name in ("limits_on", "limits_off"):
        r = d[name]
        rows.append(
            [
                name.replace("_", " "), r["messages"], r["msgs_per_s"], r["msgs_per_s_from_drop"],
                r["max_global_per_s"], r["limit_violations"], r["lost"], r["duplicates"],
            ]
        )  # fmt: skip
    b = d["bare_ptb"]
    rows.append(["bare PTB loop", b["messages"], b["msgs_per_s"], "", "", "", "", ""])
    on = d["limits_on"]
    print(
        table(
            f"Delivery: one article to {on['private']:,} private chats + {on['groups']} groups "
            f"(sender concurrency {on['concurrency']}); limits off / bare = {d['off_vs_bare']}",
            ["run", "messages", "msg/s", "msg/s from drop", "max/1s", "violations", "lost", "dups"],
            rows,
        )
    )


def print_reliability(r: dict) -> None:
    a, b = r["others_with_4_in_429"], r["others_alone"]
    rows = [
        [f"{a['others']} chats beside {a['in_429']} in 429 (retry_after 30)",
         f"{a['seconds_to_serve_others']} s to serve them", f"alone: {b['seconds_to_serve_others']} s"],
    ]  # fmt: skip
    for key, label in (
        ("slow_api_6s", "6 s Bot API, the sender waits"),
        ("slow_api_6s_client_timeout_5s", "6 s Bot API, client timeout 5 s"),
    ):
        s = r[key]
        rows.append([label, f"max {s['max_copies']} copies (mean {s['mean_copies']})",
                     f"lost {s['lost']}, {s['statuses']}"])  # fmt: skip
    d = r["dead_letter_500"]
    rows.append(["a chat answering 500", f"dead letter after {d['seconds_first_try_to_dead_letter']} s",
                 f"{d['attempts']} tries, gaps {d['gaps_s']}"])  # fmt: skip
    print(table("Delivery under faults", ["case", "figure", "detail"], rows))


def print_memory(r: dict) -> None:
    source = "peak_rss_after_source_mb" in r
    print(
        table(
            f"Memory of `digestbot run` holding {r['articles']:,} articles"
            + (f", polling a feed source ({r['source_items']} pages)" if source else ""),
            [
                "DB MB",
                "MB/1k art",
                "RSS start MB",
                *(["peak after the source's poll"] if source else []),
                "peak after searches",
                "peak after digest",
                "searches",
                "burst s",
                "digest s",
            ],
            [
                [
                    r["db_mb"],
                    r["db_mb_per_1k"],
                    r["rss_after_start_mb"],
                    *([r["peak_rss_after_source_mb"]] if source else []),
                    r["peak_rss_after_searches_mb"],
                    r["peak_rss_mb"],
                    r["searches"],
                    r["search_burst_s"],
                    r["digest_delivered_s"],
                ]
            ],
        )
    )


def summary_part() -> dict:
    from .summary_quality import METRICS, clts_missing, evaluate, load_clts

    records = load_clts()
    if not records:
        reason = clts_missing() or "no CLTS samples in the file"
        print(f"\n== Summary quality: skipped ({reason}) ==")
        return {"skipped": reason}
    scores = evaluate(records)
    print(
        table(
            f"Summary quality: character ROUGE F1 x100 on {len(records)} CLTS samples",
            ["method", "R-1", "R-2", "R-L"],
            [[name, *(float(s[m]) for m in METRICS)] for name, s in scores.items()],
        )
    )
    return {"samples": len(records), "scores": scores}


# -- targets -----------------------------------------------------------------------------------
def targets(results: dict) -> list[dict]:
    out: list[dict] = []

    def add(name: str, target: str, value: object, met: bool | None) -> None:
        out.append({"name": name, "target": target, "value": value, "met": met})

    for size, r in sorted(results["ingest"].items(), key=lambda kv: int(kv[0])):
        size = int(size)
        add(f"ingest {size:,} vs jieba", ">= 2.5", r["ratio_vs_jieba"], r["ratio_vs_jieba"] >= 2.5)
        if "ratio_vs_rjieba" in r:
            add(f"ingest {size:,} vs rjieba", "(context)", r["ratio_vs_rjieba"], None)
        drift = r["jieba"].get("drift_pct")
        if drift is not None:  # the machine's speed moved between the baseline's halves
            from .engine import DRIFT_WARNING_PCT

            add(
                f"jieba baseline drift @ {size:,} (%)",
                f"< {DRIFT_WARNING_PCT:g} to trust the ratio",
                drift,
                drift < DRIFT_WARNING_PCT,
            )
    if results["search"]:
        by_size = {int(k): v for k, v in results["search"].items()}
        size = max(by_size)
        for name, r in by_size[size].items():
            add(f"search p95 {name} @ {size:,}", "< 20 ms", r["p95_ms"], r["p95_ms"] < 20)
    if results.get("reply"):
        by_size = {int(k): v for k, v in results["reply"].items()}
        size = max(by_size)
        for kind in ("search", "region"):
            over = by_size[size][kind]["p95_over_help_ms"]
            add(f"/{kind} reply p95 over /help's @ {size:,}", "<= 30 ms", over, over <= 30)
    d = results.get("delivery")
    if d and "error" not in d:
        on = d["limits_on"]
        add("delivery with limits (msg/s)", ">= 27", on["msgs_per_s"], on["msgs_per_s"] >= 27)
        clean = on["limit_violations"] == 0 and on["lost"] == 0 and on["duplicates"] == 0
        add(
            "violations / lost / duplicates",
            "0 / 0 / 0",
            f"{on['limit_violations']} / {on['lost']} / {on['duplicates']}",
            clean,
        )
        add("limits off vs bare PTB", ">= 0.5x", d["off_vs_bare"], d["off_vs_bare"] >= 0.5)
    for key, what in (("memory", ""), ("memory_source", " polling a feed source")):
        mem = results.get(key)
        if mem and "error" not in mem:
            limit = 120 if mem["articles"] <= 100_000 else 200
            add(
                f"peak RSS of digestbot run{what} @ {mem['articles']:,}",
                f"< {limit} MB",
                mem["peak_rss_mb"],
                mem["peak_rss_mb"] < limit,
            )
    st = results.get("startup")
    if st and "error" not in st:
        add(
            f"start-up to the first answer @ {st['articles']:,}",
            "< 0.5 s",
            st["median_s"],
            st["median_s"] < 0.5,
        )
        if "cpu_median_s" in st:  # what the load of other processes hardly moves
            add(f"start-up CPU s of the bot @ {st['articles']:,}", "(context)", st["cpu_median_s"], None)
    return out


def print_targets(rows: list[dict]) -> None:
    if rows:
        print(
            table(
                "Targets",
                ["measure", "target", "value", "met"],
                [
                    [r["name"], r["target"], str(r["value"]), {True: "yes", False: "NO"}.get(r["met"], "-")]
                    for r in rows
                ],
            )
        )
