"""``docs/benchmarks.png``: cost against corpus size for ingest and each query class."""

from __future__ import annotations

from pathlib import Path


def draw(results: dict, path: Path) -> Path | None:
    """Four log-log panels: ingest seconds (and bare jieba's and jieba-rs's), keyword search
    p50/p95 per class, region search p50/p95 per level, and the bot's reply latency to /search,
    /region and /help. Returns ``None`` when fewer than two sizes were measured."""
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
    fig, axes = plt.subplots(1, 4, figsize=(21, 5.2))
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


def _loglog(ax) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)


def _ascii(name: str) -> str:
    """Legend labels without CJK (the default font has no CJK glyphs)."""
    head = name.split(" (", 1)[0]
    return head if any("\u4e00" <= ch <= "\u9fff" for ch in name) else name
