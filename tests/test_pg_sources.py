"""Feed sources and stories (tests/test_sources.py, tests/test_stories.py) again, on PostgreSQL:
the source tables, quiet articles and story links on the shared server."""

from __future__ import annotations

from pathlib import Path

import pytest

from .pgkit import open_backend
from .test_sources import *  # noqa: F403  (every test and fixture, collected again here)
from .test_stories import *  # noqa: F403

del test_labelled_set_precision_and_recall  # noqa: F821  (no store: once, in test_stories, is enough)


@pytest.fixture(params=["postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock):
    with open_backend(request.param, tmp_path, clock) as s:
        yield s
