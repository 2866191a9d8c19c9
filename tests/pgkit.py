"""PostgreSQL for the tests: the server named by DIGESTBOT_TEST_DATABASE_URL (``.ci/pg`` starts
one), a fresh schema per store, dropped afterwards; the PostgreSQL half skips, saying why, only
when no URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from digests.store import Clock, Store, utcnow

PG_URL = os.environ.get("DIGESTBOT_TEST_DATABASE_URL", "").strip()
NO_PG = (
    "DIGESTBOT_TEST_DATABASE_URL is not set: no PostgreSQL server to test against "
    "(.ci/pg starts one)"
)
requires_pg = pytest.mark.skipif(not PG_URL, reason=NO_PG)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=requires_pg)]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema name in the test database, dropped (with its tables) afterwards."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield schema
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextmanager
def two_stores(kind: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two independent stores on one database (two connections, as two processes have)."""
    if kind == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex[:8]}.db"
        with Store(path) as a, Store(path) as b:
            yield a, b
        return
    if not PG_URL:
        pytest.skip(NO_PG)
    from digests.pgstore import PgStore

    with (
        pg_schema() as schema,
        PgStore(PG_URL, schema=schema) as a,
        PgStore(PG_URL, schema=schema) as b,
    ):
        yield a, b


@contextmanager
def open_backend(kind: str, tmp_path: Path, clock: Clock = utcnow) -> Iterator[Store]:
    """An empty store of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        with Store(tmp_path / f"{uuid.uuid4().hex[:8]}.db", clock=clock) as store:
            yield store
        return
    if not PG_URL:
        pytest.skip(NO_PG)
    from digests.pgstore import PgStore

    with pg_schema() as schema, PgStore(PG_URL, clock=clock, schema=schema) as store:
        yield store


def seeded_schema() -> Iterator[str]:
    """A schema of its own on the test server, holding the seed articles; its URL (for processes
    that open the store themselves). A generator, for ``yield from`` in a fixture."""
    if not PG_URL:
        pytest.skip(NO_PG)
    import psycopg

    from digests.ingest import ingest
    from digests.pgstore import PgStore

    from .conftest import CORPUS

    with pg_schema() as schema:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        with PgStore(url) as store:
            assert len(ingest(store, [CORPUS], workers=1).added) == 2
        yield url
