"""Process-wide loaders run once even when threads ask at the same moment (digests/once.py): the
bot's warm-up job and a source poll's first analysis used to build the gazetteer twice at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest

from digests.once import once

from .conftest import ROOT


def test_threads_that_ask_together_share_one_load() -> None:
    calls: list[int] = []

    @once
    def load() -> object:
        calls.append(1)
        time.sleep(0.1)  # long enough for every thread to ask meanwhile
        return object()

    barrier = threading.Barrier(4)
    results: list[object] = []

    def ask() -> None:
        barrier.wait()
        results.append(load())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert load() is results[0] and len(calls) == 1


def test_a_failed_load_is_tried_again() -> None:
    attempts: list[int] = []

    @once
    def load() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return 42

    with pytest.raises(OSError):
        load()
    assert load() == 42 and load() == 42 and len(attempts) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX's")
def test_a_child_forked_while_a_thread_loads_loads_for_itself() -> None:
    # the ingest's fork-context pool copies the process as it is: a lock another thread holds
    # at that moment stays held in the child, where no thread will ever release it
    parent = os.getpid()
    started, release = threading.Event(), threading.Event()

    @once
    def load() -> str:
        if os.getpid() != parent:
            return "child"
        started.set()
        release.wait()
        return "parent"

    holder = threading.Thread(target=load)
    holder.start()
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=lambda: writer.send(load()))
    try:
        assert started.wait(60)
        child.start()
        answered = reader.poll(60)  # at once when it works; a stuck child never answers
    finally:
        release.set()
        holder.join()
        child.kill()
        child.join()
    assert answered and reader.recv() == "child"
    assert load() == "parent"


# two threads ask for the gazetteer, jieba's IDF table and OpenCC at the same moment, in a fresh
# process (nothing loaded yet), counting how many times each is built
TWO_THREADS = """
import json, threading
import digests.keywords, digests.regions, digests.text

built = {"gazetteer": 0, "idf": 0, "opencc": 0}
real_gazetteer, real_idf = digests.regions.Gazetteer.__init__, digests.keywords.Idf.from_jieba.__func__
import opencc
real_opencc = opencc.OpenCC.__init__

def gazetteer(self, *a, **k):
    built["gazetteer"] += 1
    real_gazetteer(self, *a, **k)

def idf(cls, *a, **k):
    built["idf"] += 1
    return real_idf(cls, *a, **k)

def converter(self, *a, **k):
    built["opencc"] += 1
    real_opencc(self, *a, **k)

digests.regions.Gazetteer.__init__ = gazetteer
digests.keywords.Idf.from_jieba = classmethod(idf)
opencc.OpenCC.__init__ = converter
barrier = threading.Barrier(2)

def ask():
    barrier.wait()
    digests.regions.load_gazetteer()
    digests.keywords.Idf.default()
    digests.text.to_simplified("預熱")

threads = [threading.Thread(target=ask) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(built))
"""


def test_the_engines_tables_are_built_once_when_two_threads_ask_at_once() -> None:
    out = subprocess.run(
        [sys.executable, "-c", TWO_THREADS], cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "gazetteer": 1, "idf": 1, "opencc": 1,
    }  # fmt: skip
