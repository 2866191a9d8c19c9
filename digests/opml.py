"""OPML: reading a subscription list (nested outlines, custom titles) and writing the sources.

Reading uses defusedxml, so a document type with entities (billion laughs, XXE) is refused rather
than expanded. Conventions of the other Telegram RSS bots are accepted: RSS-to-Telegram-Bot and
flowerss nest outlines in categories and keep a custom name in ``text`` and the feed's in
``title``; the custom name wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from .errors import DigestError
from .models import Source


class OpmlError(DigestError):
    """The file is not a readable OPML document."""


@dataclass
class Outline:
    url: str
    name: str | None


def read_opml(data: bytes) -> list[Outline]:
    """Every outline with an ``xmlUrl`` (at any depth), in document order, without repeats."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OpmlError(f"refused: the OPML declares entities ({type(exc).__name__})") from None
    except ParseError as exc:
        raise OpmlError(f"not valid OPML/XML ({exc})") from None
    if root.tag.lower() != "opml":
        raise OpmlError("not an OPML document (no <opml> root)")
    found: list[Outline] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        name = (outline.get("text") or outline.get("title") or "").strip() or None
        found.append(Outline(url, name))
    return found


def write_opml(sources: list[Source], title: str = "digestbot sources") -> bytes:
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    body = SubElement(root, "body")
    for source in sources:
        attrs = {"text": source.name, "title": source.name, "xmlUrl": source.url}
        attrs["type"] = "rss" if source.kind == "feed" else source.kind
        SubElement(body, "outline", attrs)
    document: bytes = tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + document
