"""to_simplified skips OpenCC only for texts t2s would not change (digests/t2sdata.py)."""

from __future__ import annotations

import json
import random

import opencc
import pytest

from digests import t2sdata
from digests.text import to_simplified

from .conftest import SEEDS


@pytest.fixture(scope="module")
def t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def test_the_shipped_data_is_what_the_installed_opencc_can_change() -> None:
    """Derived again from the installed OpenCC's own dictionaries: after an OpenCC upgrade this
    fails until ``python -m digests.t2sdata`` has rewritten the file."""
    if not (t2sdata.opencc_dir() / "bin" / "opencc_dict").exists():
        pytest.skip("this OpenCC build ships no opencc_dict program")
    shipped = json.loads(t2sdata.DATA.read_text("utf-8"))
    assert shipped == t2sdata.derive()
    assert len(shipped["changes_alone"]) > 4000 and len(shipped["changing_phrases"]) > 50


def test_every_character_opencc_changes_alone_is_listed(t2s: opencc.OpenCC) -> None:
    """Every character of the BMP and of the compatibility supplement, converted alone (one
    call, each on its own line so that no phrase spans two)."""
    chars = [
        chr(c) for c in [*range(0x80, 0xD800), *range(0xE000, 0x10000), *range(0x2F800, 0x2FA20)]
    ]
    converted = t2s.convert("\n".join(chars)).split("\n")
    assert len(converted) == len(chars)
    changed = {c for c, out in zip(chars, converted, strict=True) if out != c}
    listed = set(t2sdata.load()[0])
    assert changed and changed <= listed


def test_texts_come_out_as_opencc_makes_them(t2s: opencc.OpenCC) -> None:
    """Texts with nothing to change (returned without OpenCC) and texts with a character, a
    phrase or a character past the BMP to change, mixed at random with plain text."""
    changes_alone, phrases = t2sdata.load()
    rng = random.Random(11)
    plain = list("兵团第一师阿拉尔市新疆喀什莎车县的工作取得新进展，。！ a1")
    changers = list(changes_alone[:: len(changes_alone) // 300])
    texts = [p.read_text("utf-8") for p in SEEDS[:3]]
    for i in range(3000):
        pieces = [rng.choice(plain) for _ in range(rng.randrange(1, 40))]
        if i % 3 == 1:
            pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(changers))
        elif i % 3 == 2:
            pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(phrases))
        texts.append("".join(pieces))
    texts += ["回覆", "反反覆覆", "覆盖", "想像", "\U0002f800", "乾隆", "乾燥"]
    skipped = 0
    for text in texts:
        assert to_simplified(text) == t2s.convert(text), text
        skipped += to_simplified(text) is text
    assert skipped > 900  # the plain third took the short path
    assert to_simplified("覆盖") == "覆盖" and to_simplified("回覆") == "回复"


def test_a_lean_process_asks_opencc_without_compiling_the_searches(monkeypatch) -> None:
    """The bot (lean) keeps its memory: the searches (~0.7 MB compiled) are never built there."""
    from digests import numeric, text

    def refuse() -> None:
        raise AssertionError("compiled in a lean process")

    monkeypatch.setattr(text, "_t2s_changes", refuse)
    lean = numeric.is_lean()
    numeric.set_lean(True)
    try:
        assert to_simplified("回覆兵团") == "回复兵团" and to_simplified("兵团") == "兵团"
    finally:
        numeric.set_lean(lean)
    with pytest.raises(AssertionError, match="compiled"):
        to_simplified("兵团")  # not lean: the searches are asked first
