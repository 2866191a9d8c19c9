"""Full-text extraction quality and speed on the pages under ``tests/data/pages/``.

Each page's expected body is its ``.txt`` (title line, then paragraphs). A candidate's score is the
character F1 of its body against the expected body (whitespace removed; matched characters =
the longest matching blocks found by difflib, so order counts and boilerplate costs precision).
"(raw)" is the library's own output; the others pass through :func:`trim_boilerplate` (title,
bylines, share bars and editor lines at the body's edges), as the shipped extractor does.
``python -m benchmarks.extraction`` prints the table that docs/sources.md records.
"""

from __future__ import annotations

import difflib
import re
import statistics
import time
from collections.abc import Callable
from functools import partial

from digests.charsets import decode_body
from digests.extract import (
    Extracted,
    extract_article,
    gne_extract,
    readability_extract,
    trim_boilerplate,
)

from .common import ROOT

PAGES = ROOT / "tests" / "data" / "pages"
_SPACE = re.compile(r"\s+")
HELD_OUT_FROM = 16  # pages 16+ were written after the trimming rules were settled


def char_f1(found: str, expected: str) -> tuple[float, float, float]:
    a, b = _SPACE.sub("", found), _SPACE.sub("", expected)
    if not a or not b:
        return 0.0, 0.0, 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    p, r = matched / len(a), matched / len(b)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def trafilatura_extract(page: str, *, trim: bool = True) -> Extracted:
    import trafilatura

    text = trafilatura.extract(page, include_comments=False, include_tables=True) or ""
    title = (trafilatura.extract_metadata(page).title or "") if trim else ""
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    return Extracted(
        title, trim_boilerplate(title, paragraphs) if trim else paragraphs, "trafilatura"
    )


def candidates() -> dict[str, Callable[[str], Extracted]]:
    found: dict[str, Callable[[str], Extracted]] = {
        "readability (raw)": partial(readability_extract, trim=False),
        "gne (raw)": partial(gne_extract, trim=False),
        "readability": readability_extract,
        "gne": gne_extract,
        "readability+gne (shipped)": extract_article,
    }
    try:
        import trafilatura  # noqa: F401 - only in the bench extra
    except ImportError:
        return found
    found["trafilatura (raw)"] = partial(trafilatura_extract, trim=False)
    found["trafilatura"] = trafilatura_extract
    return found


def load_pages() -> list[tuple[str, str, str]]:
    """(name, decoded page, expected body)."""
    out = []
    for html_path in sorted(PAGES.glob("*.html")):
        page, _ = decode_body(html_path.read_bytes())
        lines = html_path.with_suffix(".txt").read_text("utf-8").splitlines()
        out.append((html_path.stem, page, "\n".join(lines[1:])))
    return out


def extraction_bench(repeat: int = 3) -> dict:
    pages = load_pages()
    results: dict = {"pages": len(pages), "candidates": {}}
    for name, fn in candidates().items():
        scores, per_page, times = [], {}, []
        for page_name, page, expected in pages:
            started = time.perf_counter()
            for _ in range(repeat):
                found = fn(page)
            times.append((time.perf_counter() - started) / repeat * 1000)
            p, r, f = char_f1("\n".join(found.paragraphs), expected)
            scores.append((p, r, f))
            per_page[page_name] = round(f, 3)
        held = [s[2] for (n, _, _), s in zip(pages, scores, strict=True) if int(n) >= HELD_OUT_FROM]
        tuned = [s[2] for (n, _, _), s in zip(pages, scores, strict=True) if int(n) < HELD_OUT_FROM]
        results["candidates"][name] = {
            "precision": round(statistics.mean(s[0] for s in scores), 3),
            "recall": round(statistics.mean(s[1] for s in scores), 3),
            "f1": round(statistics.mean(s[2] for s in scores), 3),
            "f1_tuning_pages": round(statistics.mean(tuned), 3) if tuned else None,
            "f1_held_out_pages": round(statistics.mean(held), 3) if held else None,
            "min_f1": round(min(s[2] for s in scores), 3),
            "ms_per_page": round(statistics.median(times), 2),
            "per_page": per_page,
        }
    return results


def main() -> None:
    results = extraction_bench()
    print(f"{results['pages']} pages")
    print(
        f"{'candidate':28} {'P':>6} {'R':>6} {'F1':>6} {'min F1':>7} {'F1 tune':>8} {'F1 held':>8} {'ms/page':>8}"
    )
    for name, r in results["candidates"].items():
        print(
            f"{name:28} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['min_f1']:7.3f} "
            f"{r['f1_tuning_pages']:8.3f} {r['f1_held_out_pages']:8.3f} {r['ms_per_page']:8.2f}"
        )
    for name, r in results["candidates"].items():
        print(name, r["per_page"])


if __name__ == "__main__":
    main()
