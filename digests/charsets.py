"""Decoding fetched feeds and pages: which encoding, from where, and the GBK family folded.

The declared encoding is looked for in order: the HTTP ``Content-Type`` charset, a byte-order mark,
the XML prolog, an HTML ``<meta charset>`` / ``http-equiv`` in the first 4 KB. Chinese sites often
declare nothing at all, or declare ``gb2312`` while using GBK characters: every GB name is read as
GB18030 (a superset), and a body that declares nothing and is not valid UTF-8 is read as GB18030
when that decodes cleanly (charset-normalizer's guess otherwise).
"""

from __future__ import annotations

import codecs
import re

_GB = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "ms936", "euc-cn", "gb_2312-80", "csgb2312"}
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_META = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE
)  # <meta charset=...> and <meta http-equiv content="text/html; charset=...">


def normalise_name(name: str | None) -> str | None:
    """A Python codec name for a declared charset, or ``None`` when unknown."""
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB:
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_encoding(body: bytes, header_charset: str | None = None) -> str | None:
    """The encoding the response declares (header, BOM, XML prolog, meta), normalised."""
    found = normalise_name(header_charset)
    if found:
        return found
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = body[:4096]
    for pattern in (_XML_DECL, _META):
        match = pattern.search(head)
        if match:
            found = normalise_name(match.group(1).decode("ascii", "replace"))
            if found:
                return found
    return None


def decode_body(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """(text, encoding used): the declared encoding, else UTF-8, else GB18030, else a guess.

    A declared encoding that fails on the bytes (a "gb2312" page in UTF-8, it happens) falls
    back to the undeclared rules; decoding never raises (unreadable bytes become U+FFFD).
    """
    declared = declared_encoding(body, header_charset)
    candidates = [declared] if declared else []
    candidates += ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.removeprefix("\ufeff"), encoding
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    encoding = best.encoding if best is not None else "utf-8"
    return body.decode(encoding, errors="replace"), encoding


def to_utf8_xml(body: bytes, header_charset: str | None = None) -> bytes:
    """XML bytes re-encoded as UTF-8 with the prolog saying so (for the feed parser)."""
    text, _ = decode_body(body, header_charset)
    text = re.sub(
        r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[\w.:-]+([\"'])",
        r"\1utf-8\2",
        text,
        count=1,
        flags=re.IGNORECASE,
    )
    return text.encode("utf-8")
