"""The delivery ledger's tests (tests/test_ledger.py) again, on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from .pgkit import open_backend
from .test_ledger import *  # noqa: F403  (every test and fixture, collected again here)


@pytest.fixture(params=["postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock):
    with open_backend(request.param, tmp_path, clock) as s:
        yield s


del test_chat_gone_is_atomic  # noqa: F821  (SQLite trigger syntax; its PostgreSQL twin follows)


def test_chat_gone_is_atomic_on_postgresql(ledger, store, wall) -> None:
    import psycopg

    planned(ledger, wall, (1, 1))  # noqa: F405
    with store.connection() as conn:
        conn.execute(
            "CREATE FUNCTION no_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER no_skip BEFORE UPDATE ON deliveries FOR EACH ROW "
            "WHEN (new.status = 'skipped') EXECUTE FUNCTION no_skip()"
        )
    with pytest.raises(psycopg.errors.RaiseException):
        ledger.chat_gone(1, "blocked")
    assert store.get_chat(1).status == "active"  # the pause was rolled back with the skip
    assert status(ledger) == ["pending"]  # noqa: F405
