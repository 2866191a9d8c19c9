"""Telegram-HTML parser/validator: turns ``parse_mode="HTML"`` text into (text, entities).

A port of TDLib's ``parse_html`` (the code the Bot API server runs), including its error
messages and byte offsets, plus the newer tags (spoiler, blockquote, custom emoji).  Entity
offsets and lengths are in UTF-16 code units, like Telegram's.

Deliberate difference: by default (``strict_amp=True``) an ``&`` that does not start one of the
supported entities (``&lt; &gt; &amp; &quot; &#NN; &#xNN;``) is an error.  Real Telegram keeps
such an ``&`` literally; being stricter catches escaping bugs before they hit real users.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

Entity = dict[str, Any]  # a Bot API MessageEntity

__all__ = [
    "HtmlParseError",
    "auto_entities",
    "finalize_text",
    "parse_html",
    "sort_entities",
    "utf16_len",
]

_SPACES = " \t\r\n\v\0"
_START_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "pre",
        "code",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is Telegram's reason."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram's offsets count)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """TDLib's ``decode_html_entity``: (character or None, position after the entity)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    if at(pos + 1) == "#":
        end += 1
        value = 0
        if at(pos + 2) == "x":
            end += 1
            while at(end) in "0123456789abcdefABCDEF" and at(end) != "\0":
                value = value * 16 + int(at(end), 16)
                end += 1
        else:
            while at(end).isascii() and at(end).isdigit():
                value = value * 10 + int(at(end))
                end += 1
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None, pos
        char = chr(value)
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED:
            return None, pos
        char = _NAMED[name]
    if at(end) == ";":
        end += 1
    return char, end


def _check_url(url: str) -> str | None:
    """A normalised URL as Telegram stores it in text_link entities, or None if invalid."""
    url = url.strip()
    if not url or any(ch in url for ch in " \t\n<>"):
        return None
    if "://" not in url and not url.startswith(("tg:", "ton:", "mailto:")):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("tg", "ton", "mailto"):
        return url
    if scheme not in ("http", "https", "ftp"):
        return None
    host = parts.hostname or ""
    if not host or not re.fullmatch(r"[A-Za-z0-9\-._~\u0080-\U0010ffff]+", host):
        return None
    if "." not in host and host != "localhost":
        return None
    if not parts.path and not parts.query and not parts.fragment:
        url += "/"
    return url


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Sort like Telegram: by offset, then longer (outer) entities first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def parse_html(text: str, *, strict_amp: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML; return the visible text and Bot API entity dicts.

    Raises :class:`HtmlParseError` with Telegram's wording (without the
    ``"Bad Request: can't parse entities: "`` prefix).
    """
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def byte_offset(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    out: list[str] = []
    u16 = 0
    # (tag name, argument, utf16 offset, index into out)
    stack: list[tuple[str, str, int, int]] = []
    raw: list[Entity] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            char, end = _decode_entity(text, i)
            if char is not None:
                out.append(char)
                u16 += 2 if ord(char) > 0xFFFF else 1
                i = end
                continue
            if strict_amp:
                m = re.match(r"&#?[A-Za-z0-9]*;?", text[i:])
                token = m.group(0) if m else "&"
                if token == "&" or not token.endswith(";"):
                    raise HtmlParseError(
                        f'Character "&" must be escaped as "&amp;" at byte offset {byte_offset(i)}'
                    )
                raise HtmlParseError(
                    f'Unsupported HTML entity "{token}" at byte offset {byte_offset(i)}'
                )
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # start tag
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _START_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attr = text[attr_begin:i].lower()
                if not attr:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        argument = "expandable"
                        continue
                    if i >= n:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {byte_offset(begin)}"
                        )
                    raise HtmlParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-") and i < n:
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise HtmlParseError(
                            "Unexpected end of name token at byte offset "
                            f"{byte_offset(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            char, end = _decode_entity(text, i)
                            if char is not None:
                                value_chars.append(char)
                                i = end
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if (
                    (tag == "a" and attr == "href")
                    or (tag == "span" and attr == "class")
                    or (tag == "tg-emoji" and attr == "emoji-id")
                ):
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
            if tag == "span" and argument != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            if tag == "tg-emoji" and not (argument.isascii() and argument.isdigit()):
                raise HtmlParseError(
                    f'Tag "tg-emoji" must have a valid "emoji-id" attribute at byte offset '
                    f"{byte_offset(begin)}"
                )
            stack.append((tag, argument, u16, len(out)))
            i += 1  # skip '>'
            continue

        # end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        name_begin = i
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[name_begin:i].lower()
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        tag, argument, offset, out_index = stack.pop()
        if end_name and end_name != tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = u16 - offset
        if length <= 0:
            continue
        raw.append(_make_entity(tag, argument, offset, length, "".join(out[out_index:]), raw))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    result = "".join(out)
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from None
    entities = [e for e in raw if e.get("type") not in ("", "_code_lang")]
    for e in entities:
        if e["type"] == "code":
            e.pop("language", None)
    # code entities inside pre are dropped, like Telegram does
    pres = [e for e in entities if e["type"] == "pre"]
    entities = [
        e
        for e in entities
        if e["type"] != "code"
        or not any(
            p["offset"] <= e["offset"] and e["offset"] + e["length"] <= p["offset"] + p["length"]
            for p in pres
        )
    ]
    return result, sort_entities(entities)


def _make_entity(
    tag: str, argument: str, offset: int, length: int, inner: str, done: list[Entity]
) -> Entity:
    """Build the Bot API entity for a closed tag (may rewrite the previous entity for pre)."""
    if tag in _SIMPLE:
        return {"type": _SIMPLE[tag], "offset": offset, "length": length}
    if tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": argument,
        }
    if tag == "a":
        url = argument or inner
        m = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if m:
            return {
                "type": "text_mention",
                "offset": offset,
                "length": length,
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            }
        checked = _check_url(url)
        if checked is None:
            return {"type": ""}
        return {"type": "text_link", "offset": offset, "length": length, "url": checked}
    if tag == "pre":
        prev = done[-1] if done else None
        if (
            prev is not None
            and prev["type"] == "code"
            and prev["offset"] == offset
            and prev["length"] == length
            and prev.get("language")
        ):
            language = prev.pop("language")
            prev["type"] = "_code_lang"
            return {"type": "pre", "offset": offset, "length": length, "language": language}
        return {"type": "pre", "offset": offset, "length": length}
    # code
    entity = {"type": "code", "offset": offset, "length": length}
    if argument:
        entity["language"] = argument
    return entity


_TLDS = (
    "com|org|net|io|ru|cn|uk|de|jp|me|info|app|dev|gov|edu|tw|hk|co|us|fr|it|es|nl|eu|ai|"
    "tv|xyz|site|online|top|biz|int|mil|kr|in|br|ca|au|ch|se|no|pl|ua|by|kz|sg|mo|tech|news"
)
_AUTO_PATTERNS = (
    (
        "bot_command",
        re.compile(r"(?<![\w/\\<>@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])"),
    ),
    (
        "url",
        re.compile(
            r"(?<![\w@/.:-])(?:(?:https?|ftp)://[^\s<>\"]+|(?:[A-Za-z0-9-]+\.)+(?:"
            + _TLDS
            + r")(?![A-Za-z0-9-])(?::\d{1,5})?(?:/[^\s<>\"]*)?)",
            re.IGNORECASE,
        ),
    ),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{2,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#&])#(?=\w*[^\W\d])\w{1,256}")),
)


def auto_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram detects by itself: bot_command, url, mention, hashtag.

    Matches overlapping an existing entity of type code/pre/text_link, or an
    earlier match, are skipped.
    """
    blocked: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing or []
        if e["type"] in ("code", "pre", "text_link", "text_mention")
    ]
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            matched = m.group(0)
            if kind == "url":
                matched = matched.rstrip(".,;:!?)'\"")
                if not matched:
                    continue
            start = utf16_len(text[: m.start()])
            end = start + utf16_len(matched)
            if any(start < b and a < end for a, b in blocked):
                continue
            blocked.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sort_entities(found)


def finalize_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace as Telegram does, fixing entity offsets."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed: list[Entity] = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, total)
        if end <= start:
            continue
        fixed.append({**e, "offset": start, "length": end - start})
    return result, sort_entities(fixed)
