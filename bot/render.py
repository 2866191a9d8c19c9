"""Telegram-HTML rendering of results and articles, and splitting into ≤ 4096-character messages.

Every user and article string goes through :func:`html.escape`; tags are only ever produced here
and always closed within one line, so a message can be split between lines safely.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from digests.dates import published_date
from digests.models import Article, Hit, Results

from .i18n import t

MAX_MESSAGE = 4096
MAX_TITLE = 300  # characters of a title shown (cut on text, before escaping)
MAX_LINE = 1000  # characters of one summary sentence shown
MAX_SOURCE = 100  # characters of a source's name shown


def esc(text: object) -> str:
    return escape(str(text), quote=False)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with "…" — on the text, before any escaping, so a
    cut never falls inside markup or an entity."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet_html(hit: Hit) -> str:
    return "".join(f"<b>{esc(s)}</b>" if marked else esc(s) for s, marked in hit.snippet)


def date_of(article: Article) -> str:
    """The article's publication date (``YYYY-MM-DD``), else the day it was stored."""
    return published_date(article.published) or (article.added_at or "")[:10]


def date_label(article: Article, lang: str) -> str:
    """``发布于 2026-11-20`` when the article says when it was published, else ``收录于 …``."""
    published = published_date(article.published)
    if published:
        return f"{t(lang, 'published')} {esc(published)}"
    return f"{t(lang, 'added')} {esc((article.added_at or '')[:10])}"


def region_line(article: Article, labels: list[str], lang: str) -> str:
    return f"{t(lang, 'regions')}{esc('、'.join(labels))}" if labels else ""


def render_hits(
    header: str,
    results: Results,
    lang: str,
    region_labels: Callable[[dict[str, int]], list[str]],
    *,
    show_mentions: bool = False,
) -> str:
    """A page of results: header, then title, snippet, regions and date per hit."""
    lines = [header, ""]
    for n, hit in enumerate(results.hits, results.offset + 1):
        art = hit.article
        extra = f" · {t(lang, 'mentions', n=int(hit.score))}" if show_mentions else ""
        lines.append(f"<b>{n}. {esc(clip(art.title, MAX_TITLE))}</b>")
        if hit.snippet:
            lines.append(snippet_html(hit))
        meta = [region_line(art, region_labels(art.regions), lang), f"{esc(date_of(art))}{extra}"]
        lines.append(" · ".join(m for m in meta if m))
        lines.append("")
    return "\n".join(lines).strip()


def render_article(
    article: Article,
    lang: str,
    labels: list[str],
    *,
    sentences: list[str] | None = None,
    number: int | None = None,
    compact: bool = False,
) -> str:
    """An article: title, summary sentences (``sentences`` overrides the stored summary),
    keywords, regions, source, then its date and id.

    ``compact`` (a block in a daily digest, numbered ``number``) drops the blank lines, keeps three
    sentences (each cut at ``MAX_LINE``) and six keywords instead of eight, and leaves out the
    date and id line. Cuts are made on text before escaping, so markup is never cut."""
    title = clip(article.title, MAX_TITLE)
    title = f"{number}. {title}" if number is not None else title
    lines = [f"<b>{esc(title)}</b>"]
    if not compact:
        lines.append("")
    shown = article.summary if sentences is None else sentences
    for sentence in shown[:3] if compact else shown:  # a card may run over several messages
        lines.append(f"· {esc(clip(sentence, MAX_LINE) if compact else sentence)}")
    if not compact:
        lines.append("")
    if article.keywords:
        lines.append(
            f"{t(lang, 'keywords')}{esc('、'.join(article.keywords[: 6 if compact else 8]))}"
        )
    if labels:
        lines.append(f"{t(lang, 'regions')}{esc('、'.join(labels))}")
    source = clip(article.source or "", MAX_SOURCE)
    if article.url:
        label = esc(source or clip(article.url, MAX_SOURCE))
        lines.append(f'{t(lang, "source")}<a href="{escape(article.url, quote=True)}">{label}</a>')
    elif source:
        lines.append(f"{t(lang, 'source')}{esc(source)}")
    if article.also_reported:
        lines.append(t(lang, "also_reported", sources=esc("、".join(article.also_reported[:6]))))
    if not compact:
        lines.append(f"{date_label(article, lang)} · ID {esc(article.id)}")
    return "\n".join(lines).strip()


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters on paragraph boundaries.

    A block (text between blank lines) that fits in a fresh part is never broken; a larger one is
    broken between lines, and a single line longer than the room left is cut at a character that
    is not inside an HTML tag or entity.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in text.split("\n\n"):
        joined = f"{current}\n\n{block}" if current else block
        if len(joined) <= limit:
            current = joined
            continue
        if len(block) <= limit:
            parts.append(current)
            current = block
            continue
        sep = "\n\n" if current else ""
        for line in block.split("\n"):
            while len(current) + len(sep) + len(line) > limit:
                room = limit - len(current) - len(sep)
                if current and room < limit // 4:  # too little room left: start a new part
                    parts.append(current)
                    current, sep = "", ""
                    continue
                cut = _safe_cut(line, room)
                parts.append(current + sep + line[:cut])
                current, sep, line = "", "", line[cut:]
            current += sep + line
            sep = "\n"
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()]


def _safe_cut(line: str, limit: int) -> int:
    cut = limit
    lt, gt = line.rfind("<", 0, cut), line.rfind(">", 0, cut)
    if lt > gt:  # inside a tag
        cut = lt
    amp, semi = line.rfind("&", 0, cut), line.rfind(";", 0, cut)
    if amp > semi and cut - amp < 10:  # inside an entity
        cut = amp
    return max(cut, 1)
