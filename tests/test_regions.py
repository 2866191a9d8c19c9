"""Tests for digests.regions: gazetteer hierarchy, resolution and region tagging."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from digests.regions import Gazetteer, Place, Resolution, load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "corpus"
XPCC_JSON = ROOT / "tools" / "data" / "xpcc.json"  # the gazetteer build input
SEED_A = SEEDS / "000_a15a60a554419481.txt"
SEED_B = SEEDS / "001_9bff5c1c596e1fbb.txt"


@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return load_gazetteer()


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
    assert direct(g, "兵团二师") == ["X02"] and "X" in g.tag("兵团二师")
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
