"""Tests for digests.regions: gazetteer hierarchy, resolution and region tagging."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from digests.regions import DATA_PATH, Gazetteer, Place, Resolution, load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "corpus"
XPCC_JSON = ROOT / "tools" / "data" / "xpcc.json"  # the gazetteer build input
SEED_A = SEEDS / "000_a15a60a554419481.txt"
SEED_B = SEEDS / "001_9bff5c1c596e1fbb.txt"


@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return load_gazetteer()


def _glue_words(g: Gazetteer) -> list[str]:
    """The gazetteer's glue words (kept as first character → string of second characters)."""
    return sorted(a + b for a, seconds in g._glue_next.items() for b in seconds)


def direct(g: Gazetteer, text: str) -> list[str]:
    return [code for _s, _e, code in g.mentions(text)]


# ---------------------------------------------------------------- loading / API


def test_loader_is_cached_and_fast() -> None:
    t = time.perf_counter()
    first = load_gazetteer()
    assert load_gazetteer() is first
    assert time.perf_counter() - t < 2.0  # generous for CI; ~0.1 s measured


def test_place_and_resolution_shapes(g: Gazetteer) -> None:
    p = g.get("653125")
    assert p == Place("653125", "莎车县", "county", ("653100",), "莎车")
    r = g.resolve("莎车")
    assert isinstance(r, Resolution) and r.places == [p] and r.suggestions == []
    assert g.get("nope") is None


def test_xinjiang_reparenting_and_xpcc_city(g: Gazetteer) -> None:
    assert g.get("654300").parents == ("654000",)
    assert g.get("654200").parents == ("654000",)
    assert set(g.get("659004").parents) == {"650000", "X06"}
    assert g.get("X").parents == ("650000",)


def test_ancestors_multi_parent_no_duplicates(g: Gazetteer) -> None:
    anc = g.ancestors("X06-102")
    assert anc[0] == "X06"
    assert set(anc) == {"X06", "X", "650000", "659004100", "659004"}
    assert len(anc) == len(set(anc))
    assert g.ancestors("653125217") == ["653125", "653100", "650000"]


def test_children_and_path(g: Gazetteer) -> None:
    top = [p.code for p in g.children("")]
    assert "650000" in top and "X" in top and "110000" in top
    assert len([p for p in g.children("") if p.level == "province"]) == 34
    xj = [p.code for p in g.children("650000")]
    assert "653100" in xj and "659004" in xj and "654300" not in xj
    assert "654300" in [p.code for p in g.children("654000")]
    x = [p.code for p in g.children("X")]
    assert x == [f"X{n:02d}" for n in range(1, 15)]
    six = [p.name for p in g.children("X06")]
    assert six[0] == "五家渠市"
    assert six.index("一〇一团") < six.index("一〇二团") < six.index("军户农场")
    assert [p.name for p in g.path("653125")] == ["新疆维吾尔自治区", "喀什地区", "莎车县"]
    assert [p.name for p in g.path("X06-102-C04")] == [
        "新疆维吾尔自治区",
        "新疆生产建设兵团",
        "第六师",
        "一〇二团",
        "四连",
    ]


# ---------------------------------------------------------------- hierarchy in tags


def test_kashgar_contains_shache(g: Gazetteer) -> None:
    tags = g.tag("他在莎车县工作了十年。")
    assert {"653125", "653100", "650000"} <= tags.keys()


def test_ili_contains_altay(g: Gazetteer) -> None:
    tags = g.tag("阿勒泰地区的牧民转场了。")
    assert {"654300", "654000", "650000"} <= tags.keys()
    assert g.resolve("伊犁").places[0].code == "654000"


def test_counts_sum_over_descendants(g: Gazetteer) -> None:
    tags = g.tag("喀什地区莎车县墩巴格乡，莎车县")
    assert tags["653125217"] == 1
    assert tags["653125"] == 3  # 2 direct + 1 township
    assert tags["653100"] == 4
    assert tags["650000"] == 4


def test_longest_match_township(g: Gazetteer) -> None:
    text = "阿勒泰地区福海县解特阿热勒镇"
    codes = direct(g, text)
    assert codes == ["654300", "654323", "654323102"]
    for wrong in ("652825105", "652922103", "654325103"):
        assert wrong not in g.tag(text)


def test_old_name_resolves(g: Gazetteer) -> None:
    assert [p.code for p in g.resolve("库车县").places] == ["652902"]
    assert direct(g, "原库车县城") == ["652902"]


def test_no_township_short_names(g: Gazetteer) -> None:
    assert g.resolve("墩巴格").places == []
    assert direct(g, "阿热勒一带") == []


# ---------------------------------------------------------------- XPCC


def test_regiment_spellings_equal(g: Gazetteer) -> None:
    spellings = ("一〇二团", "一零二团", "一○二团", "102团")
    codes = {tuple(p.code for p in g.resolve(q).places) for q in spellings}
    assert codes == {("X06-102",)}
    for text in ("一〇二团", "一零二团", "一○二团", "102团"):
        assert direct(g, f"在{text}工作") == ["X06-102"]


def test_division_resolution(g: Gazetteer) -> None:
    for q in ("六师", "第六师", "农六师", "兵团第六师"):
        assert [p.code for p in g.resolve(q).places] == ["X06"], q
    assert g.resolve("兵团").places[0].code == "X"


def test_xpcc_city_belongs_to_division(g: Gazetteer) -> None:
    tags = g.tag("五家渠市举办农博会。")
    assert {"659004", "X06", "X", "650000"} <= tags.keys()


def test_seed_article_tagged_with_divisions(g: Gazetteer) -> None:
    tags = g.tag(SEED_A.read_text(encoding="utf-8"))
    assert {"X06", "X", "X14", "X02", "X07", "650000"} <= tags.keys()


def _expect_codes(g: Gazetteer, text: str, expect: dict) -> None:
    tags = g.tag(text)
    codes = direct(g, text)
    div = f"X{expect['division']:02d}"
    assert div in tags and "X" in tags and "650000" in tags
    if "unit" in expect:
        units = [c for c in codes if (g.get(c).level == "unit")]
        assert [g.get(c).name for c in units] == [expect["unit"]]
        unit = units[0]
        assert div in g.ancestors(unit)
        if "company" in expect:
            comps = [c for c in codes if g.get(c).level == "company"]
            assert len(comps) == 1 and g.get(comps[0]).name == expect["company"]
            assert g.get(comps[0]).parents == (unit,)
        if "host_county" in expect:
            host = expect["host_county"].split()[0]
            assert host in [p.code for p in g.host_counties(unit)]
            assert host not in tags  # geography, not administration
        if "geo_prefecture" in expect:
            assert expect["geo_prefecture"].split()[0] not in tags
        if "town" in expect:
            town = expect["town"].split()[0]
            town_codes = [a for a in g.ancestors(unit) if g.get(a).name == town]
            assert town_codes, expect["town"]
            assert town_codes[0] in tags
            if "(" in expect["town"]:
                city = expect["town"].split()[-1].rstrip(")")
                assert city in tags
    if "city" in expect:
        city = expect["city"].split()[0]
        assert city in tags


def test_xpcc_test_cases_from_seeds(g: Gazetteer) -> None:
    cases = json.loads(XPCC_JSON.read_text(encoding="utf-8"))["test_cases_from_seeds"]
    assert len(cases) == 8
    for case in cases:
        text, expect = case["text"], case["expect"]
        if isinstance(expect, dict):
            _expect_codes(g, text, expect)
        elif "no company" in expect or "no new region" in expect:
            for t in text.split(" / "):
                assert not [c for c in g.tag(t) if "-C" in c], t
            if "no new region" in expect:
                assert g.tag(text) == {}
        elif expect.startswith("654323102"):
            codes = direct(g, text)
            assert "654323102" in codes
            assert not {"652825105", "652922103", "654325103"} & set(g.tag(text))
        else:
            assert expect in direct(g, text), case


def test_company_codes(g: Gazetteer) -> None:
    assert direct(g, "六师一〇二团四连职工") == ["X06", "X06-102", "X06-102-C04"]
    assert direct(g, "十四师皮山农场九连")[-1].endswith("-C09")
    farm = direct(g, "军户农场三连")
    assert g.get(farm[0]).name == "军户农场" and farm[1] == f"{farm[0]}-C03"
    assert g.get("X06-102-C12").name == "十二连"
    assert g.get("X99-1-C01") is None
    assert [p.code for p in g.resolve("六师一〇二团四连").places] == ["X06-102-C04"]


def test_bare_division_needs_context(g: Gazetteer) -> None:
    assert direct(g, "二师铁门关市") == ["X02", "659006"]
    assert direct(g, "七师一二三团") == ["X07", "X07-123"]
    assert direct(g, "兵团二师") == ["X", "X02"]  # 兵团 is named, then its division
    assert direct(g, "兵团的二师和三师") == ["X", "X02", "X03"]
    assert direct(g, "他是二师的人") == []
    assert direct(g, "第十六师") == []
    assert direct(g, "考上了第一师范学院") == []
    assert direct(g, "第一师阿拉尔市") == ["X01", "659002"]


def test_small_regiments_need_context(g: Gazetteer) -> None:
    assert direct(g, "一师一团三连") == ["X01", "X01-1", "X01-1-C03"]
    assert direct(g, "第三师四十一团草湖镇")[:2] == ["X03", "X03-41"]
    assert direct(g, "大家一团和气") == []
    assert direct(g, "乱成一团") == []


# ---------------------------------------------------------------- false positives

FALSE_POSITIVE_SENTENCES = [
    "大家一团和气，其乐融融。",
    "球队取得三连胜。",
    "二师兄背着行李走了。",
    "他问了一连串问题。",
    "兵团先后向750个连队选派干部。",
    "驻连（村）工作队进驻基层。",
    "周末去泡温泉。",
    "加强民族团结。",
    "他是体坛的一颗新星。",
    "路边种满了白杨。",
    "高举红旗向前进。",
    "天山南北好风光。",
    "城市和田园风光。",
    "这几年，九连变化喜人。",
    "终于都达到了要求。",
    "迎着朝阳出发。",
    "这个方案兼顾创意和安全性。",
]


@pytest.mark.parametrize("text", FALSE_POSITIVE_SENTENCES)
def test_false_positive_sentences(g: Gazetteer, text: str) -> None:
    tags = g.tag(text.replace("兵团先后", "先后"))
    assert tags == {}, (text, g.mentions(text))


def test_flagged_short_names_with_context(g: Gazetteer) -> None:
    assert "652723" in g.tag("博尔塔拉蒙古自治州温泉的牧民")
    assert "659011" in g.tag("第十三师新星")
    assert "652723" not in g.tag("新疆的温泉很有名")
    assert direct(g, "阜康市实施工程，阜康全市") == ["652302", "652302"]


# ---------------------------------------------------------------- ambiguity


def test_ambiguous_resolve_returns_candidates(g: Gazetteer) -> None:
    hetian = [p.code for p in g.resolve("和田").places]
    assert hetian[:3] == ["653200", "653201", "653221"]
    hainan = [p.code for p in g.resolve("海南").places]
    assert hainan[:2] == ["460000", "632500"]
    chaoyang = {p.code for p in g.resolve("朝阳").places}
    assert {"110105", "211300", "211321"} <= chaoyang


def test_ambiguous_tag_by_context(g: Gazetteer) -> None:
    assert direct(g, "青海省海南的草原") == ["630000", "632500"]
    assert direct(g, "在北京朝阳") == ["110000", "110105"]
    assert direct(g, "和田的玉") == ["653200"]  # bare 和田 -> 和田地区 (lowest common ancestor)
    assert direct(g, "海南的椰子") == ["460000"]
    assert direct(g, "吉林的雪") == ["220000"]
    assert "653200" in g.tag("和田地区墨玉县")


def test_unknown_name_suggestions(g: Gazetteer) -> None:
    r = g.resolve("喀十")
    assert r.places == []
    assert "653100" in [p.code for p in r.suggestions[:3]]
    assert len(r.suggestions) <= 5
    assert g.resolve("莎东县").suggestions


def test_traditional_query(g: Gazetteer) -> None:
    assert [p.code for p in g.resolve("喀什地區").places] == ["653100"]
    assert g.resolve("烏魯木齊").places[0].code == "650100"


# ---------------------------------------------------------------- seeds: false-tag audit

# Every place really mentioned in the seeds (checked by reading them), plus their ancestors.
SEED_A_DIRECT = {
    "X",
    "650000",
    "X06",
    "X06-F03",
    "X06-F03-C03",
    "X06-102",
    "X06-102-C04",
    "X14",
    "X14-F01",
    "X14-F01-C09",
    "X02",
    "659006",
    "X07",
    "X07-123",
}
SEED_B_DIRECT = {
    "650000",
    "652302",
    "652302002",
    "654300",
    "654323",
    "654323102",
    "653100",
    "653125",
    "653125217",
    "652900",
    "652926",
    "652926206",
    "653128",
    "653128100",
}


@pytest.mark.parametrize(("path", "expected"), [(SEED_A, SEED_A_DIRECT), (SEED_B, SEED_B_DIRECT)])
def test_seed_false_tags(g: Gazetteer, path: Path, expected: set[str]) -> None:
    text = path.read_text(encoding="utf-8")
    found = set(direct(g, text))
    allowed = expected | {a for c in expected for a in g.ancestors(c)}
    false_tags = set(g.tag(text)) - allowed
    assert false_tags == set(), false_tags
    assert found == expected  # full recall of the places named in the article


def test_seed_a_region_query_liushi(g: Gazetteer) -> None:
    code = g.resolve("六师").places[0].code
    assert code in g.tag(SEED_A.read_text(encoding="utf-8"))
    assert g.tag(SEED_A.read_text(encoding="utf-8"))["X06"] == 6


# ---------------------------------------------------------------- precision classes (issue 13)


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("合作社位于田间地头。", "653226"),  # 位于|田间 → not 于田县
        ("对于田间管理很有经验。", "653226"),
        ("居民丰富的菜篮子。", "653227"),  # 居民|丰富 → not 民丰县
        ("2026年中国农民丰收节开幕。", "653227"),
        ("村民丰收又增收。", "653227"),
        ("这是企业的创新源泉。", "654025"),  # 创新|源泉 → not 新源县
        ("更新源头技术。", "654025"),
        ("这个方案很神奇台下掌声不断。", "652325"),  # 神奇|台下 → not 奇台县
    ],
)
def test_short_name_inside_ordinary_words(g: Gazetteer, text: str, wrong: str) -> None:
    assert wrong not in direct(g, text), g.mentions(text)


def test_every_two_character_short_name_refuses_glue(g: Gazetteer) -> None:
    """Audit of all 2-character short names: glued to an ordinary word on either side, none
    is tagged (for provinces and prefectures only the right side: 全新疆 is 新疆)."""
    glue = _glue_words(g)
    by_first: dict[str, str] = {}
    by_last: dict[str, str] = {}
    for word in glue:
        by_first.setdefault(word[0], word)
        by_last.setdefault(word[1], word)
    checked = 0
    for surface, entries in g._patterns:
        if len(surface) != 2 or not entries or any(f & 1 for _, f in entries):
            continue
        codes = {c for c, _ in entries}
        high = any(g.get(c).level in ("province", "prefecture", "xpcc", "division") for c in codes)
        right = by_first.get(surface[-1])
        if right and right not in ("市区", "县城") and surface + right[1] not in g._pattern_index:
            text = f"。{surface}{right[1]}。"
            found = [(s, c) for s, _e, c in g.mentions(text) if s == 1 and c in codes]
            assert not found, (surface, text)
            checked += 1
        left = by_last.get(surface[0])
        if left and not high and left[0] + surface not in g._pattern_index:
            text = f"。{left[0]}{surface}。"
            found = [(s, c) for s, _e, c in g.mentions(text) if s == 2 and c in codes]
            assert not found, (surface, text)
            checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("塔里木河南岸的胡杨林。", "410000"),  # …河|南岸 → not 河南省
        ("孔雀河北岸修了防洪堤。", "130000"),
        ("博斯腾湖南部湖区。", "430000"),  # …湖|南部 → not 湖南省
        ("赛里木湖北岸的草原。", "420000"),
        ("天山脚下的那拉提草原。", "650102"),  # the mountains, not 天山区
        ("翻越天山，领略天山南北的秋色。", "650102"),
        ("天山区域的冰川在退缩。", "650102"),
        ("伊宁市上海路一家餐馆。", "310000"),  # streets named after places
        ("乌鲁木齐的北京路、河南路完成改造。", "110000"),
        ("沿着喀什东路走。", "653100"),
        ("伊犁河谷的秋天。", "654000"),  # rivers and lakes named after places
        ("和田河畔的胡杨。", "653200"),
        ("玛纳斯河流域管理局。", "652324"),
        ("电影《我的阿勒泰》带火了旅游。", "654301"),  # titles of works
        ("歌曲《新疆是个好地方》。", "650000"),
        ("哈密瓜和葡萄干。", "650500"),  # products that are no place
        ("和田玉交易市场。", "653200"),
        ("孙中山先生诞辰纪念。", "442000"),
        ("长江出海口的湿地。", "460100"),
        ("高昌故城遗址。", "650402"),  # historical names
        ("哈密古称伊州。", "650502"),
        ("疏勒（今喀什）是丝路重镇。", "653122"),  # the ancient kingdom, not 疏勒县
    ],
)
def test_place_name_inside_a_longer_name(g: Gazetteer, text: str, wrong: str) -> None:
    assert wrong not in direct(g, text), g.mentions(text)


def test_geographic_words_that_stay_places(g: Gazetteer) -> None:
    assert direct(g, "河南部分地区降雨。") == ["410000"]  # 河南|部分, not 河|南部
    assert direct(g, "新疆河湖长制全面推行。") == ["650000"]
    assert direct(g, "和田山区的牧民。") == ["653200"]
    assert direct(g, "乌鲁木齐市天山区") == ["650100", "650102"]
    assert direct(g, "全新疆都在行动。") == ["650000"]
    assert direct(g, "莎车县城") == ["653125"]
    assert direct(g, "喀什市场监管局") == ["653100"]  # 喀什|市场, not 喀什市
    assert direct(g, "兵团城市建设") == ["X"]  # 城市 is a word of its own
    assert direct(g, "南疆和田的玉") == ["653200"]
    assert direct(g, "叶城县河园镇") == ["653126", "653126108"]  # a name follows: no glue
    assert direct(g, "新市区长春中路街道") == ["650104", "650104014"]
    assert direct(g, "国家级示范县") == []  # 示范|县, not 范县
    assert direct(g, "北京城的胡同，上海港的集装箱") == ["110000", "310000"]
    assert direct(g, "海南岛的椰林") == ["460000"]
    assert direct(g, "从喀什一路向西") == ["653100"]  # 一路 is no street number here
    for pair, codes in {
        "江西南昌": ["360000", "360100"],  # 江西|南昌, not 江|西南
        "广西南宁": ["450000", "450100"],
        "青海西宁": ["630000", "630100"],
        "吉林长春": ["220000", "220100"],
        "前往于田": ["653226"],
    }.items():
        assert direct(g, pair) == codes, pair


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("在广东和安徽两省的支援下", ["440000", "340000"]),
        ("浙江和安徽的高校", ["330000", "340000"]),
        ("湖南和安徽两省", ["430000", "340000"]),
        ("福建和安徽的干部", ["350000", "340000"]),
        ("和安县的新城", ["653229"]),  # the county itself still counts
    ],
)
def test_conjunction_before_a_place(g: Gazetteer, text: str, expected: list[str]) -> None:
    assert direct(g, text) == expected


def test_generic_townships_and_historical_names_need_context(g: Gazetteer) -> None:
    assert direct(g, "河南省周口市某县城关镇。") == ["410000", "411600"]
    assert direct(g, "昌吉州阜康市城关镇。") == ["652300", "652302", "652302101"]
    assert direct(g, "湖北某地的新城街道。") == ["420000"]  # six 新城街道 in Xinjiang
    assert direct(g, "台北迪化街的年货大街。") == []
    assert direct(g, "乌鲁木齐旧称迪化。") == ["650100"]
    assert direct(g, "迪化一带") == []


@pytest.mark.parametrize("zero", ["〇", "零", "○", "0", "O", "o", "０", "Ｏ"])
def test_regiment_numerals_with_digit_or_letter_zero(g: Gazetteer, zero: str) -> None:
    assert direct(g, f"第六师一{zero}三团的番茄") == ["X06", "X06-103"]
    assert direct(g, f"第七师一三{zero}团")[-1] == "X07-130"


def test_kashgar_prefecture_unless_the_text_says_city(g: Gazetteer) -> None:
    assert direct(g, "喀什的秋天") == ["653100"]
    assert direct(g, "历史文化名城喀什") == ["653101"]
    assert direct(g, "城市喀什正在迎来新机遇") == ["653101"]
    assert direct(g, "喀什市区的老城") == ["653101"]
    assert direct(g, "喀什古城的夜市") == ["653101"]
    assert direct(g, "喀什市的发展。喀什的夜市") == ["653101", "653101"]
    assert direct(g, "喀什地区和喀什市。喀什") == ["653100", "653101", "653100"]


def test_neighbour_tables_never_skip_a_rule(g: Gazetteer) -> None:
    """The scan looks at a match's context only when the character after or before it is one of
    its pattern's ``after_chars``/``before_chars`` (or ``always_check``): every match that the
    rules would drop, shift or shorten, on place names set between glue words, roads, rivers and
    historical words, passes that filter."""
    import random

    rng = random.Random(5)
    glue = _glue_words(g)
    glue_after: dict[str, list[str]] = {}
    for word in glue:
        glue_after.setdefault(word[0], []).append(word[1])
    neighbours = ["路", "东路", "河畔", "河流域", "山区", "湖", "故城", "古国", "（今", "城", "港"]
    before = ["古称", "旧称", "古代", "和", "与", "在"]
    names = [s for s, e in g._patterns if e and len(s) <= 4] + ["和田", "和静", "于田", "新源"]
    verdicts: dict[str, int] = {}
    for _ in range(20000):
        name = rng.choice(names)
        left = rng.choice([rng.choice(glue), rng.choice(before), "。"])
        glued = glue_after.get(name[-1], [""])  # 河|南岸, 喀什市|场
        right = rng.choice([rng.choice(glue), rng.choice(neighbours), rng.choice(glued), "，", ""])
        text = left + name + right
        for index, start, stop in g._auto.find_matches_as_indexes(text):
            facts = g._facts[index]
            if not facts.entries:
                continue
            verdict = g._in_context(text, start, stop, facts)
            if verdict is None:
                continue
            verdicts[verdict[0]] = verdicts.get(verdict[0], 0) + 1
            looked_at = (
                text[stop : stop + 1] in facts.after_chars
                or (start > 0 and text[start - 1] in facts.before_chars)
                or facts.check_always
            )
            assert looked_at, (text, text[start:stop], verdict)
    assert min(verdicts.get(kind, 0) for kind in ("drop", "shift", "shorter")) > 20, verdicts


def test_quiet_matches_skip_nothing(g: Gazetteer) -> None:
    """Taking a match as it is when neither neighbour is in its pattern's tables gives the
    mentions that looking at every match gives, on place names between glue words, numerals,
    conjunctions, roads, rivers and historical words (and 《titles》)."""
    import dataclasses
    import random

    class Everything(frozenset[str]):
        def __contains__(self, item: object) -> bool:
            return True

    careful = Gazetteer(json.loads(DATA_PATH.read_text(encoding="utf-8")))  # no match is quiet
    careful._facts = [dataclasses.replace(f, after_chars=Everything()) for f in careful._facts]
    rng = random.Random(9)
    glue = _glue_words(g)
    glued_before: dict[str, list[str]] = {}  # 田 → [位, 种, …]
    for word in glue:
        glued_before.setdefault(word[1], []).append(word[0])
    names = [s for s, e in g._patterns if e]
    usual = ["和田", "和静", "于田", "新源", "六师", "一〇二团", "二师", "一团", "喀什市", "河南"]
    usual += ["和安徽", "和田玉和田", "哈密瓜"]
    # 和平|谷区: a 2-character name starting with a conjunction, then a name starting inside it
    starting: dict[str, list[str]] = {}
    for name in names:
        starting.setdefault(name[0], []).append(name)
    usual += [
        name[0] + other
        for name in names
        if len(name) == 2 and name[0] in "和与于及在从对向为把被跟同让给"
        for other in starting.get(name[1], [])
    ][::10]
    marks = ["路", "河畔", "故城", "古称", "十", "三", "和", "兄", "和气", "城", "。", "《", "》"]
    differ = 0
    for _ in range(6000):
        parts = []
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(usual if rng.random() < 0.5 else names)
            roll = rng.random()
            if roll < 0.3:
                parts.append(rng.choice(glue))
            elif roll < 0.5 and name[0] in glued_before:
                parts.append(rng.choice(glued_before[name[0]]))  # 温|和田, 位|于田
            else:
                parts.append(rng.choice(marks))
            parts.append(name)
        text = "".join(parts) + rng.choice([*marks, rng.choice(glue)])
        assert g.mentions(text) == careful.mentions(text), text
        differ += g.mentions(text) != careful._scan(text, lenient=True)
    assert differ > 1000  # the rules did drop, shift or shorten matches in these texts


@pytest.mark.parametrize(
    ("text", "wrong"),
    [("塔里木河南岸", "410000"), ("孔雀河北岸", "130000"), ("博斯腾湖南部", "430000")],
)
def test_glue_holds_at_the_end_of_a_text(g: Gazetteer, text: str, wrong: str) -> None:
    """A short name glued to the last character but one of a text is no place either: no
    character follows to make a word of its own (河南|部分)."""
    assert wrong not in direct(g, text), g.mentions(text)
    assert wrong in direct(g, text[:-1])  # the name alone at the end is a place


def test_the_gazetteer_keeps_one_string_per_code(g: Gazetteer) -> None:
    """A code repeated as a parent or as a name's place is the place's own code object, not one
    string per occurrence as json gives them (memory: docs/benchmarks.md)."""
    places = g._places
    parents = [p for place in places.values() for p in place.parents]
    named = [c for entries in g._names.values() for c, _ in entries]
    assert len(parents) > 4000 and len(named) > 8000
    assert all(places[c].code is c for c in parents + named if c in places)
