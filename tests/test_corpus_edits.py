"""An edited corpus file replaces its article (same id and number, search updated, nothing
delivered again); a deleted file's article can be removed (`digestbot remove`, /remove)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from bot.cli import main
from digests.ingest import index_values
from digests.planning import plan
from digests.search import keyword_search
from digests.store import Store
from digests.watch import poll_corpus

from .botkit import running_bot

ADMIN = 9001


def write(path: Path, title: str, text: str, bump: int = 0) -> None:
    path.write_text(json.dumps({"title": title, "text": text}, ensure_ascii=False), "utf-8")
    if bump:  # another mtime, even within the file system's time granularity
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def hits(store: Store, query: str) -> list[str]:
    return [h.article.id for h in keyword_search(store, query, limit=20).hits]


def test_an_edited_file_replaces_its_article(store: Store, tmp_path: Path, clock) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    write(corpus / "a.json", "棉花丰收", "兵团职工在喀什采摘棉花，产量创新高。")
    write(corpus / "b.json", "另一篇", "阿勒泰牧民开始秋季转场，医疗队随行。")
    store.upsert_chat(1, "private")
    store.add_subscription(1, [], [])
    first = poll_corpus(store, corpus, settle_seconds=0)
    assert len(first.report.added) == 2
    assert plan(store, clock) == 2
    (old_id,) = hits(store, "棉花")
    old = store.get(old_id)

    write(corpus / "a.json", "葡萄丰收", "兵团职工在吐鲁番采摘葡萄，产量创新高。", bump=-5)
    second = poll_corpus(store, corpus, settle_seconds=0)
    assert [r.id for r in second.report.replaced] == [old_id] and not second.report.added
    assert store.count() == 2
    new = store.get(old_id)
    assert new.title == "葡萄丰收" and new.seq == old.seq
    assert hits(store, "葡萄") == [old_id] and hits(store, "棉花") == []
    assert plan(store, clock) == 0  # not delivered again
    assert any(code.startswith("6504") for code in new.regions)  # 吐鲁番, from the new text
    assert not any(code.startswith("6531") for code in new.regions)  # 喀什 is gone


def test_replacing_and_removing_never_scan_the_region_tags(store: Store, tmp_path: Path) -> None:
    """``article_regions`` has ~15 rows per article (15 million at 1M): an article's rows are
    found by their keys, never by a scan (one took ~20 s at 1M)."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    write(corpus / "a.json", "棉花丰收", "兵团职工在喀什地区莎车县采摘棉花，产量创新高。")
    write(corpus / "b.json", "牧民转场", "阿勒泰地区牧民开始秋季转场，医疗队随行。")
    poll_corpus(store, corpus, settle_seconds=0)
    counts = dict(store.conn.execute("SELECT code, articles FROM region_counts"))
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    write(corpus / "a.json", "葡萄丰收", "兵团职工在吐鲁番市采摘葡萄，产量创新高。", bump=-5)
    assert len(poll_corpus(store, corpus, settle_seconds=0).report.replaced) == 1
    (b,) = [a for a in store.latest(5) if a.title == "牧民转场"]
    store.remove_article(b, index_values(b))
    store.conn.set_trace_callback(None)
    touching = [sql for sql in statements if "article_regions" in sql]
    assert any(sql.startswith("DELETE") for sql in touching)
    for sql in touching:
        plan_rows = store.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        assert not any(
            "SCAN article_regions" in row[-1] for row in plan_rows
        ), (sql, plan_rows)  # fmt: skip
    # and the counts are what the two articles' tags say
    left = dict(store.conn.execute("SELECT code, articles FROM region_counts"))
    (a,) = store.latest(5)
    assert left == {code: 1 for code in a.regions}
    assert set(counts) >= {code for code in counts if code.startswith("6543")}  # 阿勒泰 was there
    assert not any(code.startswith("6543") for code in left)


def test_remove_takes_an_article_out_and_its_number_is_not_reused(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    write(corpus / "a.json", "棉花丰收", "兵团职工在喀什采摘棉花，产量创新高。")
    write(corpus / "b.json", "葡萄丰收", "兵团职工在吐鲁番采摘葡萄，产量创新高。")
    db = str(tmp_path / "r.db")
    assert main(["--db", db, "ingest", str(corpus)]) == 0
    with Store(db) as store:
        (grape,) = hits(store, "葡萄")
        removed_seq = store.get(grape).seq
        regions_before = store.region_counts()
    (corpus / "b.json").unlink()
    capsys.readouterr()
    assert main(["--db", db, "remove", grape]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["--db", db, "remove", grape]) == 1  # gone already
    with Store(db) as store:
        assert store.get(grape) is None and store.count() == 1
        assert hits(store, "葡萄") == [] and len(hits(store, "棉花")) == 1
        assert sum(store.region_counts().values()) < sum(regions_before.values())
    write(corpus / "c.json", "新文章", "阿勒泰牧民开始秋季转场，医疗队随行。")
    assert main(["--db", db, "ingest", str(corpus / "c.json")]) == 0
    with Store(db) as store:
        (newest,) = hits(store, "转场")
        assert store.get(newest).seq > removed_seq


async def test_admins_remove_articles_in_the_chat(bot_db_template: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    async with running_bot(db, admins=frozenset({ADMIN})) as env:
        article = env.store.latest(1)[0]
        (refused,) = await env.say(f"/remove {article.id}", chat=4242)
        assert env.store.get(article.id) is not None and "管理员" in refused.text
        (done,) = await env.say(f"/remove {article.id}", chat=ADMIN)
        assert article.id in done.text and env.store.get(article.id) is None
        (missing,) = await env.say(f"/remove {article.id}", chat=ADMIN)
        assert article.id in missing.text and "没有" in missing.text


async def until(predicate, timeout: float = 120.0) -> None:
    """Wait for a condition the fake Bot API does not see (bounded)."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not met: {predicate.__code__.co_names}")


async def test_first_poll_at_start_up_and_indexing_status(seeded_db: Path, tmp_path: Path) -> None:
    import shutil

    db, corpus = tmp_path / "i.db", tmp_path / "corpus"
    shutil.copy(seeded_db, db)
    corpus.mkdir()
    for i in range(600):
        write(
            corpus / f"{i:03d}.json", f"连队新闻{i}", f"第{i}连职工积极参加农业技术培训，学习滴灌。"
        )
    async with running_bot(db, corpus=corpus, poll_seconds=3600) as env:
        status = env.services.ingest_status
        await until(lambda: status.running and status.files_total)
        (reply,) = await env.say("/search 连队新闻599")
        assert "正在建立索引" in reply.text and "/ 600" in reply.text
        await until(lambda: not status.running)
        (reply,) = await env.say("/search 滴灌")
        assert "正在建立索引" not in reply.text and "连队新闻" in reply.text
