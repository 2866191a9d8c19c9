"""Look-up handlers: /search (and plain text), /region, /regions, /latest, /article, inline mode,
and the buttons that page through results or open an article."""

from __future__ import annotations

import base64
import binascii
import html
import logging
import re
import urllib.parse
from typing import TYPE_CHECKING, Literal

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)

from digests.errors import NotFound, QueryError
from digests.models import Hit, Results
from digests.search import MAX_QUERY_CHARS, keyword_search, make_snippet, region_search

from . import buttons
from .admin import indexing_note
from .common import BotContext, chat_id_of, command_text, edit_view, lang_for, send
from .i18n import error_text, page_span, t, tn
from .render import MAX_MESSAGE, esc, render_article, render_hits
from .services import Services

if TYPE_CHECKING:
    from digests.regions import Place

log = logging.getLogger(__name__)

PAGE = 5
INLINE_PAGE = 10
INLINE_BUTTON_CHARS = 64  # the button shows one short line
FULL_SUMMARY_SENTENCES = 8

View = tuple[str, InlineKeyboardMarkup | None]
PageKind = Literal["s", "r", "l"]


# -- building pages (Services in, text and keyboard out: no Telegram call) ------------------------
def _button(text: str, button: buttons.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=buttons.encode(button))


def _keyboard(kind: PageKind, key: str, results: Results, lang: str) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    opens = [
        _button(t(lang, "open", n=n), buttons.OpenArticle(hit.article.id))
        for n, hit in enumerate(results.hits, results.offset + 1)
    ]
    for i in range(0, len(opens), 3):
        rows.append(opens[i : i + 3])
    nav = []
    if results.offset > 0:
        prev = max(0, results.offset - PAGE)
        nav.append(_button(t(lang, "prev"), buttons.Page(kind, key, prev)))
    nxt = results.offset + PAGE
    if results.offset + len(results.hits) < results.total and nxt <= buttons.MAX_OFFSET:
        nav.append(_button(t(lang, "next"), buttons.Page(kind, key, nxt)))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def _fit(text: str) -> str:
    """A results page must fit one message (it is edited in place)."""
    if len(text) <= MAX_MESSAGE:
        return text
    cut = text.rfind("\n\n", 0, MAX_MESSAGE - 2)
    return text[: cut if cut > 0 else MAX_MESSAGE - 2] + "\n…"


def _count(lang: str, results: Results) -> str:
    count = tn(lang, "n_articles", results.total)
    return t(lang, "about") + count if results.approximate else count


def search_page(svc: Services, query: str, offset: int, lang: str) -> View:
    try:
        results = keyword_search(svc.store, query, limit=PAGE, offset=offset)
    except QueryError as exc:
        return error_text(lang, exc), None
    if not results.hits:
        return t(lang, "no_results", query=esc(query)) + indexing_note(svc, lang), None
    header = t(
        lang,
        "results_header",
        query=esc(query),
        count=_count(lang, results),
        span=page_span(lang, offset + 1, offset + len(results.hits)),
    )
    text = _fit(render_hits(header, results, lang, svc.region_labels))
    return text, _keyboard("s", svc.queries.put(query), results, lang)


def region_page(svc: Services, code: str, offset: int, lang: str) -> View:
    """A page of the articles in the place ``code`` (``NotFound`` for an unknown code)."""
    found = region_search(svc.store, svc.gazetteer, "", code=code, limit=PAGE, offset=offset)
    path = " › ".join(p.name for p in svc.gazetteer.path(code)) or code
    results = found.results
    if not results.hits:
        return t(lang, "region_empty", place=esc(path)) + indexing_note(svc, lang), None
    header = t(
        lang,
        "region_header",
        place=esc(path),
        count=_count(lang, results),
        span=page_span(lang, offset + 1, offset + len(results.hits)),
    )
    text = _fit(render_hits(header, results, lang, svc.region_labels, show_mentions=True))
    return text, _keyboard("r", code, results, lang)


def latest_page(svc: Services, offset: int, lang: str) -> View:
    """The newest articles by publication date (the day they were stored when they have none)."""
    total = svc.store.count()
    articles = svc.store.latest(PAGE, offset)
    if not articles:
        return t(lang, "empty_corpus") + indexing_note(svc, lang), None
    hits = [Hit(a, 0.0, make_snippet(a, [], width=60)) for a in articles]
    results = Results(hits=hits, total=total, offset=offset, limit=PAGE)
    header = t(
        lang,
        "latest_header",
        count=tn(lang, "n_articles", total),
        span=page_span(lang, offset + 1, offset + len(hits)),
    )
    return _fit(render_hits(header, results, lang, svc.region_labels)), _keyboard(
        "l", "", results, lang
    )


def article_card(svc: Services, article_id: str, lang: str, *, full: bool = False) -> View:
    article = svc.store.get(article_id)
    if article is None:
        return t(lang, "article_missing", id=esc(article_id)), None
    sentences = None
    if full:
        from digests.pipeline import summary_of  # the summarizer is loaded when first used

        sentences = summary_of(article.title, article.paragraphs, FULL_SUMMARY_SENTENCES)
    text = render_article(article, lang, svc.region_labels(article.regions, 6), sentences=sentences)
    keyboard = None
    if not full:
        keyboard = InlineKeyboardMarkup(
            [[_button(t(lang, "full_summary"), buttons.OpenArticle(article.id, full=True))]]
        )
    return text, keyboard


def place_label(svc: Services, code: str) -> str:
    """``新疆 › 喀什地区 › 喀什市``-style label: short names for ancestors, full name last."""
    path = svc.gazetteer.path(code)[-3:]
    return " › ".join([p.short or p.name for p in path[:-1]] + [p.name for p in path[-1:]])


def place_buttons(svc: Services, places: list[Place]) -> InlineKeyboardMarkup:
    counts = svc.store.region_counts([p.code for p in places])
    rows = []
    for place in places[:8]:
        label = f"{place_label(svc, place.code)} ({counts.get(place.code, 0)})"
        rows.append([_button(label[:60], buttons.Page("r", place.code, 0))])
    return InlineKeyboardMarkup(rows)


def region_view(svc: Services, name: str, lang: str) -> View:
    """What ``/region name`` answers: the place's first page, a choice, or suggestions."""
    if not name:
        return t(lang, "region_usage"), None
    name = name[:40]
    resolution = svc.gazetteer.resolve(name)
    if not resolution.places:
        text = t(lang, "region_unknown", query=esc(name))
        keyboard = None
        if resolution.suggestions:
            text += "\n" + t(lang, "region_suggest")
            keyboard = place_buttons(svc, resolution.suggestions)
        return text, keyboard
    best, others = resolution.places[0], resolution.places[1:]
    nested = all(best.code in svc.gazetteer.ancestors(p.code) for p in others)
    if others and not nested:
        return t(lang, "region_choose", query=esc(name)), place_buttons(svc, resolution.places)
    # 喀什 → 喀什地区 (which contains 喀什市): show the wider place, offer the narrower ones.
    text, keyboard = region_page(svc, best.code, 0, lang)
    if others:
        rows = list(keyboard.inline_keyboard) if keyboard else []
        rows += place_buttons(svc, others).inline_keyboard
        keyboard = InlineKeyboardMarkup(rows)
    return text, keyboard


def browse_view(svc: Services, code: str, lang: str) -> View:
    """The gazetteer node ``code`` ("" = top): its articles button and its children with counts."""
    children = svc.gazetteer.children(code)
    counts = svc.store.region_counts([c.code for c in children] + ([code] if code else []))
    rows: list[list[InlineKeyboardButton]] = []
    title = t(lang, "regions_title")
    place = svc.gazetteer.get(code) if code else None
    if place is not None:
        path = " › ".join(p.name for p in svc.gazetteer.path(code))
        title += "\n" + esc(path)
        here = t(lang, "regions_here", place=place.name, count=counts.get(code, 0))
        rows.append([_button(here, buttons.Page("r", code, 0))])
    # Places with articles first, then the rest in gazetteer order; at most 40 buttons.
    ordered = sorted(children, key=lambda c: -counts.get(c.code, 0))[:40]
    browse = [
        _button(f"{c.short or c.name} ({counts.get(c.code, 0)})", buttons.Browse(c.code))
        for c in ordered
    ]
    for i in range(0, len(browse), 3):
        rows.append(browse[i : i + 3])
    if place is not None:
        parent = place.parents[0] if place.parents else ""
        rows.append([_button(t(lang, "regions_up"), buttons.Browse(parent))])
    return title, InlineKeyboardMarkup(rows)


# -- commands ---------------------------------------------------------------------------------
async def do_search(update: Update, context: BotContext, query: str) -> None:
    lang = lang_for(update, context)
    chat_id = chat_id_of(update)
    if not query:
        await send(context, chat_id, t(lang, "search_usage"))
        return
    notice = ""
    if len(query) > MAX_QUERY_CHARS:
        query = query[:MAX_QUERY_CHARS]
        notice = t(lang, "too_long_query", n=MAX_QUERY_CHARS) + "\n\n"
    text, keyboard = search_page(context.services, query, 0, lang)
    await send(context, chat_id, _fit(notice + text), keyboard)


async def search_cmd(update: Update, context: BotContext) -> None:
    await do_search(update, context, command_text(update.effective_message))


async def plain_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    await do_search(update, context, ((message.text if message else None) or "").strip())


async def do_region(update: Update, context: BotContext, name: str) -> None:
    text, keyboard = region_view(context.services, name, lang_for(update, context))
    await send(context, chat_id_of(update), text, keyboard)


async def region_cmd(update: Update, context: BotContext) -> None:
    await do_region(update, context, command_text(update.effective_message))


async def regions_cmd(update: Update, context: BotContext) -> None:
    text, keyboard = browse_view(context.services, "", lang_for(update, context))
    await send(context, chat_id_of(update), text, keyboard)


async def latest_cmd(update: Update, context: BotContext) -> None:
    text, keyboard = latest_page(context.services, 0, lang_for(update, context))
    await send(context, chat_id_of(update), text, keyboard)


async def article_cmd(update: Update, context: BotContext) -> None:
    lang = lang_for(update, context)
    ident = command_text(update.effective_message).split()
    if not ident:
        await send(context, chat_id_of(update), t(lang, "article_usage"))
        return
    text, keyboard = article_card(context.services, ident[0][:40], lang)
    await send(context, chat_id_of(update), text, keyboard)


def inline_button(html_text: str, query: str) -> InlineQueryResultsButton:
    """The button above an empty inline answer: ``html_text`` as plain text (Telegram shows at
    most one line), opening a private chat with the same search when the query fits a deep link
    (``start`` parameters are at most 64 characters of ``A-Za-z0-9_-``)."""
    plain = " ".join(html.unescape(re.sub(r"<[^>]+>", "", html_text)).split())
    payload = "search-" + base64.urlsafe_b64encode(query.encode()).decode().rstrip("=")
    return InlineQueryResultsButton(
        text=plain[:INLINE_BUTTON_CHARS], start_parameter=payload if len(payload) <= 64 else "help"
    )


# -- deep links ---------------------------------------------------------------------------------
def decode_payload(payload: str) -> tuple[str, str] | None:
    """``region-喀什`` / ``search-<base64url>`` / ``article-ID`` → (kind, value)."""
    kind, sep, value = payload.partition("-")
    if not sep or kind not in ("region", "search", "article") or not value:
        return None
    value = urllib.parse.unquote(value)
    if kind != "article" and value.isascii():
        try:
            decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
            if decoded and not decoded.isascii():
                value = decoded
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return kind, value


async def start_with_payload(update: Update, context: BotContext, payload: str) -> bool:
    decoded = decode_payload(payload)
    if decoded is None:
        return False
    kind, value = decoded
    if kind == "region":
        await do_region(update, context, value)
    elif kind == "search":
        await do_search(update, context, value)
    else:
        text, keyboard = article_card(context.services, value[:40], lang_for(update, context))
        await send(context, chat_id_of(update), text, keyboard)
    return True


# -- buttons ------------------------------------------------------------------------------------
async def on_lookup_button(update: Update, context: BotContext) -> None:
    """Pages, article cards and gazetteer browsing (see ``bot.buttons``).

    The button press is answered last, once the message is updated."""
    query = update.callback_query
    if query is None:
        return
    lang = lang_for(update, context)
    svc = context.services
    button = buttons.parse(query.data)
    if isinstance(button, buttons.Page):
        page = _page(svc, button, lang)
        if page is None:
            await query.answer(t(lang, "expired"), show_alert=True)
            return
        await edit_view(query, *page)
    elif isinstance(button, buttons.OpenArticle):
        text, keyboard = article_card(svc, button.article_id, lang, full=button.full)
        await send(context, chat_id_of(update), text, keyboard)
    elif isinstance(button, buttons.Browse):
        if button.code and svc.gazetteer.get(button.code) is None:
            await query.answer(t(lang, "button_invalid"), show_alert=True)
            return
        text, keyboard = browse_view(svc, button.code, lang)
        await edit_view(query, text, keyboard)
    else:  # the pattern let through only look-up buttons
        await query.answer(t(lang, "button_invalid"), show_alert=True)
        return
    await query.answer()


def _page(svc: Services, button: buttons.Page, lang: str) -> View | None:
    """The page a ``Page`` button asks for, or ``None`` when its query is no longer known."""
    if button.kind == "s":
        text_query = svc.queries.get(button.key)
        return None if text_query is None else search_page(svc, text_query, button.offset, lang)
    if button.kind == "r":
        try:
            return region_page(svc, button.key, button.offset, lang)
        except NotFound:
            return None
    return latest_page(svc, button.offset, lang)


# -- inline mode --------------------------------------------------------------------------------
async def on_inline(update: Update, context: BotContext) -> None:
    inline = update.inline_query
    if inline is None:
        return
    svc = context.services
    lang = lang_for(update, context)
    text = inline.query.strip()[:MAX_QUERY_CHARS]
    try:
        offset = max(0, int(inline.offset or 0))
    except ValueError:
        offset = 0
    if not text:
        await inline.answer([], cache_time=5)
        return
    try:
        results = keyword_search(svc.store, text, limit=INLINE_PAGE, offset=offset)
    except QueryError as exc:  # the reason, where a list would be, and a way into the chat
        await inline.answer([], cache_time=5, button=inline_button(error_text(lang, exc), text))
        return
    if not results.hits and offset == 0:
        why = t(lang, "no_results", query=esc(text))
        await inline.answer([], cache_time=5, button=inline_button(why, text))
        return
    answers = []
    for hit in results.hits:
        art = hit.article
        card = render_article(art, lang, svc.region_labels(art.regions))
        answers.append(
            InlineQueryResultArticle(
                id=art.id,
                title=art.title[:100],
                description=hit.snippet_text("", "")[:120],
                input_message_content=InputTextMessageContent(card[:MAX_MESSAGE]),
            )
        )
    more = offset + len(results.hits) < results.total
    await inline.answer(
        answers, cache_time=30, next_offset=str(offset + INLINE_PAGE) if more else ""
    )
