"""Reading every supported format and encoding, and rejecting bad files with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digests.errors import RejectedInput
from digests.formats import MAX_FILE_BYTES, RawArticle, iter_paths, read_file

from .conftest import PARTY_TITLE, SEEDS

BODY = "红色基因，流淌在兵团人的血脉里。兵团人不忘初心使命，传承红色基因。"


def read_one(path: Path) -> RawArticle:
    items = list(read_file(path))
    assert len(items) == 1
    assert isinstance(items[0], RawArticle), items[0]
    return items[0]


def rejection(path: Path) -> str:
    items = list(read_file(path))
    assert len(items) == 1 and isinstance(items[0], RejectedInput), items
    return items[0].reason


def test_seed_format_title_paragraphs_and_subheadings() -> None:
    art = read_one(next(p for p in SEEDS if p.name.startswith("000")))
    assert art.title == PARTY_TITLE
    assert "当好“贴心人”" in art.paragraphs
    assert art.paragraphs[0].startswith("红色基因")
    assert not any(p.startswith("\u3000") or p.endswith("\u3000") for p in art.paragraphs)


def test_plain_multiline_text(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text(
        "\n\n  标题在这里  \n\n\u3000\u3000第一段。" + BODY + "\n第二段。" + BODY + "\n", "utf-8"
    )
    art = read_one(f)
    assert art.title == "标题在这里"
    assert art.paragraphs == ["第一段。" + BODY, "第二段。" + BODY]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    f = tmp_path / f"{encoding}.txt"
    f.write_bytes(("兵团新闻\u3000\u3000" + BODY).encode(encoding))
    art = read_one(f)
    assert art.title == "兵团新闻"
    assert art.paragraphs == [BODY]


def test_nfc_normalisation(tmp_path: Path) -> None:
    f = tmp_path / "nfc.txt"
    f.write_text("Cafe\u0301 新闻\u3000\u3000" + BODY, "utf-8")
    assert read_one(f).title == "Café 新闻"


def test_markdown(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text(
        f"# 兵团 **新闻**\n\n{BODY}\n\n## 小标题\n\n- 列表里的[一句话](http://x)。\n\n```\ncode\n```\n",
        "utf-8",
    )
    art = read_one(f)
    assert art.title == "兵团 新闻"
    assert art.paragraphs == [BODY, "小标题", "列表里的一句话。"]


def test_json_object_and_list(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    obj = {
        "title": "标题",
        "text": BODY + "\n" + BODY,
        "url": "https://example.org/a",
        "published": "2021-06-01",
    }
    f.write_text(json.dumps(obj, ensure_ascii=False), "utf-8")
    art = read_one(f)
    assert (art.title, art.url, art.published) == ("标题", "https://example.org/a", "2021-06-01")
    assert art.paragraphs == [BODY, BODY]
    g = tmp_path / "list.json"
    g.write_text(json.dumps([obj, {"title": "无正文"}], ensure_ascii=False), "utf-8")
    items = list(read_file(g))
    assert isinstance(items[0], RawArticle)
    assert isinstance(items[1], RejectedInput) and "text" in items[1].reason


def test_json_text_cleaned_as_every_other_format(tmp_path: Path) -> None:
    """A JSON body is normalised once as a whole; its paragraphs must come out exactly as
    cleaning each one alone gives (spaces, invisible characters, separators, CR, NBSP, tabs)."""
    from digests.text import clean_paragraph

    messy = [
        " \u3000 一段，\t有\u00a0空格\u200b的文字。  \u3000\u3000  第二段 \u3000",
        "\r\n\u3000\u3000\u3000第三段\ufeff。 ",
        "cafe\u0301 \u2003 和  e\u0301。\u3000\u3000",
        " \u3000  ",
        BODY,
    ]
    f = tmp_path / "messy.json"
    f.write_text(json.dumps({"title": "题", "text": "\n".join(messy)}, ensure_ascii=False))
    expected = [
        cleaned
        for line in "\n".join(messy).replace("\r\n", "\n").split("\n")
        for piece in line.split("\u3000\u3000")
        if (cleaned := clean_paragraph(piece))
    ]
    assert read_one(f).paragraphs == expected
    assert "café 和 é。" in expected and "第三段。" in expected


def test_jsonl_bad_line_rejected_alone(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    good = json.dumps({"title": "一", "text": BODY}, ensure_ascii=False)
    f.write_text(good + "\n{not json\n\n" + good.replace("一", "二") + "\n", "utf-8")
    items = list(read_file(f))
    assert [type(i).__name__ for i in items] == ["RawArticle", "RejectedInput", "RawArticle"]
    assert items[1].source.endswith(":2") and "malformed JSON" in items[1].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (bytes(range(1, 32)) * 20, "binary"),
        ("只有标题".encode(), "no body"),
        (b'{"title": "x", "text": ', "malformed JSON"),
    ],
)
def test_bad_files_rejected_with_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    f = tmp_path / ("bad.json" if content.startswith(b"{") else "bad.txt")
    f.write_bytes(content)
    assert reason in rejection(f)


def test_undecodable_bytes(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(b"\xff\xfe\xfd" * 5 + "正文".encode() + b"\x81\x20\xfe\xff" * 10)
    assert rejection(f)  # some reason, never an exception


def test_too_large(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_bytes(("标题\u3000\u3000" + "很长。" * (MAX_FILE_BYTES // 6)).encode("utf-8"))
    assert "too large" in rejection(f)


def test_iter_paths_walks_folders_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.txt", "sub/a.md", "c.jsonl", "skip.pdf", ".hidden.txt"):
        (tmp_path / name).write_text("x", "utf-8")
    found = list(iter_paths([tmp_path, tmp_path / "missing.txt"]))
    names = [p.name for p in found if isinstance(p, Path)]
    assert names == ["b.txt", "c.jsonl", "a.md"]
    assert isinstance(found[-1], RejectedInput) and "no such file" in found[-1].reason
