"""``docs/benchmarks.png``: cost against corpus size for ingest, each query class and the bot."""

from __future__ import annotations

from pathlib import Path


def draw(results: dict, path: Path) -> Path | None:
    """Eight panels against corpus size: ingest seconds (and bare jieba's and jieba-rs's),
    keyword search p50/p95 per class, region search p50/p95 per level, the bot's reply latency
    to /search, /region and /help; the database's size per 1,000 articles, and ``digestbot
    run``'s start-up to its first answer, peak RSS and digest cycle (a new article's file to
    the subscribers' messages). Returns ``None`` when fewer than two sizes were measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ingest = {int(k): v for k, v in results.get("ingest", {}).items()}
    search = {int(k): v for k, v in results.get("search", {}).items()}
    region = {int(k): v for k, v in results.get("region", {}).items()}
    reply = {int(k): v for k, v in results.get("reply", {}).items()}
    sizes = sorted(set(ingest) | set(search))
    if len(sizes) < 2:
        return None
    fig, grid = plt.subplots(2, 4, figsize=(21, 10))
    axes = list(grid[0]) + list(grid[1])
    ax = axes[0]
    xs = sorted(ingest)
    if xs:
        ax.plot(xs, [ingest[s]["seconds"] for s in xs], "o-", label="digestbot ingest (all cores)")
        for key, label, style in (
            ("jieba", "jieba.lcut only (1 process)", "s--"),
            ("rjieba", "rjieba.cut only (1 process)", "^:"),
        ):
            base = [(s, ingest[s].get(key)) for s in xs]
            base = [(s, b) for s, b in base if b]
            if base:
                ax.plot(
                    [s for s, _ in base], [s / b["articles_per_s"] for s, b in base], style,
                    label=label,
                )  # fmt: skip
    ax.set_title("Ingest: seconds for the corpus")
    ax.set_xlabel("articles")
    ax.set_ylabel("seconds")
    _loglog(ax)
    ax.legend(fontsize=8)

    _latency_panel(axes[1], search, "Keyword search p95 (solid) / p50 (dotted)", limit=20.0)
    _latency_panel(axes[2], region, "Region search p95 (solid) / p50 (dotted)")
    if reply:
        _latency_panel(
            axes[3], reply, "digestbot run: send -> reply p95 / p50", ylabel="ms send -> reply"
        )
    else:
        axes[3].set_visible(False)

    _size_panel(
        axes[4], {s: ingest[s]["db_mb_per_1k"] for s in xs if "db_mb_per_1k" in ingest[s]},
        "Database: MB per 1,000 articles", "MB (file)",
    )  # fmt: skip
    memory, startup = _by_size(results, "memory"), _by_size(results, "startup")
    _size_panel(
        axes[5], {s: v["median_s"] for s, v in startup.items()},
        "digestbot run: start-up to the first answer", "seconds (median)", limit=0.5,
    )  # fmt: skip
    with_source = _by_size(results, "memory_source")
    _size_panel(
        axes[6], {s: v["peak_rss_mb"] for s, v in memory.items()},
        "digestbot run: peak RSS (200 searches, a digest)", "MB", limit=120.0,
        more={"polling a feed source first": {s: v["peak_rss_mb"] for s, v in with_source.items()}},
        label="no source",
    )  # fmt: skip
    _size_panel(
        axes[7], {s: v["digest_delivered_s"] for s, v in memory.items()},
        "digestbot run: digest cycle (new file -> 5 chats)", "seconds",
    )  # fmt: skip

    machine = results.get("machine", {})
    fig.suptitle(
        f"digestbot benchmarks {results.get('date', '')} — {machine.get('cpu', '')}, "
        f"{machine.get('cores', '')} cores, Python {machine.get('python', '')}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latency_panel(
    ax,
    data: dict,
    title: str,
    limit: float | None = None,
    ylabel: str = "ms per query (5 hits + snippets)",
) -> None:
    """p95 (solid) and p50 (dotted) per query class against corpus size."""
    xs = sorted(data)
    classes = list(data[xs[0]]) if xs else []
    for i, name in enumerate(classes):
        xs = [s for s in sorted(data) if name in data[s]]
        color = f"C{i}"
        ax.plot(xs, [data[s][name]["p95_ms"] for s in xs], "o-", color=color, label=_ascii(name))
        ax.plot(xs, [data[s][name]["p50_ms"] for s in xs], ":", color=color)
    if limit is not None:
        ax.axhline(limit, color="grey", lw=0.8, ls="--")
    ax.set_title(title)
    ax.set_xlabel("articles")
    ax.set_ylabel(ylabel)
    _loglog(ax)
    ax.legend(fontsize=7)


def _by_size(results: dict, part: str) -> dict[int, dict]:
    """A bot part (``memory``, ``startup``) per corpus size: the run's own (measured at its
    largest size) and the ``{part}_{size}`` reruns merged into the file."""
    found: dict[int, dict] = {}
    own = results.get(part)
    if isinstance(own, dict) and own.get("articles"):
        found[int(own["articles"])] = own
    prefix = f"{part}_"
    for key, value in results.items():
        if key.startswith(prefix) and key[len(prefix) :].isdigit() and isinstance(value, dict):
            found[int(key[len(prefix) :])] = value
    return dict(sorted(found.items()))


def _size_panel(
    ax, data: dict[int, float], title: str, ylabel: str, limit: float | None = None,
    more: dict[str, dict[int, float]] | None = None, label: str = "as measured",
):  # fmt: skip
    """One figure per corpus size (log x; the y axis from 0, so growth reads as it is); ``more``
    adds labelled series (a legend then names the first one ``label``)."""
    if not data:
        ax.set_visible(False)
        return
    extra = {name: series for name, series in (more or {}).items() if series}
    series_list = [(label if extra else None, data, "o-"), *(
        (name, series, "s--") for name, series in extra.items())]  # fmt: skip
    for name, series, style in series_list:
        xs = sorted(series)
        ax.plot(xs, [series[s] for s in xs], style, label=name)
        for x in xs:
            ax.annotate(f"{series[x]:g}", (x, series[x]), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8)  # fmt: skip
    if extra:
        ax.legend(fontsize=8, loc="lower right")
    if limit is not None:
        ax.axhline(limit, color="grey", lw=0.8, ls="--")
    top = max([v for _, series, _ in series_list for v in series.values()] + [limit or 0.0])
    ax.set_ylim(0, top * 1.2)
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.set_xlabel("articles")
    ax.set_ylabel(ylabel)


def _loglog(ax) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)


def _ascii(name: str) -> str:
    """Legend labels without CJK (the default font has no CJK glyphs)."""
    head = name.split(" (", 1)[0]
    return head if any("\u4e00" <= ch <= "\u9fff" for ch in name) else name
