"""Reading article files: encodings, the corpus formats, and the reasons a file is rejected.

Supported inputs
    ``.txt``  the corpus format (one line: title, then paragraphs separated by two full-width
              spaces) or plain multi-line text whose first non-empty line is the title;
    ``.md``   the first ``#`` heading is the title, blank-line separated blocks are paragraphs;
    ``.json`` an object (or a list of objects) with ``title``, ``text`` and optional ``url``,
              ``published``, ``source``;
    ``.jsonl`` one such object per line (a bad line is rejected alone).

Encodings: UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK; everything is NFC-normalised.
A file is rejected (``RejectedInput``) when it is empty, binary, undecodable, over
``MAX_FILE_BYTES``, nested too deeply to parse, or has no body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RejectedInput
from .text import FULLWIDTH_SPACE, PARAGRAPH_SEPARATOR, clean_paragraph, normalize

MAX_FILE_BYTES = 2 * 1024 * 1024
SUFFIXES = (".txt", ".md", ".markdown", ".json", ".jsonl")
MIN_BODY_CHARS = 10
MAX_TITLE_CHARS = 200  # longer titles are cut (on text, with "…") and kept whole in the body
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # control characters but \t \n \f \r


@dataclass
class RawArticle:
    """An article as read from a file, before analysis."""

    title: str
    paragraphs: list[str]
    source_path: str = ""
    url: str | None = None
    published: str | None = None
    source: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


def decode(data: bytes, source: str) -> str:
    """Bytes → text: UTF-8 (BOM optional), UTF-16 with BOM, else GB18030; NFC-normalised."""
    if not data.strip():
        raise RejectedInput(source, "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return normalize(data.decode("utf-16"))
        except UnicodeDecodeError as exc:
            raise RejectedInput(source, "undecodable UTF-16") from exc
    if b"\x00" in data:
        raise RejectedInput(source, "binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return normalize(text)
        raise RejectedInput(source, "binary file (control characters)")
    raise RejectedInput(source, "undecodable: neither UTF-8 nor GB18030")


def _looks_like_text(text: str) -> bool:
    if not text:
        return False
    controls = len(_CONTROL.findall(text))
    return controls / len(text) < 0.01


def read_file(path: Path) -> Iterator[RawArticle | RejectedInput]:
    """Articles in ``path``; a rejected file or record is yielded as a ``RejectedInput``."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RejectedInput(source, f"too large ({size:,} bytes; the limit is 2 MB)")
        text = decode(path.read_bytes(), source)
    except RejectedInput as exc:
        yield exc
        return
    except OSError as exc:
        yield RejectedInput(source, f"unreadable ({exc.strerror or exc})")
        return
    yield from parse_text(text, path.suffix.lower(), source)


def parse_text(text: str, suffix: str, source: str) -> Iterator[RawArticle | RejectedInput]:
    """Parse already-decoded ``text`` according to its file suffix."""
    if suffix == ".jsonl":
        yield from _parse_jsonl(text, source)
        return
    try:
        if suffix == ".json":
            yield from _parse_json(text, source)
        elif suffix in (".md", ".markdown"):
            yield _checked(parse_markdown(text, source))
        else:
            yield _checked(parse_plain(text, source))
    except RejectedInput as exc:
        yield exc
    except RecursionError:
        yield RejectedInput(source, "nested too deeply")


_PARAGRAPH_ENDS = " " + FULLWIDTH_SPACE


def _checked(article: RawArticle) -> RawArticle:
    if not article.title:
        raise RejectedInput(article.source_path, "no title")
    if len("".join(article.paragraphs)) < MIN_BODY_CHARS:
        raise RejectedInput(article.source_path, "no body (title only or too short)")
    if len(article.title) > MAX_TITLE_CHARS:
        article.paragraphs.insert(0, article.title)
        article.title = article.title[: MAX_TITLE_CHARS - 1] + "…"
    return article


def _paragraphs(chunks: list[str], *, normalized: bool = False) -> list[str]:
    """The non-empty paragraphs of ``chunks`` (each split at the paragraph separator), cleaned.

    ``normalized`` chunks (lines of :func:`normalize`'s output) only need their ends stripped:
    normalising again would change nothing (it is idempotent, and a piece between separators
    is bounded by characters that do not compose)."""
    out: list[str] = []
    for chunk in chunks:
        for piece in chunk.split(PARAGRAPH_SEPARATOR):
            cleaned = piece.strip(_PARAGRAPH_ENDS) if normalized else clean_paragraph(piece)
            if cleaned:
                out.append(cleaned)
    return out


def parse_plain(text: str, source: str) -> RawArticle:
    """The corpus format (one line) or multi-line text: the first non-empty line is the title."""
    lines = [line for line in text.split("\n") if line.strip(" \u3000")]
    if not lines:
        raise RejectedInput(source, "empty file")
    first = lines[0].strip(" \u3000")
    if len(lines) == 1 or PARAGRAPH_SEPARATOR in first:
        title, _, rest = first.partition(PARAGRAPH_SEPARATOR)
        chunks = [rest, *lines[1:]]
    else:
        title, chunks = first, lines[1:]
    return RawArticle(
        title=clean_paragraph(title), paragraphs=_paragraphs(chunks), source_path=source
    )


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _strip_markdown(line: str) -> str:
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_EMPHASIS.sub(r"\2", line)
    line = _MD_LIST.sub("", line)
    return line.lstrip("> ").rstrip()


def parse_markdown(text: str, source: str) -> RawArticle:
    """Markdown: the first ``#`` heading is the title; other headings become subheadings."""
    title = ""
    blocks: list[list[str]] = [[]]
    in_fence = False
    for raw in text.split("\n"):
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", raw)
        if heading:
            if not title and heading.group(1) == "#":
                title = _strip_markdown(heading.group(2))
            else:
                blocks.append([_strip_markdown(heading.group(2))])
            blocks.append([])
            continue
        if not raw.strip() or re.match(r"^\s*([-*_])\s*(\1\s*){2,}$", raw):
            blocks.append([])
            continue
        blocks[-1].append(_strip_markdown(raw))
    chunks = [
        "".join(block) if _is_cjk_block(block) else " ".join(block) for block in blocks if block
    ]
    if not title:
        if not chunks:
            raise RejectedInput(source, "empty file")
        title, chunks = chunks[0], chunks[1:]
    return RawArticle(
        title=clean_paragraph(title), paragraphs=_paragraphs(chunks), source_path=source
    )


def _is_cjk_block(lines: list[str]) -> bool:
    return any(re.search(r"[\u4e00-\u9fff]", line) for line in lines)


def _from_mapping(obj: object, source: str) -> RawArticle:
    if not isinstance(obj, dict):
        raise RejectedInput(source, "not a JSON object")
    title = obj.get("title")
    text = obj.get("text")
    if not isinstance(title, str) or not title.strip():
        raise RejectedInput(source, 'missing "title"')
    if not isinstance(text, str) or not text.strip():
        raise RejectedInput(source, 'missing "text"')
    url, published, origin = (
        str(value) if (value := obj.get(key)) not in (None, "") else None
        for key in ("url", "published", "source")
    )
    article = RawArticle(
        title=clean_paragraph(normalize(title)),
        paragraphs=_paragraphs(normalize(text).split("\n"), normalized=True),
        source_path=source,
        url=url,
        published=published,
        source=origin,
    )
    return _checked(article)


def _parse_json(text: str, source: str) -> Iterator[RawArticle | RejectedInput]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RejectedInput(source, f"malformed JSON (line {exc.lineno}: {exc.msg})") from exc
    items = data if isinstance(data, list) else [data]
    if not items:
        raise RejectedInput(source, "empty JSON list")
    for i, item in enumerate(items):
        where = source if len(items) == 1 else f"{source}[{i}]"
        try:
            yield _from_mapping(item, where)
        except RejectedInput as exc:
            yield exc


def _parse_jsonl(text: str, source: str) -> Iterator[RawArticle | RejectedInput]:
    seen = False
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        seen = True
        where = f"{source}:{lineno}"
        try:
            yield _from_mapping(json.loads(line), where)
        except json.JSONDecodeError as exc:
            yield RejectedInput(where, f"malformed JSON ({exc.msg})")
        except RecursionError:
            yield RejectedInput(where, "nested too deeply")
        except RejectedInput as exc:
            yield exc
    if not seen:
        yield RejectedInput(source, "empty file")


def iter_paths(paths: list[Path]) -> Iterator[Path | RejectedInput]:
    """Files named by ``paths`` (folders are walked recursively, in sorted order)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix.lower() in SUFFIXES
                    and not child.name.startswith(".")
                ):
                    yield child
        elif path.is_file():
            yield path
        else:
            yield RejectedInput(str(path), "no such file or folder")
