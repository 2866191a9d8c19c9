"""Shared fixtures: a fresh store per test, the shipped corpus, a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digests.store import Store

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEEDS = sorted(CORPUS.glob("*.txt"))
PARTY_TITLE = "党建引领发展 忠实履行使命"
GRASSROOTS_TITLE = "提升基层党组织凝聚力战斗力"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


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
