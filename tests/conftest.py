"""Shared fixtures: a fresh store per test, the shipped corpus, a controllable clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digests.formats import RawArticle, read_file
from digests.store import Store

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEEDS = sorted(CORPUS.glob("*.txt"))
assert SEEDS, f"no seed articles in {CORPUS}"
PARTY_TITLE = "党建引领发展 忠实履行使命"
GRASSROOTS_TITLE = "提升基层党组织凝聚力战斗力"


def read_seed(path: Path) -> tuple[str, list[str]]:
    """A corpus file's title and paragraphs, read the way ingestion reads it."""
    (article,) = read_file(path)
    assert isinstance(article, RawArticle), article
    return article.title, article.paragraphs


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def _leaves_numpys_paths() -> Iterator[None]:
    """A test that leaves the process lean would make the next ones test the plain paths
    only (``digestbot run`` run in-process turns it on, and back off when it returns)."""
    from digests import numeric

    yield
    if numeric.is_lean():
        numeric.set_lean(False)
        pytest.fail("the test left the process lean (digests.numeric)")


@pytest.fixture
def lean() -> Iterator[None]:
    """The test runs as the bot does: on the plain-Python paths, numpy never asked for."""
    from digests import numeric

    numeric.set_lean(True)
    try:
        yield
    finally:
        numeric.set_lean(False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock):
    with Store(tmp_path / "test.db", clock=clock) as s:
        yield s


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the two shipped seed articles (built once per session)."""
    from digests.ingest import ingest

    path = tmp_path_factory.mktemp("seeded") / "seeds.db"
    with Store(path) as s:
        report = ingest(s, [CORPUS], workers=1)
        assert len(report.added) == 2 and report.ok
    return path


@pytest.fixture
def seeded(seeded_db: Path, tmp_path: Path):
    """A private copy of the seeded database."""
    import shutil

    copy = tmp_path / "seeded.db"
    shutil.copy(seeded_db, copy)
    with Store(copy) as s:
        yield s


EXTRA_ARTICLES = [
    (f"兵团棉花新闻{i}", f"第{i}团职工采摘棉花，兵团棉花产量创新高。塔里木河畔的棉花长势喜人。" * 3)
    for i in range(1, 13)
] + [
    ("阿勒泰牧民转场", "阿勒泰地区的牧民开始秋季转场，兵团派出医疗队随行服务。"),
    ("一篇很长的文章", "长" * 5000 + "。"),
]


@pytest.fixture(scope="session")
def bot_db_template(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds plus extra articles (enough for several result pages), built once."""
    import shutil

    from digests.ingest import ingest

    from .botkit import write_articles

    path = tmp_path_factory.mktemp("botdb") / "bot.db"
    shutil.copy(seeded_db, path)
    folder = write_articles(tmp_path_factory.mktemp("extra"), EXTRA_ARTICLES)
    with Store(path) as s:
        assert len(ingest(s, [folder], workers=1).added) == len(EXTRA_ARTICLES)
    return path


@pytest.fixture
async def bot(bot_db_template: Path, tmp_path: Path):
    import shutil

    from .botkit import running_bot

    db = tmp_path / "bot.db"
    shutil.copy(bot_db_template, db)
    async with running_bot(db) as env:
        yield env


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch):
    """A local HTTP server for source tests; 127.0.0.1 is exempted from the fetcher's address
    checks through DIGESTBOT_FETCH_ALLOW, as an administrator would for a test server."""
    from .feedserver import LocalSite

    monkeypatch.setenv("DIGESTBOT_FETCH_ALLOW", "127.0.0.1")
    server = await LocalSite().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def paths(seeded_db: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the seeded database and an empty corpus folder, for a bot run of one test."""
    db = tmp_path / "d.db"
    shutil.copy(seeded_db, db)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return db, corpus
