"""Look-up handlers: /search (and plain text), /region, /regions, /latest, /article, inline mode,
and the buttons that page through results or open an article."""

from __future__ import annotations

import base64
import binascii
import logging
import urllib.parse

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.ext import ContextTypes

from digests.errors import NotFound, QueryError
from digests.models import Hit, Results
from digests.pipeline import choose_summary, sentences_of
from digests.search import MAX_QUERY_CHARS, keyword_search, make_snippet, region_search
from digests.text import to_simplified, tokenize

from .admin import indexing_note
from .common import command_text, lang_for, send, services
from .i18n import t
from .render import MAX_MESSAGE, esc, render_article, render_hits

log = logging.getLogger(__name__)

PAGE = 5
INLINE_PAGE = 10


# -- building pages ----------------------------------------------------------------------------
def _keyboard(kind: str, key: str, results: Results, lang: str) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    opens = [
        InlineKeyboardButton(t(lang, "open", n=n), callback_data=f"a:{hit.article.id}")
        for n, hit in enumerate(results.hits, results.offset + 1)
    ]
    for i in range(0, len(opens), 3):
        rows.append(opens[i : i + 3])
    nav = []
    if results.offset > 0:
        prev = max(0, results.offset - PAGE)
        nav.append(InlineKeyboardButton(t(lang, "prev"), callback_data=f"p:{kind}:{key}:{prev}"))
    if results.offset + len(results.hits) < results.total:
        nxt = results.offset + PAGE
        nav.append(InlineKeyboardButton(t(lang, "next"), callback_data=f"p:{kind}:{key}:{nxt}"))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None


def _fit(text: str) -> str:
    """A results page must fit one message (it is edited in place)."""
    if len(text) <= MAX_MESSAGE:
        return text
    cut = text.rfind("\n\n", 0, MAX_MESSAGE - 2)
    return text[: cut if cut > 0 else MAX_MESSAGE - 2] + "\n…"


def search_page(
    context, query: str, offset: int, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = services(context)
    try:
        results = keyword_search(svc.store, query, limit=PAGE, offset=offset)
    except QueryError as exc:
        return esc(str(exc)), None
    if not results.hits:
        return t(lang, "no_results", query=esc(query)) + indexing_note(svc, lang), None
    total = f"{t(lang, 'about')}{results.total:,}" if results.approximate else results.total
    header = t(
        lang,
        "results_header",
        query=esc(query),
        total=total,
        first=offset + 1,
        last=offset + len(results.hits),
    )
    text = _fit(render_hits(header, results, lang, svc.region_labels))
    return text, _keyboard("s", svc.queries.put(query), results, lang)


def region_page(
    context, code: str, offset: int, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = services(context)
    found = region_search(svc.store, svc.gazetteer, "", code=code, limit=PAGE, offset=offset)
    path = " › ".join(p.name for p in svc.gazetteer.path(code)) or found.place.name
    results = found.results
    if not results.hits:
        return t(lang, "region_empty", place=esc(path)) + indexing_note(svc, lang), None
    header = t(
        lang,
        "region_header",
        place=esc(path),
        total=results.total,
        first=offset + 1,
        last=offset + len(results.hits),
    )
    text = _fit(render_hits(header, results, lang, svc.region_labels, show_mentions=True))
    return text, _keyboard("r", code, results, lang)


def latest_page(context, offset: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = services(context)
    total = svc.store.count()
    articles = svc.store.latest(PAGE, offset)
    if not articles:
        return t(lang, "empty_corpus") + indexing_note(svc, lang), None
    hits = [Hit(a, 0.0, make_snippet(a, [], width=60)) for a in articles]
    results = Results(hits=hits, total=total, offset=offset, limit=PAGE)
    header = t(lang, "latest_header", total=total, first=offset + 1, last=offset + len(hits))
    return _fit(render_hits(header, results, lang, svc.region_labels)), _keyboard(
        "l", "0", results, lang
    )


def article_card(context, article_id: str, lang: str, *, full: bool = False):
    svc = services(context)
    article = svc.store.get(article_id)
    if article is None:
        return t(lang, "article_missing", id=esc(article_id)), None
    sentences = None
    if full:
        sents = sentences_of(article.paragraphs)
        sentences = choose_summary(tokenize(to_simplified(article.title)), sents, 8, 800)
    text = render_article(article, lang, svc.region_labels(article.regions, 6), sentences=sentences)
    keyboard = None
    if not full:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t(lang, "full_summary"), callback_data=f"f:{article.id}")]]
        )
    return text, keyboard


# -- commands ---------------------------------------------------------------------------------
async def do_search(update: Update, context: ContextTypes.DEFAULT_TYPE, query: str) -> None:
    lang = lang_for(update, context)
    chat = update.effective_chat
    if not query:
        await send(context, chat.id, t(lang, "search_usage"))
        return
    notice = ""
    if len(query) > MAX_QUERY_CHARS:
        query = query[:MAX_QUERY_CHARS]
        notice = t(lang, "too_long_query", n=MAX_QUERY_CHARS) + "\n\n"
    text, keyboard = search_page(context, query, 0, lang)
    await send(context, chat.id, _fit(notice + text), keyboard)


async def search_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await do_search(update, context, command_text(update.effective_message))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await do_search(update, context, (update.effective_message.text or "").strip())


async def do_region(update: Update, context: ContextTypes.DEFAULT_TYPE, name: str) -> None:
    lang = lang_for(update, context)
    chat_id = update.effective_chat.id
    svc = services(context)
    if not name:
        await send(context, chat_id, t(lang, "region_usage"))
        return
    name = name[:40]
    resolution = svc.gazetteer.resolve(name)
    if not resolution.places:
        text = t(lang, "region_unknown", query=esc(name))
        keyboard = None
        if resolution.suggestions:
            text += "\n" + t(lang, "region_suggest")
            keyboard = _place_buttons(svc, resolution.suggestions)
        await send(context, chat_id, text, keyboard)
        return
    best, others = resolution.places[0], resolution.places[1:]
    nested = all(best.code in svc.gazetteer.ancestors(p.code) for p in others)
    if others and not nested:
        text = t(lang, "region_choose", query=esc(name))
        await send(context, chat_id, text, _place_buttons(svc, resolution.places))
        return
    # 喀什 → 喀什地区 (which contains 喀什市): show the wider place, offer the narrower ones.
    text, keyboard = region_page(context, best.code, 0, lang)
    if others:
        rows = list(keyboard.inline_keyboard) if keyboard else []
        rows += _place_buttons(svc, others).inline_keyboard
        keyboard = InlineKeyboardMarkup(rows)
    await send(context, chat_id, text, keyboard)


def place_label(svc, code: str) -> str:
    """``新疆 › 喀什地区 › 喀什市``-style label: short names for ancestors, full name last."""
    path = svc.gazetteer.path(code)[-3:]
    return " › ".join([p.short or p.name for p in path[:-1]] + [p.name for p in path[-1:]])


def _place_buttons(svc, places) -> InlineKeyboardMarkup:
    counts = svc.store.region_counts([p.code for p in places])
    rows = []
    for place in places[:8]:
        label = f"{place_label(svc, place.code)} ({counts.get(place.code, 0)})"
        rows.append([InlineKeyboardButton(label[:60], callback_data=f"p:r:{place.code}:0")])
    return InlineKeyboardMarkup(rows)


async def region_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await do_region(update, context, command_text(update.effective_message))


def browse_view(context, code: str, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The gazetteer node ``code`` ("" = top): its articles button and its children with counts."""
    svc = services(context)
    children = svc.gazetteer.children(code)
    counts = svc.store.region_counts([c.code for c in children] + ([code] if code else []))
    rows: list[list[InlineKeyboardButton]] = []
    title = t(lang, "regions_title")
    if code:
        place = svc.gazetteer.get(code)
        path = " › ".join(p.name for p in svc.gazetteer.path(code))
        title += "\n" + esc(path)
        rows.append(
            [
                InlineKeyboardButton(
                    t(
                        lang,
                        "regions_here",
                        place=place.name if place else code,
                        count=counts.get(code, 0),
                    ),
                    callback_data=f"p:r:{code}:0",
                )
            ]
        )
    # Places with articles first, then the rest in gazetteer order; at most 40 buttons.
    ordered = sorted(children, key=lambda c: -counts.get(c.code, 0))[:40]
    buttons = [
        InlineKeyboardButton(
            f"{c.short or c.name} ({counts.get(c.code, 0)})", callback_data=f"g:{c.code}"
        )
        for c in ordered
    ]
    for i in range(0, len(buttons), 3):
        rows.append(buttons[i : i + 3])
    if code:
        place = svc.gazetteer.get(code)
        parent = place.parents[0] if place and place.parents else ""
        rows.append([InlineKeyboardButton(t(lang, "regions_up"), callback_data=f"g:{parent}")])
    return title, InlineKeyboardMarkup(rows)


async def regions_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_for(update, context)
    text, keyboard = browse_view(context, "", lang)
    await send(context, update.effective_chat.id, text, keyboard)


async def latest_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_for(update, context)
    text, keyboard = latest_page(context, 0, lang)
    await send(context, update.effective_chat.id, text, keyboard)


async def article_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_for(update, context)
    ident = command_text(update.effective_message).split()
    if not ident:
        await send(context, update.effective_chat.id, t(lang, "article_usage"))
        return
    text, keyboard = article_card(context, ident[0][:40], lang)
    await send(context, update.effective_chat.id, text, keyboard)


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


async def start_with_payload(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str
) -> bool:
    decoded = decode_payload(payload)
    if decoded is None:
        return False
    kind, value = decoded
    if kind == "region":
        await do_region(update, context, value)
    elif kind == "search":
        await do_search(update, context, value)
    else:
        lang = lang_for(update, context)
        text, keyboard = article_card(context, value[:40], lang)
        await send(context, update.effective_chat.id, text, keyboard)
    return True


# -- buttons ------------------------------------------------------------------------------------
async def on_lookup_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``p:<kind>:<key>:<offset>`` pages, ``a:``/``f:`` open an article, ``g:`` browses places.

    The button press is answered last, once the message is updated."""
    query = update.callback_query
    lang = lang_for(update, context)
    kind, _, rest = (query.data or "").partition(":")
    if kind == "p":
        page = _page(context, rest, lang)
        if page is None:
            await query.answer(t(lang, "expired"), show_alert=True)
            return
        await query.edit_message_text(page[0], reply_markup=page[1])
    elif kind in ("a", "f"):
        text, keyboard = article_card(context, rest, lang, full=kind == "f")
        await send(context, update.effective_chat.id, text, keyboard)
    elif kind == "g":
        text, keyboard = browse_view(context, rest, lang)
        await query.edit_message_text(text, reply_markup=keyboard)
    await query.answer()


def _page(context, rest: str, lang: str):
    """The page a ``p:`` button asks for, or ``None`` when its query is no longer known."""
    sub, key, offset = _page_parts(rest)
    if sub == "s":
        text_query = services(context).queries.get(key)
        return None if text_query is None else search_page(context, text_query, offset, lang)
    if sub == "r":
        try:
            return region_page(context, key, offset, lang)
        except NotFound:
            return None
    return latest_page(context, offset, lang)


def _page_parts(rest: str) -> tuple[str, str, int]:
    sub, _, tail = rest.partition(":")
    key, _, offset = tail.rpartition(":")
    try:
        return sub, key, max(0, int(offset))
    except ValueError:
        return sub, key, 0


# -- inline mode --------------------------------------------------------------------------------
async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    inline = update.inline_query
    svc = services(context)
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
    except QueryError:
        await inline.answer([], cache_time=5)
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
