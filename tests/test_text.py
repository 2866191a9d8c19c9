"""Sentence splitting, normalisation, simplified/traditional folding and index terms."""

from __future__ import annotations

from digests.text import (
    cjk_grams,
    clean_paragraph,
    gram_phrase,
    index_terms,
    is_cjk,
    is_subheading,
    normalize,
    split_sentences,
    to_simplified,
    tokenize,
)


def test_split_on_chinese_terminal_punctuation() -> None:
    text = "第一句。第二句！第三句？第四句；第五句……最后"
    assert split_sentences(text) == [
        "第一句。",
        "第二句！",
        "第三句？",
        "第四句；",
        "第五句……",
        "最后",
    ]


def test_split_is_verbatim() -> None:
    text = "夜已深，但灯还亮着，一天的忙碌还未结束……韩岩虎这个连长，是职工投票选出来的。"
    assert "".join(split_sentences(text)) == text


def test_closing_quote_stays_with_its_sentence() -> None:
    text = "他说：“可不敢辜负了大伙儿的信任！”大家都笑了。"
    assert split_sentences(text) == ["他说：“可不敢辜负了大伙儿的信任！”", "大家都笑了。"]


def test_no_split_inside_a_balanced_quotation() -> None:
    text = "“农忙时，他们在地里指导生产；农闲时，他们在职工家里。”说起连队，职工赞不绝口。"
    sentences = split_sentences(text)
    assert sentences[0] == "“农忙时，他们在地里指导生产；农闲时，他们在职工家里。”"
    for sentence in sentences:
        assert sentence.count("“") == sentence.count("”")


def test_unbalanced_quotes_fall_back_to_plain_splitting() -> None:
    text = "他说：“第一句。第二句。"
    assert split_sentences(text) == ["他说：“第一句。", "第二句。"]


def test_normalize_nfc_bom_zero_width_and_spaces() -> None:
    decomposed = "Cafe\u0301"
    assert normalize("\ufeff" + decomposed + "\u200b  x\r\ny") == "Café x\ny"


def test_normalize_collapses_spaces_line_by_line() -> None:
    """The one-pass collapse equals collapsing and stripping each line alone (texts with nothing
    to change, which take the short path, and texts with everything)."""
    import random
    import re
    import unicodedata

    hspace = re.compile(r"[ \t\u00a0\u2002-\u200a\u202f\u205f]+")
    rng = random.Random(5)
    invisible = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")
    alphabet = ["兵", "团", "a", " ", "\t", "\u00a0", "\u2003", "\u3000", "\n", "\r", "\u200b"]
    alphabet += ["\ufeff", "\u00ad", "\u205f", "\u202f", "\u200a", "\u2060", "e", "\u0301"]
    plain = ["兵", "团", "a", " ", "\n", "\u3000", "e", "\u0301"]
    for i in range(4000):
        chars = alphabet if i % 2 else plain  # half of them without what the scan looks for
        text = "".join(rng.choice(chars) for _ in range(rng.randrange(0, 30)))
        if i % 4 == 1:
            text = f" {text}" if i % 8 == 1 else f"{text} "
        lines = invisible.sub("", unicodedata.normalize("NFC", text))
        lines = lines.replace("\r\n", "\n").replace("\r", "\n")
        expected = "\n".join(hspace.sub(" ", line).strip(" ") for line in lines.split("\n"))
        assert normalize(text) == expected, repr(text)


def test_clean_paragraph_strips_fullwidth_and_cjk_gaps() -> None:
    assert clean_paragraph("\u3000\u3000兵团 精神  传承 ") == "兵团 精神 传承"
    assert clean_paragraph("2020 年 GDP 增长") == "2020 年 GDP 增长"


def test_subheading_detection() -> None:
    assert is_subheading("当好“贴心人”")
    assert is_subheading("搭起“连心桥”")
    assert not is_subheading("党组织是基层治理的龙头。")


def test_traditional_folds_to_simplified() -> None:
    assert to_simplified("兵團第六師喀什地區") == "兵团第六师喀什地区"


def test_tokenize_drops_whitespace_and_index_terms_drop_punctuation() -> None:
    tokens = tokenize("第一书记， 驻村工作队。")
    assert "第一书记" in tokens and " " not in tokens
    assert index_terms(tokens) == " ".join(t for t in tokens if t not in "，。")


def test_cjk_grams_are_pairs_closed_by_the_last_character() -> None:
    assert cjk_grams("第六师，兵团 abc 一〇二团。好") == "第六 六师 师 兵团 团 一〇 〇二 二团 团 好"
    assert cjk_grams("COVID-19") == ""
    assert gram_phrase("第一书记") == ["第一", "一书", "书记"]
    assert is_cjk("六师") and not is_cjk("六 师") and not is_cjk("G7")


def test_cjk_grams_scan_is_the_run_by_run_pairs() -> None:
    """The interleaved build gives what pairing each CJK run's neighbours (and closing the run with
    its last character) gives, on random mixes of CJK (every range), punctuation, Latin and
    line breaks."""
    import random
    import re
    from itertools import pairwise

    run_re = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

    def by_runs(text: str) -> str:
        parts: list[str] = []
        for run in run_re.findall(text):
            parts += [a + b for a, b in pairwise(run)]
            parts.append(run[-1])
        return " ".join(parts)

    rnd = random.Random(7)
    pool = "中文第六师〇\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\u33ff\ufb00ab1 ，。\n\u3000"
    texts = ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 40))) for _ in range(3000)]
    for text in texts:
        assert cjk_grams(text) == by_runs(text), text


def test_fast_and_careful_splitters_agree_without_quotes(monkeypatch) -> None:
    """Quote-free paragraphs take a one-regex path; it must cut exactly where the loop does."""
    import random

    import digests.text as text_module

    rng = random.Random(3)
    alphabet = "兵团新疆职工培训，、。！？；…!?;）》 a1"
    paragraphs = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(500)
    ]
    fast = [split_sentences(p) for p in paragraphs]
    monkeypatch.setattr(text_module, "_has_quote_mark", lambda text: True)  # force the loop
    careful = [split_sentences(p) for p in paragraphs]
    assert fast == careful


def test_quote_marks_are_found_in_any_text() -> None:
    """The quotation-mark check (substring searches) knows every mark the splitter nests."""
    from digests.text import _OPEN_CLOSE, _has_quote_mark

    for mark in [*_OPEN_CLOSE, *_OPEN_CLOSE.values()]:
        assert _has_quote_mark(f"兵团{mark}新疆"), mark
    assert not _has_quote_mark('兵团职工说：不错。（新疆）"a"')


def test_quoted_splitter_follows_the_depth_rule() -> None:
    """Paragraphs with quotation marks (balanced, crossed, unclosed; runs of enders with closing
    quotes and brackets) are cut where the rule says: a run of enders (+ closers) ends a sentence
    at quotation depth 0, or at depth 1 when its first closer closes the outermost quotation; if
    the marks do not nest, every run ends a sentence."""
    import random
    import re

    opener_of = {"”": "“", "」": "「", "』": "『", "’": "‘"}

    def nests(text: str) -> bool:
        stack: list[str] = []
        for ch in text:
            if ch in opener_of.values():
                stack.append(ch)
            elif ch in opener_of and (not stack or stack.pop() != opener_of[ch]):
                return False
        return not stack

    def by_rule(text: str) -> list[str]:
        quoted = nests(text)
        pieces, start = [], 0
        for m in re.finditer(r"[。！？；…!?;]+([”’」』）)》\"']*)", text):
            before = text[: m.start()]
            depth = sum(map(before.count, "“「『‘")) - sum(map(before.count, "”」』’"))
            closers = m.group(1)
            if not quoted or depth == 0 or (depth == 1 and closers[:1] in opener_of):
                pieces.append(text[start : m.end()])
                start = m.end()
        pieces.append(text[start:])
        return [p.strip() for p in pieces if p.strip()]

    rng = random.Random(11)

    def paragraph() -> str:  # quotations opened and closed in order, sometimes crossed or left open
        out: list[str] = []
        stack: list[str] = []
        for _ in range(rng.randint(1, 14)):
            roll = rng.random()
            if roll < 0.2:
                stack.append(rng.choice("“「『‘"))
                out.append(stack[-1])
            elif roll < 0.35 and stack:
                out.append({"“": "”", "「": "」", "『": "』", "‘": "’"}[stack.pop()])
            elif roll < 0.6:
                out.append(rng.choice("。！？；…!?;") * rng.randint(1, 2))
                out.append("".join(rng.choice("”’」』）)》\"'") for _ in range(rng.randint(0, 2))))
            else:
                out.append(
                    "".join(rng.choice("兵团新疆说：，  a") for _ in range(rng.randint(1, 5)))
                )
        if rng.random() < 0.8:
            out += [{"“": "”", "「": "」", "『": "』", "‘": "’"}[q] for q in reversed(stack)]
        return "".join(out)

    paragraphs = [paragraph() for _ in range(5000)]
    paragraphs += ["他说：“好。”我说：「行！」", "“一。“二。”三。”四。", "‘甲。’）乙；"]
    balanced = sum(nests(p) and any(q in p for q in "“「『‘") for p in paragraphs)
    assert 1000 < balanced < len(paragraphs) - 500
    for paragraph in paragraphs:
        assert split_sentences(paragraph) == by_rule(paragraph), paragraph


def test_sentence_spans_are_the_paragraph_by_paragraph_split() -> None:
    """sentence_spans (quote-free paragraphs cut and stripped in place by one regex, only a
    paragraph's last piece checked for final punctuation) gives what splitting each paragraph
    (a subheading whole) and finding each piece in it gives, on generated paragraphs: enders and
    closers in runs, balanced and broken quotations, whitespace of every kind around and inside
    the pieces, short paragraphs (subheadings), empty ones and line breaks inside one."""
    import random

    from digests.text import ends_with_terminal, sentence_spans

    def by_paragraph(paragraphs: list[str]) -> tuple[list[str], list[int], list[int]]:
        texts: list[str] = []
        bounds: list[int] = []
        unfinished: list[int] = []
        offset = 0
        for paragraph in paragraphs:
            heading = is_subheading(paragraph)
            cursor = 0
            for piece in [paragraph] if heading else split_sentences(paragraph):
                start = paragraph.find(piece, cursor)
                cursor = start + len(piece)
                if heading or not ends_with_terminal(piece):
                    unfinished.append(len(texts))
                texts.append(piece)
                bounds += [offset + start, offset + cursor]
            offset += len(paragraph) + 1
        return texts, bounds, unfinished

    rng = random.Random(5)
    alphabet = ["兵团", "新疆", "职工", "，", "a1", " ", "\u3000", "\t", "\n"]
    alphabet += [*"。！？；…!?;", *"”’」』）)》\"'", *"“「『‘"]

    def paragraph() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 3, 8, 20, 40, 80])))

    articles = [[paragraph() for _ in range(rng.randint(1, 6))] for _ in range(3000)]
    articles.append(["小标题", "他说：“好。”我说：「行！」 ", "  ", "", "无标点 的 一段"])
    pieces = 0
    for paragraphs in articles:
        expected = by_paragraph(paragraphs)
        assert sentence_spans(paragraphs, "\n".join(paragraphs)) == expected, paragraphs
        pieces += len(expected[0])
    assert pieces > 10_000


def test_cjk_grams_of_long_texts_are_the_run_by_run_pairs() -> None:
    """Texts of a body's length take the vectorised path (numpy); it gives what the run-by-run
    build gives, on random mixes of CJK (every range and its neighbours), punctuation, Latin,
    line breaks, NUL, characters past the BMP and a lone surrogate, short and long."""
    import random

    from digests.text import _VECTORISED_GRAMS, _cjk_grams_by_runs, _cjk_grams_vectorised

    rnd = random.Random(9)
    pool = "中文第六师〇\u3006\u3008\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\u33ff\u4dc0\ufb00"
    pool += "ab1 ，。\n\u3000\0\U00020000\ud800"
    sizes = [0, 1, 2, 3, 40, _VECTORISED_GRAMS - 1, _VECTORISED_GRAMS, 700]
    for size in sizes * 300:
        text = "".join(rnd.choice(pool) for _ in range(size))
        expected = _cjk_grams_by_runs(text)
        assert _cjk_grams_vectorised(text) == expected == cjk_grams(text), text
    long = "第六师，兵团。" * 50
    assert cjk_grams(long) == " ".join(["第六 六师 师 兵团 团"] * 50)
