"""Tests for TF-IDF keyword extraction and the compact IDF table (digests.keywords)."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

from digests.keywords import Idf, extract_keywords, load_stopwords

from .conftest import SEEDS, read_seed

SEED_FILES = SEEDS

TEXT = (
    "我们的城市正在推进垃圾分类工作。垃圾分类需要每一位市民参与，"
    "社区志愿者在垃圾分类投放点指导居民。2024年，垃圾分类覆盖率达到90%。"
    "我们也在推广可回收物的回收利用，回收利用率不断提高。"
)


def test_stopwords_file() -> None:
    stopwords = load_stopwords()
    assert len(stopwords) >= 300
    assert {"的", "了", "和", "是", "在", "我们", "他们", "没有", "一个", "the"} <= stopwords
    assert load_stopwords() is stopwords  # cached


def test_filters_stopwords_single_chars_numbers_and_long_tokens() -> None:
    tokens = [*jieba.lcut(TEXT), "超级超级超级长的一个词语"]
    keywords = extract_keywords(tokens, top_k=50)
    stopwords = load_stopwords()
    assert keywords
    assert not set(keywords) & stopwords
    assert all(2 <= len(k) <= 8 for k in keywords)
    assert "2024" not in keywords and "90%" not in keywords
    assert keywords[0] == "垃圾"  # jieba: 垃圾 / 分类


def test_deterministic_and_top_k() -> None:
    tokens = jieba.lcut(TEXT)
    first = extract_keywords(tokens, top_k=5)
    assert len(first) == 5
    assert all(extract_keywords(tokens, top_k=5) == first for _ in range(3))
    assert extract_keywords(tokens, top_k=3) == first[:3]
    assert extract_keywords(tokens, top_k=0) == []
    assert extract_keywords([]) == []


def test_ties_break_on_first_occurrence() -> None:
    idf = Idf.from_pairs([("苹果", 5.0), ("香蕉", 5.0), ("橙子", 5.0)])
    assert extract_keywords(["香蕉", "苹果", "橙子"], idf) == ["香蕉", "苹果", "橙子"]


def test_title_boost() -> None:
    idf = Idf.from_pairs([("苹果", 5.0), ("香蕉", 5.0)])
    tokens = ["苹果", "香蕉"]
    assert extract_keywords(tokens, idf) == ["苹果", "香蕉"]
    assert extract_keywords(tokens, idf, title_tokens=["香蕉"]) == ["香蕉", "苹果"]


def _plain_ranking(counts: dict[str, int], idf: Idf, title: list[str]) -> list[str]:
    """``counts``' terms by count × idf (× TITLE_BOOST in the title), a stable sort: the
    definition rank_keywords' fast paths must agree with."""
    from digests.keywords import TITLE_BOOST

    scores = {t: c * idf(t) for t, c in counts.items()}
    for t in set(title) & set(scores):
        scores[t] *= TITLE_BOOST
    return sorted(scores, key=lambda t: -scores[t])  # stable: first occurrence first


def test_ranking_is_a_stable_sort_by_tf_idf_with_the_title_boost() -> None:
    """rank_keywords picks what a stable sort of {term: count × idf (× boost)} begins with, on
    many ties (few distinct idf values and counts) and title terms, for every top_k."""
    import random

    from digests import keywords
    from digests.keywords import rank_keywords

    rng = random.Random(7)
    words = [f"词{i}" for i in range(60)]
    idf = Idf.from_pairs((w, rng.choice([2.0, 3.5, 3.5, 7.0])) for w in words[:40])
    for _ in range(200):
        counts = {w: rng.choice([1, 1, 2, 3]) for w in rng.sample(words, rng.randint(1, 50))}
        title = rng.sample(words, rng.randint(0, 6))
        expected = _plain_ranking(counts, idf, title)
        for top_k in (1, 3, 8, len(counts) + 2):
            assert rank_keywords(counts, idf, top_k=top_k, title_tokens=title) == expected[:top_k]
    assert keywords.rank_keywords({}, idf) == [] and rank_keywords(counts, idf, top_k=0) == []


def test_terms_seen_once_are_left_out_only_when_they_cannot_rank() -> None:
    """rank_keywords ranks the terms seen more than once (and the title's) first and leaves the
    terms seen once out when the top_k-th of those beats every idf; on generated counts, most
    of them seen once, with ties and title terms, it gives the plain stable sort's answer both
    when it leaves them out (fewer idf look-ups) and when it cannot."""
    import random

    from digests.keywords import rank_keywords

    rng = random.Random(11)
    words = [f"词{i}" for i in range(80)]
    shortcuts = 0
    for case in range(400):
        values = [1.0, 2.0, 4.0, 4.0, 8.0] if case % 2 else [1.5, 3.0, 6.0]
        idf = Idf.from_pairs((w, rng.choice(values)) for w in words[:60])
        picked = rng.sample(words, rng.randint(1, 70))
        counts = {w: rng.choice([1, 1, 1, 1, 2, 3, 5]) for w in picked}
        title = rng.sample(words, rng.randint(0, 5))
        expected = _plain_ranking(counts, idf, title)
        for top_k in (1, 2, 8, len(counts) + 1):
            idf._memo.clear()
            assert rank_keywords(counts, idf, top_k=top_k, title_tokens=title) == expected[:top_k]
            shortcuts += len(idf._memo) < len(counts)  # some terms seen once were never scored
    assert shortcuts > 200


def test_idf_survives_pickling_and_its_memo_starts_afresh_when_full(monkeypatch) -> None:
    """A process pool under spawn pickles the table; the memo of looked-up terms is bounded."""
    import pickle

    from digests import keywords

    idf = Idf.from_pairs([("苹果", 5.0), ("香蕉", 3.0), ("橙子", 1.0)])
    assert idf("苹果") == 5.0
    copy = pickle.loads(pickle.dumps(idf))
    assert [copy(t) for t in ("苹果", "香蕉", "橙子", "梨")] == [5.0, 3.0, 1.0, 3.0]
    monkeypatch.setattr(keywords, "_MEMO_SIZE", 2)
    assert idf.values_of(["苹果", "香蕉", "橙子", "梨", "苹果"]) == [5.0, 3.0, 1.0, 3.0, 5.0]
    assert len(idf._memo) <= 2


def test_default_idf_matches_jieba_table() -> None:
    idf = Idf.default()
    assert Idf.default() is idf
    assert len(idf) > 200_000
    table = {}
    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            term, value = line.split()
            table[term] = float(value)
            if n > 2000:
                break
    for term, value in table.items():
        assert idf(term) == pytest.approx(value, abs=1e-4)
    assert "没有这个词语啊" not in idf
    assert idf("没有这个词语啊") == pytest.approx(idf.default_value)
    assert 11.0 < idf.default_value < 13.0  # jieba's median idf ≈ 11.95
    assert idf.nbytes() < 8 * 2**20


def test_from_document_frequencies_changes_ranking() -> None:
    tokens = jieba.lcut(TEXT)
    base = extract_keywords(tokens, top_k=3)
    assert base[0] == "垃圾"
    # In a corpus where every document mentions 垃圾 and 分类 they carry no information.
    corpus_idf = Idf.from_document_frequencies(
        {"垃圾": 1000, "分类": 1000, "回收": 1}, n_docs=1000, fallback=Idf.default()
    )
    assert corpus_idf("垃圾") == pytest.approx(1.0, abs=1e-3)
    assert corpus_idf("社区") == pytest.approx(Idf.default()("社区"))
    learnt = extract_keywords(tokens, corpus_idf, top_k=3)
    assert learnt != base
    assert "垃圾" not in learnt and "分类" not in learnt
    no_fallback = Idf.from_document_frequencies({"甲乙": 3}, n_docs=9)
    assert no_fallback("丙丁") > no_fallback("甲乙")


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_overlap_with_jieba_analyse(path: Path) -> None:
    import jieba.analyse  # loads jieba's 95 MB idf dict; test-only

    title, paragraphs = read_seed(path)
    body = "".join(paragraphs)
    ours = extract_keywords(jieba.lcut(body), title_tokens=jieba.lcut(title))
    theirs = jieba.analyse.extract_tags(body, topK=8)
    assert len(ours) == 8
    assert len(set(ours) & set(theirs)) >= 4, (ours, theirs)


def test_jieba_idf_is_cached_on_disk_and_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    built = Idf.from_jieba(tmp_path)  # builds from jieba's idf.txt and writes the cache
    (cache_file,) = tmp_path.glob("digestbot.idf.*.cache")
    loaded = Idf.from_jieba(tmp_path)  # read back from the cache
    terms = ["第一书记", "兵团", "的", "不在表里的词语"]
    assert len(loaded) == len(built) == len(Idf.default())
    assert (
        [loaded(t) for t in terms] == [built(t) for t in terms] == [Idf.default()(t) for t in terms]
    )
    cache_file.write_bytes(cache_file.read_bytes()[:1000])  # truncated
    assert Idf.from_jieba(tmp_path)("兵团") == built("兵团")
    assert len(cache_file.read_bytes()) > 1000  # rewritten whole


XPCC_ARTICLE = [
    "第十四师昆玉市四十七团建成千余座温室，十四个连队的职工种上了红枣。",
    "第十四师昆玉市四十七团的温室大棚里，职工正在采摘红枣。十四个连队千余座温室全部投产。",
    "第十四师昆玉市四十七团党委书记说，四十七团今年红枣增收。第三师图木舒克市也来学习。",
    "第三师图木舒克市的职工参观了温室，可克达拉市的干部也来了。",
]


def _keywords_of(paragraphs: list[str]) -> list[str]:
    from digests.formats import RawArticle
    from digests.pipeline import analyze

    return analyze(RawArticle(title="第十四师昆玉市温室红枣丰收", paragraphs=paragraphs)).keywords


@pytest.mark.parametrize("numeral", ["十四", "四十七", "千余座", "第十四", "3000万元", "数十", "十分"])
def test_numerals_are_never_keywords(numeral: str) -> None:
    from digests.keywords import is_candidate_term, is_numeral

    assert is_numeral(numeral)
    assert not is_candidate_term(numeral, load_stopwords())


@pytest.mark.parametrize("word", ["十九大", "两会", "三农", "一带一路", "百姓", "两岸", "数据"])
def test_words_that_start_with_a_numeral_stay_keywords(word: str) -> None:
    from digests.keywords import is_numeral

    assert not is_numeral(word)


def test_article_keywords_hold_no_numerals() -> None:
    keywords = _keywords_of(XPCC_ARTICLE)
    assert keywords
    assert not {"十四", "四十七", "千余座", "第十四"} & set(keywords)


def test_article_keywords_hold_no_fragments_of_place_names() -> None:
    keywords = _keywords_of(XPCC_ARTICLE)
    # jieba-rs cuts 第十四师昆玉市 into 第十四 / 师昆玉市, 图木舒克市 into 图木 / 舒克市
    assert not {"师昆玉市", "图木", "舒克市", "可克", "达拉"} & set(keywords)
    assert "红枣" in keywords and "温室" in keywords


def test_place_fragments_keep_whole_names_and_names_inside_words() -> None:
    from digests.keywords import place_fragments
    from digests.regions import load_gazetteer
    from digests.text import raw_tokens

    text = "第十四师昆玉市和喀什古城，第三师图木舒克市。"
    tokens = raw_tokens(text)
    starts = [sum(map(len, tokens[:i])) for i in range(len(tokens))]
    fragments = place_fragments(tokens, starts, load_gazetteer().mentions(text))
    assert {"师昆玉市", "图木", "舒克市"} <= fragments
    assert not {"喀什古城", "喀什"} & fragments


def test_learnt_idf_is_compact_and_exact(seeded) -> None:
    """The learnt table streams the store's vocabulary into the compact form (no dict of every
    term) and gives exactly ``log((N + 1) / (df + 1)) + 1`` for each, in any input order."""
    import math

    vocabulary = dict(seeded.vocabulary(min_docs=1).items())
    assert len(vocabulary) > 100
    n = seeded.count()
    expected = {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in vocabulary.items()}
    streamed = Idf.from_document_frequencies(seeded.vocabulary(min_docs=1), n)
    shuffled = Idf.from_document_frequencies(dict(sorted(vocabulary.items(), reverse=True)), n)
    for idf in (streamed, shuffled):
        assert {t: idf(t) for t in expected} == expected
        assert idf.nbytes() >= sum(len(t.encode("utf-8")) for t in vocabulary)
        assert len(idf) == len(vocabulary) and "不在词表" not in idf


def test_hash_lookup_finds_exactly_the_terms_of_the_table() -> None:
    """Idf._index (open addressing over crc32 slots, wrapping round the end of the table) gives
    the position of every term of the sorted table and -1 for others; a duplicate term in a
    hand-made table is found at its first position, as a binary search for it would."""
    import random
    import zlib
    from array import array

    from digests.keywords import _slot_count

    rng = random.Random(3)
    chars = "新疆兵团师喀什和田阿克苏市县镇乡村abc1"
    pool = sorted({"".join(rng.choices(chars, k=rng.randint(1, 5))) for _ in range(2000)})
    size = _slot_count(60)
    home = {w: zlib.crc32(w.encode("utf-8")) % size for w in pool}
    last = [w for w in pool if home[w] == size - 1][:4]  # three of them wrap round to 0, 1, 2
    words = sorted(last + [w for w in pool if home[w] not in (size - 1, 0, 1, 2)][:56])
    assert len(words) == 60 and len(last) == 4
    idf = Idf.from_pairs((w, float(i)) for i, w in enumerate(words))
    assert [idf._index(w.encode("utf-8")) for w in words] == list(range(60))
    assert [idf(w) for w in words] == [float(i) for i in range(60)]
    absent = set(pool) - set(words)
    assert all(idf._index(w.encode("utf-8")) == -1 for w in absent) and absent
    assert idf._index(b"") == -1
    blob = b"".join([b"ab", b"ab", b"cd"])
    dup = Idf(blob=blob, offsets=array("I", [0, 2, 4, 6]), values=array("f", [1.0, 2.0, 3.0]))
    assert (dup._index(b"ab"), dup._index(b"cd"), dup("ab")) == (0, 2, 1.0)
    default = Idf.default()  # its slots come from the cache file
    offsets = default._offsets
    sample = rng.sample(range(1, len(default._values)), 3000)
    assert [default._index(default._blob[offsets[i] : offsets[i + 1]]) for i in sample] == sample


def test_highest_bounds_every_lookup() -> None:
    """Idf.highest is the most a look-up can give: the table's values, the fallback's (or the
    default value without one); a NaN makes it infinite (nothing is left out on its word)."""
    import math

    table = Idf.from_pairs([("甲乙", 3.0), ("丙丁", 9.5), ("戊己", 1.0)])
    assert table.highest() == 9.5 and table("不在表里") == table.default_value == 3.0
    learnt = Idf.from_document_frequencies({"甲乙": 0, "丙丁": 5}, n_docs=10, fallback=table)
    assert learnt.highest() == max(9.5, learnt("甲乙")) == 9.5
    alone = Idf.from_document_frequencies({"甲乙": 4}, n_docs=10)
    assert alone.highest() == alone.default_value == alone("不在表里") > alone("甲乙")
    assert Idf.from_pairs([("甲乙", math.nan), ("丙丁", 2.0)]).highest() == math.inf
    default = Idf.default()
    assert default.highest() == max(default._values) > default.default_value


def test_place_fragments_are_the_tokens_cutting_through_a_name() -> None:
    """place_fragments (two searches over the token starts for all names, every token of a name
    that more than one token overlaps) gives what walking the tokens of each name and testing
    each gives, on generated tokenisations and names, with the starts as a list or an array."""
    import random
    from bisect import bisect_right
    from itertools import accumulate

    import numpy

    from digests.keywords import place_fragments

    def by_token(
        tokens: list[str], starts: list[int], mentions: list[tuple[int, int, str]]
    ) -> set[str]:
        fragments = set()
        for start, end, _code in mentions:
            i = bisect_right(starts, start) - 1
            while i < len(tokens) and starts[i] < end:
                token_end = starts[i] + len(tokens[i])
                if token_end > start and not (starts[i] <= start and token_end >= end):
                    fragments.add(tokens[i])
                i += 1
        return fragments

    rng = random.Random(13)
    found = 0
    for _ in range(2000):
        tokens = [
            "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(1, 30))
        ]
        starts = list(accumulate(map(len, tokens), initial=0))
        size = starts[-1]
        mentions = []
        for _ in range(rng.randint(1, 6)):
            start = rng.randrange(size)
            mentions.append((start, rng.randint(start + 1, min(size, start + 6)), "650000"))
        expected = by_token(tokens, starts, mentions)
        assert place_fragments(tokens, starts, mentions) == expected, (tokens, mentions)
        assert place_fragments(tokens, numpy.array(starts), mentions) == expected
        found += bool(expected)
    assert 500 < found < 1990


def _fresh_copy(idf: Idf) -> Idf:
    """The same table with nothing looked up yet (no slots, an empty memo)."""
    return Idf(
        blob=idf._blob, offsets=idf._offsets, values=idf._values, default_value=idf.default_value
    )


def test_a_lean_process_leaves_building_the_jieba_table_to_a_child(
    lean, tmp_path: Path, monkeypatch, caplog
) -> None:
    """Without the cache file, a lean process has a child process build jieba's table and
    write the file, and reads it (building it would leave it ~10 MB more resident); should the
    child fail (here: it runs out of time), it builds the table itself."""
    from digests import keywords

    default = Idf.default()
    real_from_file = Idf.from_file

    def refuse(path: str | Path) -> Idf:
        raise AssertionError("the lean process built the table itself")

    monkeypatch.setattr(Idf, "from_file", refuse)
    idf = Idf.from_jieba(tmp_path)
    assert [p.name.endswith(".cache") for p in tmp_path.iterdir()] == [True]
    assert (idf._blob, idf._offsets, idf._values) == (
        default._blob, default._offsets, default._values
    )  # fmt: skip
    assert idf.default_value == default.default_value
    monkeypatch.setattr(Idf, "from_file", real_from_file)
    monkeypatch.setattr(keywords, "_CHILD_TIMEOUT", 0.001)
    (tmp_path / "again").mkdir()
    with caplog.at_level("INFO", logger="digests.keywords"):
        assert Idf.from_jieba(tmp_path / "again")._blob == default._blob
    assert "could not have a child process cache the IDF table" in caplog.text


def test_a_lean_process_remembers_fewer_terms(lean, monkeypatch) -> None:
    """The bot's memo of looked-up terms has a bound of its own (``_LEAN_MEMO_SIZE``)."""
    from digests import keywords

    monkeypatch.setattr(keywords, "_LEAN_MEMO_SIZE", 2)
    idf = Idf.from_pairs([("苹果", 5.0), ("香蕉", 3.0), ("橙子", 1.0)])
    assert idf.values_of(["苹果", "香蕉", "橙子", "梨", "苹果"]) == [5.0, 3.0, 1.0, 3.0, 5.0]
    assert 0 < len(idf._memo) <= 2


def test_lean_lookup_is_the_slots_lookup_without_slots(lean) -> None:
    """In a lean process a table is searched without building its hash slots (nor does warm
    build them), and finds exactly what the slots find: the position of each of jieba's 270k
    terms and of a learnt table's terms, -1 for everything else (the empty term, unknown
    terms, the terms' prefixes and extensions, neighbours in byte order), the same values."""
    from array import array

    from digests.numeric import set_lean

    default = Idf.default()
    learnt = Idf.from_document_frequencies(
        {"": 3, "新疆": 40, "新疆生产": 2, "新疆生产建设兵团": 9, "兵团": 30, "a": 1}, 100
    )
    dup = Idf(blob=b"ababcd", offsets=array("I", [0, 2, 4, 6]), values=array("f", [1.0, 2.0, 3.0]))
    for table in (default, learnt, dup):
        blob, offsets = table._blob, table._offsets
        keys = [blob[offsets[i] : offsets[i + 1]] for i in range(len(table._values))]
        misses = [b"", b"\x00", b"\xff", "不在表里".encode(), *(k + b"\x00" for k in keys[::50])]
        misses += [k[:-1] for k in keys[::7]] + [k + "的".encode() for k in keys[::7]]
        misses += [k[:-1] + bytes([k[-1] + 1]) for k in keys[::7] if k and k[-1] < 255]
        searched, slotted = _fresh_copy(table), _fresh_copy(table)
        lean_positions = [searched._index(k) for k in keys + misses]
        lean_values = searched.values_of(k.decode("utf-8", "replace") for k in keys + misses)
        searched.warm()
        assert searched._slots is None
        set_lean(False)
        try:
            slot_positions = [slotted._index(k) for k in keys + misses]
            slot_values = slotted.values_of(k.decode("utf-8", "replace") for k in keys + misses)
        finally:
            set_lean()
        assert slotted._slots is not None
        assert lean_positions == slot_positions and lean_values == slot_values
        found = lean_positions[: len(keys)]
        assert [keys[p] if p >= 0 else b"" for p in found] == keys  # each term where it is
