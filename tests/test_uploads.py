"""Administrators' uploads: unique, safe names; ingested once; rejections summarised in one
reply; nothing rejected left on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from digests.formats import MAX_FILE_BYTES

from .botkit import running_bot

ADMIN = 9001
GOOD = "兵团职工积极参加培训，学习农业技术，提高种植水平。"


@pytest.fixture
async def admin_bot(seeded_db: Path, tmp_path: Path):
    db, corpus = tmp_path / "u.db", tmp_path / "corpus"
    shutil.copy(seeded_db, db)
    corpus.mkdir()
    async with running_bot(
        db, corpus=corpus, poll_seconds=0.2, admins=frozenset({ADMIN}), lang="en"
    ) as env:
        yield env, corpus


async def upload(env, name: str, content: bytes, *, drop_size: bool = False) -> str:
    before = len(env.fake.messages_to(ADMIN))
    env.fake.document(ADMIN, name, content)
    if drop_size:  # some clients send no file_size
        del env.fake._updates[-1]["message"]["document"]["file_size"]
    sent = await env.fake.wait_for_messages(ADMIN, before + 1, timeout=20)
    return sent[-1].text or ""


def uploads(corpus: Path) -> list[Path]:
    folder = corpus / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_long_cjk_names_and_the_same_name_twice_are_both_kept(admin_bot) -> None:
    env, corpus = admin_bot
    name = "新疆生产建设兵团" * 30 + ".txt"  # 720 bytes of UTF-8
    first = await upload(env, name, f"第一篇\u3000\u3000{GOOD}".encode())
    second = await upload(env, name, f"第二篇\u3000\u3000{GOOD}再来。".encode())
    assert "Added 1" in first and "Added 1" in second
    kept = uploads(corpus)
    assert len(kept) == 2 and all(len(p.name.encode()) < 200 for p in kept)
    assert all(p.suffix == ".txt" for p in kept)


async def test_an_upload_is_ingested_once_not_again_by_the_poll(admin_bot) -> None:
    env, corpus = admin_bot
    await upload(env, "one.txt", f"只导入一次\u3000\u3000{GOOD}".encode())
    polls = env.store.get_state("last_poll")
    await env.fake.wait_for(lambda: env.store.get_state("last_poll") != polls, timeout=10)
    polls = env.store.get_state("last_poll")
    await env.fake.wait_for(lambda: env.store.get_state("last_poll") != polls, timeout=10)
    last = json.loads(env.store.get_state("last_poll"))
    assert (last["added"], last["duplicates"]) == (0, 0)
    assert len(uploads(corpus)) == 1


async def test_junk_lines_get_one_summarised_reply_and_the_file_is_deleted(admin_bot) -> None:
    env, corpus = admin_bot
    text = await upload(env, "junk.jsonl", b"x\n" * 50_000)
    assert "rejected 50000" in text
    assert text.count("· ") == 6  # the first five reasons and "… more"
    assert "and 49995 more" in text
    assert len(env.fake.messages_to(ADMIN)) == 1  # one reply, not thousands
    assert uploads(corpus) == []


async def test_a_too_big_file_without_file_size_is_not_kept(admin_bot) -> None:
    env, corpus = admin_bot
    big = ("大文件\u3000\u3000" + GOOD * (MAX_FILE_BYTES // len(GOOD.encode()) + 10)).encode()
    text = await upload(env, "big.txt", big, drop_size=True)
    assert "too large" in text
    assert uploads(corpus) == []
