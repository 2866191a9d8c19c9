"""The word index's folded forms: an ``ascii`` index of :func:`index_form` holds exactly the
tokens a ``unicode61 remove_diacritics 2`` index made of the words themselves, and a
``unicode61`` index (a database from before schema version 14) reads the forms unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from digests.formats import RawArticle
from digests.ingest import ingest, remove
from digests.search import keyword_search
from digests.store import MIGRATIONS, Store
from digests.wordindex import index_form, unicode61_tokens

UNICODE61 = "unicode61 remove_diacritics 2"


def sqlite_tokens(tokenizer: str, texts: list[str]) -> list[list[str]]:
    """Each of ``texts`` as an FTS5 table with ``tokenizer`` holds it."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{tokenizer}')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", enumerate(texts, 1))
    found: list[list[str]] = [[] for _ in texts]
    for doc, term in conn.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
        found[doc - 1].append(term)
    conn.close()
    return found


def _words(chars: list[str]) -> list[str]:
    """Tokens as jieba could hand them over: the character alone, doubled, between letters and
    between Chinese characters."""
    return [w for c in chars for w in (c, c + c, f"a{c}B", f"兵{c}团")]


BMP = [chr(i) for i in range(1, 0x10000) if not 0xD800 <= i <= 0xDFFF]


def test_ascii_index_of_the_forms_holds_what_unicode61_made_of_the_words() -> None:
    words = _words(BMP)
    expected = sqlite_tokens(UNICODE61, words)
    assert sqlite_tokens("ascii", [index_form(w) for w in words]) == expected
    assert [unicode61_tokens(w) for w in words] == expected


def test_unicode61_index_reads_the_forms_unchanged() -> None:
    words = _words(BMP)
    assert sqlite_tokens(UNICODE61, [index_form(w) for w in words]) == sqlite_tokens(
        UNICODE61, words
    )


@pytest.mark.parametrize(
    ("word", "form"),
    [
        ("兵团", "兵团"),  # Chinese words come back as they are (the usual case)
        ("COVID-19", "COVID-19"),  # ASCII too: the ascii tokenizer cuts and lowercases it
        ("Café", "cafe"),
        ("ＣＢＡ", "ｃｂａ"),  # full-width letters are lowercased, not made ASCII
        ("阿卜杜拉·买买提", "阿卜杜拉 买买提"),  # the middle dot separates
        ("。", ""),
        ("😀", ""),  # outside the BMP, a symbol: a separator
        ("\U00020000", "\U00020000"),  # CJK extension B is a letter
    ],
)
def test_index_form(word: str, form: str) -> None:
    assert index_form(word) == form


def test_new_database_has_an_ascii_word_index(tmp_path: Path) -> None:
    with Store(tmp_path / "new.db") as store:
        assert "tokenize='ascii'" in _word_index_sql(store)


def _word_index_sql(store: Store) -> str:
    row = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_fts'").fetchone()
    return str(row[0])


ARTICLE = RawArticle(
    title="COVID-19疫情期间的iPhone手机",
    paragraphs=["兵团职工在Café里讨论COVID-19疫情和新款iPhone手机的价格。" * 2],
)


@pytest.mark.parametrize("old", [False, True])
def test_words_are_found_in_either_kind_of_word_index(tmp_path: Path, old: bool) -> None:
    path = tmp_path / "w.db"
    if old:  # a database made before version 14, holding an article
        _database_at_version_13_with_an_article(path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE.title + "\n\n" + ARTICLE.paragraphs[0], "utf-8")
    with Store(path) as store:
        assert ("unicode61" in _word_index_sql(store)) is old
        ingest(store, [folder], workers=1)
        for query in ("covid", "COVID-19", '"iPhone手机"', "IPHONE", "caf", "CAF"):
            hits = keyword_search(store, query).hits
            assert [h.article.title for h in hits] == [ARTICLE.title], query
        assert remove(store, hits[0].article.id) is not None
        assert keyword_search(store, "iphone").hits == []
        assert store.fts_count('"iphone"') == 0  # removed with the tokens it was stored with


def _database_at_version_13_with_an_article(path: Path) -> None:
    """The schema as version 13 left it, with one article stored (so version 14 keeps its
    ``unicode61`` word index)."""
    from sqlite_utils import Database

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    db = Database(conn)
    for number, migration in enumerate(MIGRATIONS[:13]):
        with conn:
            migration(db)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    conn.execute(
        "INSERT INTO articles (id, content_hash, title, body, added_at) "
        "VALUES ('x', 'y', 'old', '旧文章', '2026-01-01T00:00:00+00:00')"
    )
    conn.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (1, 'old', '旧 文章')")
    conn.commit()
    conn.close()
