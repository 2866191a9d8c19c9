"""Full text from web pages: the article body as paragraphs, and the article links of a listing.

:func:`extract_article` runs readability-lxml on the page and falls back to gne (an extractor
tuned on Chinese news sites) when readability's body is short; the choice and its figures (char
F1 on the pages under ``tests/data/pages/``) are in ``docs/sources.md``. The body is kept as
paragraphs (one per block element) so that summaries and regions work as on files.

:func:`extract_in_worker` runs it for the polls, one page at a time; a page of more than
``MAX_ELEMENTS`` elements is not parsed, so that no page holds the others back for minutes.

:func:`article_links` finds the links of a listing page (a column of a news site) that look like
articles: same site, a path with a date or an id, a headline-sized anchor text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urljoin, urlsplit

import lxml.html

from .feeds import strip_html
from .text import clean_paragraph, normalize

log = logging.getLogger(__name__)

FALLBACK_BELOW = 80  # readability found less than this (characters): it failed, try gne
MAX_ELEMENTS = 20_000  # a page with more is not parsed (a few seconds at most; see extract_article)
_BLOCKS = {
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "td",
    "pre",
    "section",
    "article",
}
_OPEN_TAG = re.compile(r"<[A-Za-z]")
_ARTICLE_PATH = re.compile(
    r"(/20\d\d[-/]?\d\d|/\d{5,}|[_/-]\d{4,}[^/]*\.s?html?$|/t20\d{6}_|content_\d+)", re.I
)


@dataclass
class Extracted:
    """The title and body paragraphs found in a page."""

    title: str
    paragraphs: list[str]
    method: str = "readability"

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.paragraphs)


def _paragraphs_of(fragment: str) -> list[str]:
    """Plain paragraphs of an HTML fragment: text of the innermost block elements, in order."""
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    out: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag not in _BLOCKS:
            continue
        if any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in element.iterdescendants()):
            # a container: only its own loose text counts (children are visited on their own)
            texts = [element.text or ""] + [c.tail or "" for c in element]
        else:
            texts = [element.text_content()]
        for text in texts:
            for line in normalize(text).split("\n"):
                cleaned = clean_paragraph(line)
                if cleaned:
                    out.append(cleaned)
    return out


_LABEL = re.compile(
    r"^[【\[（(]?\s*(来源|稿源|责任编辑|责编|编辑|作者|记者|本报记者|通讯员|发布时间|时间|日期|字号|分享到|"
    r"打印本页|关闭窗口|返回|当前位置|您的位置|点击|浏览|阅读|关键词|标签|原标题|声明|平台声明|免责声明|"
    r"扫一扫|视频播放器|打开APP|上一篇|下一篇|相关新闻|相关阅读|延伸阅读|推荐阅读)(\s*[:：>|】\]）)]|\s|$)"
)
_NOISE = re.compile(
    r"^[-—=_*·\s]{6,}|分隔线|^首页\s*[>›»]|\d{4}[-年/.]\d{1,2}[-月/.]\d{1,2}日?\s*\d{1,2}:\d{2}"
)
_SENTENCE_END = re.compile(r"[。！？!?；;…”」』]$")


def trim_boilerplate(title: str, paragraphs: list[str]) -> list[str]:
    """Drop the title, bylines, dates, share bars and editor lines at either edge of the body.

    Only the edges are trimmed (while a line looks like boilerplate: a known label, a date and
    time, a separator, or a short line that ends no sentence), so the article's own paragraphs,
    which end with sentence punctuation, are never touched.
    """

    def noise(line: str) -> bool:
        if title and line.replace(" ", "") == title.replace(" ", ""):
            return True
        if (_LABEL.search(line) or _NOISE.search(line)) and len(line) < 80:
            return True
        return len(line) < 20 and not _SENTENCE_END.search(line)

    start, end = 0, len(paragraphs)
    while start < end and noise(paragraphs[start]):
        start += 1
    while end > start and noise(paragraphs[end - 1]):
        end -= 1
    return paragraphs[start:end]


def readability_extract(page: str, *, trim: bool = True) -> Extracted:
    from readability import Document

    doc = Document(page)
    title = strip_html(doc.short_title() or "")
    paragraphs = _paragraphs_of(doc.summary(html_partial=True))
    return Extracted(title, trim_boilerplate(title, paragraphs) if trim else paragraphs)


def gne_extract(page: str, *, trim: bool = True) -> Extracted:
    from gne import GeneralNewsExtractor

    result = GeneralNewsExtractor().extract(page, noise_node_list=['//div[@class="comment"]'])
    paragraphs = [
        p
        for p in (clean_paragraph(x) for x in normalize(result.get("content", "")).split("\n"))
        if p
    ]
    title = strip_html(result.get("title", ""))
    return Extracted(title, trim_boilerplate(title, paragraphs) if trim else paragraphs, "gne")


def extract_article(page: str) -> Extracted:
    """The article in ``page``: readability, or gne when readability finds too little; nothing
    from a page of more than ``MAX_ELEMENTS`` elements (news articles have a few thousand). Their
    time grows faster than the page, gne's with the square of its small paragraphs: ~5 s at the
    cap, 16 s at twice it, minutes for a 2 MB page of them, holding every poll's pages back (they
    share one thread: :func:`extract_in_worker`)."""
    tags = _OPEN_TAG.finditer(page)
    if next(islice(tags, MAX_ELEMENTS, None), None) is not None:
        log.info("page not parsed: more than %d elements", MAX_ELEMENTS)
        return Extracted("", [], "none")
    try:
        found = readability_extract(page)
    except Exception as exc:  # lxml/readability on hostile markup: fall back, never crash a poll
        log.info("readability failed: %s", exc)
        found = Extracted("", [], "readability")
    if found.chars < FALLBACK_BELOW:
        try:
            other = gne_extract(page)
        except Exception as exc:
            log.info("gne failed: %s", exc)
        else:
            if other.chars > found.chars:
                other.title = other.title or found.title
                found = other
    return found


_EXTRACTOR = ThreadPoolExecutor(1, thread_name_prefix="extract")  # its thread starts on first use


async def extract_in_worker(page: str) -> Extracted:
    """:func:`extract_article` off the event loop, on one thread that every poll shares: pages
    are parsed one at a time, so one page's parse trees are alive at once, not one per page a
    round has fetched (lxml holds the GIL for most of the work anyway)."""
    return await asyncio.get_running_loop().run_in_executor(_EXTRACTOR, extract_article, page)


def article_links(page: str, base: str, limit: int = 30) -> list[tuple[str, str]]:
    """(url, anchor text) of the article links of a listing page, in page order."""
    try:
        root = lxml.html.document_fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return []
    site = urlsplit(base).hostname or ""
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        text = clean_paragraph(normalize(anchor.text_content() or ""))
        if not href or len(text) < 6:
            continue
        url = urljoin(base, href.strip()).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not _same_site(parts.hostname or "", site):
            continue
        if (
            not _ARTICLE_PATH.search(parts.path)
            or url in seen
            or url.rstrip("/") == base.rstrip("/")
        ):
            continue
        seen.add(url)
        found.append((url, text))
        if len(found) >= limit:
            break
    return found


def _same_site(host: str, site: str) -> bool:
    def tail(h: str) -> str:
        return ".".join(h.split(".")[-2:])

    return host == site or tail(host) == tail(site)
