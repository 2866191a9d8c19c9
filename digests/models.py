"""Plain data classes shared by the engine's modules (no behaviour beyond small helpers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class AnalyzedArticle:
    """An article ready to be stored: text plus everything derived from it."""

    id: str
    content_hash: str
    title: str
    paragraphs: list[str]
    summary: list[str]
    keywords: list[str]
    regions: dict[str, int]
    title_index: str
    body_index: str
    title_grams: str  # CJK character pairs (:func:`digests.text.cjk_grams`) of the title
    body_grams: str  # … and of the body, both from the simplified text
    chars: int
    source_path: str = ""
    url: str | None = None
    published: str | None = None
    source: str | None = None


@dataclass
class Article:
    """A stored article as the rest of the product sees it."""

    id: str
    title: str
    paragraphs: list[str]
    summary: list[str]
    keywords: list[str]
    regions: dict[str, int]
    added_at: str
    content_hash: str
    seq: int = 0
    url: str | None = None
    published: str | None = None
    source: str | None = None
    source_path: str = ""
    also_reported: list[str] = field(default_factory=list)  # other sources of the same story

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not full:
            data.pop("paragraphs")
        return data


@dataclass
class Hit:
    """One search result: the article, its score and a snippet split into marked pieces."""

    article: Article
    score: float
    snippet: list[tuple[str, bool]] = field(default_factory=list)

    def snippet_text(self, open_mark: str = "【", close_mark: str = "】") -> str:
        return "".join(f"{open_mark}{s}{close_mark}" if marked else s for s, marked in self.snippet)


@dataclass
class Results:
    """A page of results and the total number of matches."""

    hits: list[Hit]
    total: int
    offset: int = 0
    limit: int = 5
    terms: list[str] = field(default_factory=list)
    approximate: bool = False  # ``total`` is an estimate (very common words)


@dataclass
class Chat:
    """A private chat, group or channel the bot talks to, with its settings."""

    chat_id: int
    type: str
    title: str | None = None
    username: str | None = None
    language: str | None = None
    mode: str = "instant"
    timezone: str = "Asia/Shanghai"
    status: str = "active"
    status_reason: str | None = None
    quiet: str | None = None  # quiet hours "23:00-07:00" (digests.modes.Quiet)


@dataclass
class Subscription:
    """A chat's standing request for new articles; no keywords and no regions = everything."""

    id: int
    chat_id: int
    keywords: list[str]
    regions: list[str]
    mode: str = "instant"
    since_seq: int = 0
    created_at: str = ""
    thread_id: int | None = None  # made inside a forum topic: delivered there
    paused: str | None = None  # why delivery to it stopped (a closed topic), None = active

    @property
    def is_everything(self) -> bool:
        return not self.keywords and not self.regions


@dataclass
class Delivery:
    """One row of the delivery ledger: an article for a chat."""

    id: int
    chat_id: int
    seq: int
    mode: str
    status: str
    due_at: float
    attempts: int = 0
    message_id: int | None = None
    error: str | None = None
    thread_id: int | None = None  # a forum topic (message_thread_id)
    unsure: int = 0  # sends whose fate Telegram left unknown (timeouts, stops)


@dataclass
class Source:
    """A feed or page polled into the corpus (see :mod:`digests.sources`)."""

    id: int
    url: str
    kind: str  # "feed" | "listing" | "page"
    name: str
    etag: str | None = None
    last_modified: str | None = None
    interval: float = 1800.0
    next_due: float = 0.0
    failures: int = 0
    failing_since: float | None = None
    last_error: str | None = None
    last_success: float | None = None
    last_checked: float | None = None
    items: int = 0
    status: str = "active"  # "active" | "paused" | "disabled"
    baseline_done: bool = False
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
