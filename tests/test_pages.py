"""Page builders take ``Services`` (no Telegram), engine errors carry codes rendered per language,
one engine call makes a summary of N sentences, one renderer draws an article."""

from __future__ import annotations

import pytest

from bot import buttons
from bot.config import Settings
from bot.i18n import ZH, error_text, page_span, tn
from bot.lookup import article_card, browse_view, latest_page, region_page, search_page
from bot.render import render_article
from bot.services import Services
from bot.subscribe import settings_view, subscriptions_view
from digests.errors import FilterError, NotFound, QueryError
from digests.pipeline import summary_of
from digests.regions import load_gazetteer
from digests.search import keyword_search
from digests.store import Store

from .conftest import GRASSROOTS_TITLE


@pytest.fixture
def svc(seeded: Store) -> Services:
    return Services(store=seeded, gazetteer=load_gazetteer(), settings=Settings(token=None))


def _datas(keyboard) -> list[str]:
    return [b.callback_data for row in keyboard.inline_keyboard for b in row]


def test_page_builders_need_no_telegram(svc: Services) -> None:
    text, keyboard = search_page(svc, "第一书记", 0, "zh")
    assert GRASSROOTS_TITLE in text and "共 2 篇，第 1–2 篇" in text
    assert all(buttons.parse(d) is not None for d in _datas(keyboard))
    text, _ = search_page(svc, "阜康市", 0, "en")
    assert ": 1 article, 1\n" in text and "1 articles" not in text
    text, keyboard = latest_page(svc, 0, "zh")
    assert "共 2 篇，第 1–2 篇" in text
    text, keyboard = article_card(svc, svc.store.latest(1)[0].id, "zh")
    assert buttons.parse(_datas(keyboard)[0]) == buttons.OpenArticle(
        svc.store.latest(1)[0].id, full=True
    )
    text, keyboard = browse_view(svc, "650000", "zh")
    assert "新疆" in text and buttons.Browse("") in [buttons.parse(d) for d in _datas(keyboard)]
    text, keyboard = subscriptions_view(svc, 1, "en")
    assert keyboard is None and "No subscriptions" in text
    text, keyboard = settings_view(svc, 1, "zh")
    assert buttons.SetMode("daily 08:00") in [buttons.parse(d) for d in _datas(keyboard)]
    with pytest.raises(NotFound):
        region_page(svc, "999999", 0, "zh")


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "query_empty"), ("-兵团", "query_only_exclusions"), ("的", "query_only_common"),
     ("？！。", "query_no_words")],
)  # fmt: skip
def test_query_errors_carry_codes_and_speak_the_users_language(
    svc: Services, query: str, code: str
) -> None:
    with pytest.raises(QueryError) as info:
        keyword_search(svc.store, query)
    assert info.value.code == code
    zh = error_text("zh", info.value)
    assert zh == search_page(svc, query, 0, "zh")[0]
    assert not any(c.isascii() and c.isalpha() for c in zh), zh  # no English for a Chinese user
    assert error_text("en", info.value) != zh


def test_every_engine_error_code_has_both_languages() -> None:
    from bot.i18n import EN
    from digests.errors import MESSAGES

    for code in MESSAGES:
        assert f"err_{code}" in ZH and f"err_{code}" in EN, code


def test_error_values_are_escaped() -> None:
    text = error_text("zh", FilterError("unknown_region", term="<b>火星", suggestions=[]))
    assert "&lt;b&gt;火星" in text


def test_counts_and_spans_in_both_languages() -> None:
    assert tn("en", "n_articles", 1) == "1 article"
    assert tn("en", "n_articles", 12345) == "12,345 articles"
    assert tn("zh", "n_articles", 1) == "1 篇"
    assert page_span("zh", 1, 1) == "第 1 篇" and page_span("zh", 1, 5) == "第 1–5 篇"
    assert page_span("en", 6, 6) == "6"


def test_summary_of_n_sentences(svc: Services) -> None:
    article = svc.store.latest(1)[0]
    for n in (1, 3, 8):
        summary = summary_of(article.title, article.paragraphs, n)
        assert 1 <= len(summary) <= n
        assert all(s in article.body for s in summary)  # verbatim sentences
    text, _ = article_card(svc, article.id, "zh", full=True)
    for sentence in summary_of(article.title, article.paragraphs, 8):
        assert sentence.replace("&", "&amp;").replace("<", "&lt;") in text


def test_one_renderer_for_cards_and_digest_blocks(svc: Services) -> None:
    article = svc.store.latest(1)[0]
    card = render_article(article, "zh", ["喀什地区"])
    block = render_article(article, "zh", ["喀什地区"], number=3, compact=True)
    assert block.startswith(f"<b>3. {article.title}</b>\n· ")
    assert "\n\n" not in block and "ID" not in block and "ID " + article.id in card
    assert "地区：喀什地区" in block and "地区：喀什地区" in card


def test_no_english_template_says_1_things() -> None:
    """Every English string with a number reads right for 1 (``1 articles`` was the bug)."""
    import re
    import string

    from bot.i18n import EN

    for key, template in EN.items():
        if f"{key}_one" in EN:  # plural forms chosen by bot.i18n.tn
            continue
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        numeric = {"n", "count", "total", "pending", "chats", "dead", "added", "duplicates",
                   "rejected", "sent", "skipped", "articles", "subscribers", "paused"}  # fmt: skip
        values = {name: "1" if name in numeric else "X" for name in names}
        text = template.format(**values)
        assert not re.search(r"(?<![@\w])1 [a-z]+s\b", text), (key, text)
        assert not re.search(r"第 1–1 篇", ZH.get(key, "").format(**values)), key


def test_handlers_get_the_typed_context(svc: Services) -> None:
    from bot.app import build_application
    from bot.common import BotContext

    from .botkit import TOKEN

    app = build_application(svc, token=TOKEN, base_url="http://127.0.0.1:9/bot")
    assert app.context_types.context is BotContext
    context = BotContext(app)
    assert context.services is svc and context.sender is app.bot_data["sender"]


def test_every_rejection_reason_reads_in_chinese() -> None:
    """Each reason digests/formats.py and digests/ingest.py give (read from their source) has a
    Chinese wording for an administrator's upload report."""
    import re
    from pathlib import Path

    from bot.i18n import rejection_text

    root = Path(__file__).resolve().parents[1] / "digests"
    source = (root / "formats.py").read_text("utf-8") + (root / "ingest.py").read_text("utf-8")
    literals = re.findall(r"""RejectedInput\([^,]+, f?(?:"([^"]*)"|'([^']*)')""", source)
    reasons = [(double or single).split("{")[0] for double, single in literals]
    assert len(reasons) >= 15
    for reason in reasons:
        text = rejection_text("zh", reason.strip())
        assert re.search(r"[\u4e00-\u9fff]", text), reason
        assert rejection_text("en", reason) == reason
