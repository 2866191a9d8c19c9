"""Near-duplicate stories: reposts are grouped, same-topic stories stay apart, a story is planned
once per chat with "also reported by", and search and region listings show it once."""

from __future__ import annotations

import time

import pytest

from benchmarks.stories_quality import end_to_end, labelled_set, pairwise, reposts
from digests import stories
from digests.fetch import Fetcher
from digests.ledger import Ledger
from digests.planning import plan
from digests.regions import load_gazetteer
from digests.search import keyword_search, region_search
from digests.sources import add_source, poll_round

from .test_sources import LONG, rss

NOW = time.time()
ORIGINAL = (
    "喀什地区今冬农村供暖改造惠及三万户",
    [
        "记者从喀什地区住房和城乡建设局了解到，今年地区共完成农村清洁取暖改造三万余户，涉及十二个县市的一百多个乡镇。",
        "据介绍，改造工作采取宜电则电、宜气则气的方式，对具备天然气管网条件的村庄实施燃气壁挂炉改造，对偏远村庄推广空气源热泵。",
        "疏附县托克扎克镇村民阿卜杜拉说，过去冬天烧煤取暖，屋里烟大。现在用上了电暖气，屋子干净暖和。",
        "地区住建局有关负责人表示，下一步将组织技术人员开展入户回访，及时解决设备使用中的问题。",
    ],
)


def test_link_article_groups_reposts_and_keeps_other_stories_apart(store):
    title, paragraphs = ORIGINAL
    first = stories.link_article(store, 1, title, paragraphs, now=NOW)
    assert first.story == 1 and first.similarity == 0
    for n, (t, p) in enumerate(reposts(title, paragraphs), 2):
        link = stories.link_article(store, n, t, p, now=NOW)
        assert link.story == 1, (t, link)
    other = stories.link_article(store, 9, "第一师棉花加工", LONG, now=NOW)
    assert other.story == 9
    stale = stories.link_article(store, 10, title, paragraphs, now=NOW + 30 * 86400)
    assert stale.story == 10  # outside the window: a new story


def test_labelled_set_precision_and_recall():
    docs = labelled_set()
    assert len(docs) >= 100 and len({d[0] for d in docs}) >= 25
    shipped = pairwise(docs, stories.SHINGLE, stories.THRESHOLD)
    assert shipped["precision"] >= 0.98 and shipped["recall"] >= 0.95
    result = end_to_end(docs)
    assert result["precision"] >= 0.98 and result["recall"] >= 0.95


async def test_a_story_from_two_sources_is_planned_once_and_searched_once(site, store, clock):
    store.upsert_chat(77, "private")
    title, paragraphs = ORIGINAL
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    (t2, p2), *_ = reposts(title, paragraphs)
    body2 = "".join(f"<p>{p}</p>" for p in p2)
    site.add("/a.xml", rss([], title="边疆日报"))
    site.add("/b.xml", rss([], title="天山网"))
    async with Fetcher() as fetcher:
        await add_source(store, fetcher, site.url("/a.xml"))
        await add_source(store, fetcher, site.url("/b.xml"))
        await poll_round(store, fetcher, now=NOW)  # empty baselines
        store.add_subscription(77, [], [])
        site.add(
            "/a.xml",
            rss([(title, "https://a.example.cn/2026/1.html", "a1", body)], title="边疆日报"),
        )
        site.add(
            "/b.xml", rss([(t2, "https://b.example.cn/2026/9.html", "b9", body2)], title="天山网")
        )
        report = await poll_round(store, fetcher, now=NOW, everything=True)
    assert report.added == 2
    assert plan(store, clock) == 1
    (delivery,) = Ledger(store).rows()
    first = store.get_many([delivery.seq])[delivery.seq]
    assert first.also_reported and first.also_reported[0] in {"边疆日报", "天山网"}
    assert first.source not in first.also_reported
    results = keyword_search(store, "供暖改造")
    assert results.total == 1 and len(results.hits) == 1
    listing = region_search(store, load_gazetteer(), "喀什地区").results
    assert listing.total == 1 and [h.article.seq for h in listing.hits] == [first.seq]


def test_quiet_mark_and_story_link_commit_with_the_article(store):
    """A planner on another connection sees a source's article only together with its quiet mark
    and story: all are written in the insert's transaction, and a failure leaves none of them."""
    from digests.formats import RawArticle
    from digests.pipeline import analyze

    art = analyze(RawArticle(ORIGINAL[0], ORIGINAL[1], source="边疆日报"))

    def fail(seq, article):
        store.mark_quiet([(seq, "baseline")], commit=False)
        raise RuntimeError("linking failed")

    with pytest.raises(RuntimeError):
        store.add([art], on_added=fail)
    assert store.count() == 0 and store.quiet_seqs([1]) == set()

    def link(seq, article):
        store.mark_quiet([(seq, "baseline")], commit=False)
        stories.link_article(store, seq, article.title, article.paragraphs, commit=False)

    (result,) = store.add([art], on_added=link)
    seq = store.seq_of(result.id)
    assert store.quiet_seqs([seq]) == {seq} and store.stories_of([seq]) == {seq: seq}
