"""What OpenCC's ``t2s`` conversion can change, read from its own dictionaries.

:func:`digests.text.to_simplified` skips OpenCC for a text that holds nothing ``t2s`` would
change, which is most texts (simplified Chinese, or no Chinese at all). What ``t2s`` can change
is derived here from the dictionaries of the installed OpenCC (dumped by the ``opencc_dict``
program its wheel ships), and shipped as ``digests/data/t2s.json``:

* ``changes_alone`` — every character whose own entry maps it to something else (the CJK
  compatibility ideographs of the normalisation step, ``TSCharacters``, ``TSCharactersExt``;
  OpenCC takes an entry's first value);
* ``changing_phrases`` — the phrases of ``TSPhrases`` that map to something else and hold none of
  those characters (回覆 → 回复: 覆 alone stays 覆).

OpenCC replaces the longest dictionary key at each place, and every key that changes something
is either one of those characters, a phrase holding one, or one of those phrases: a text with
none of them comes out of ``t2s`` as it went in. ``tests/test_simplified.py`` derives the data
again from the installed OpenCC and compares; ``python -m digests.t2sdata`` rewrites the file
(after an OpenCC upgrade).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).parent / "data" / "t2s.json"
#: the dictionaries of OpenCC's t2s.json, normalisation first
CHARACTER_DICTS = ("CJK_Compatibility_Ideographs", "TSCharacters", "TSCharactersExt")
PHRASE_DICT = "TSPhrases"


def load() -> tuple[str, list[str]]:
    """The shipped ``changes_alone`` and ``changing_phrases``."""
    data = json.loads(DATA.read_text("utf-8"))
    return data["changes_alone"], data["changing_phrases"]


def opencc_dir() -> Path:
    """Where the installed OpenCC keeps its program and dictionaries."""
    import opencc

    return Path(opencc.__file__).parent / "clib"


def _entries(clib: Path, name: str, work: Path) -> Iterator[tuple[str, str]]:
    """(key, the value OpenCC uses) of one dictionary, dumped as text by ``opencc_dict``."""
    out = work / f"{name}.txt"
    subprocess.run(
        [str(clib / "bin" / "opencc_dict"), "-i", str(clib / "share" / "opencc" / f"{name}.ocd2"),
         "-o", str(out), "-f", "ocd2", "-t", "text"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    for line in out.read_text("utf-8").splitlines():
        if line:
            key, values = line.split("\t")
            yield key, values.split(" ")[0]


def derive(clib: Path | None = None) -> dict[str, object]:
    """``changes_alone`` and ``changing_phrases`` of the installed OpenCC (module docstring)."""
    clib = clib or opencc_dir()
    with tempfile.TemporaryDirectory() as tmp:
        alone = {
            char
            for name in CHARACTER_DICTS
            for key, value in _entries(clib, name, Path(tmp))
            if value != key
            for char in key
        }
        phrases = sorted(
            key
            for key, value in _entries(clib, PHRASE_DICT, Path(tmp))
            if value != key and alone.isdisjoint(key)
        )
    return {"changes_alone": "".join(sorted(alone)), "changing_phrases": phrases}


def main() -> None:  # pragma: no cover - run by hand after an OpenCC upgrade
    DATA.write_text(json.dumps(derive(), ensure_ascii=False, indent=0) + "\n", "utf-8")
    print(f"wrote {DATA}")


if __name__ == "__main__":  # pragma: no cover
    main()
