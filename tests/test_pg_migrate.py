"""``digestbot migrate-db``: a SQLite installation (articles, regions, chats, subscriptions, ledger,
state, corpus files) copied into an empty PostgreSQL database, counts checked, search unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from digests.commands import main
from digests.ingest import ingest
from digests.ledger import Ledger, Planned
from digests.search import keyword_search
from digests.store import Store

from .conftest import CORPUS
from .pgkit import PG_URL, pg_schema, requires_pg

pytestmark = requires_pg


def _installation(path: Path) -> None:
    with Store(path) as store:
        assert len(ingest(store, [CORPUS], workers=1).added) == 2
        store.upsert_chat(5, "private")
        store.upsert_chat(-7, "group", title="群")
        store.add_subscription(5, ["兵团"], [])
        sub = store.add_subscription(-7, [], ["650000"], mode="daily")
        store.remove_subscriptions(-7, [sub.id])  # ids with a gap
        store.add_subscription(-7, [], ["650000"], mode="daily", thread_id=3)
        ledger = Ledger(store, clock=lambda: 100.0)
        ledger.plan([Planned(5, 1, "instant", 100.0), Planned(-7, 2, "daily", 100.0)], cursor=2)
        ledger.claim([ledger.rows()[0].id])
        store.record_corpus_file("corpus/a.txt", 10, 20, "ingested")


def _url(schema: str) -> str:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def test_migrate_db_copies_everything_and_counts_match(tmp_path: Path, capsys) -> None:
    from digests.pgstore import PgStore, table_counts

    source = tmp_path / "old.db"
    _installation(source)
    with pg_schema() as schema:
        url = _url(schema)
        assert main(["migrate-db", "--from", str(source), "--to", url, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert "digestbot_test:***@" in out["to"]
        with Store(source) as old, PgStore(url) as new:
            assert out["rows"] == table_counts(old) == table_counts(new)
            assert out["rows"]["articles"] == 2 and out["rows"]["deliveries"] == 2
            assert [vars(s) for s in new.subscriptions()] == [vars(s) for s in old.subscriptions()]
            assert new.ledger.rows() == old.ledger.rows()
            assert new.get_state("planned_seq") == "2"
            for query in ("兵团", "党组织", "基层 -兵团", '"忠实履行"'):
                assert {h.article.id for h in keyword_search(new, query).hits} == {
                    h.article.id for h in keyword_search(old, query).hits
                }
            assert new.get_many([1, 2]).keys() == old.get_many([1, 2]).keys()
            newer = new.add_subscription(5, ["棉花"], [])  # the id sequence moved past the copy
            assert newer.id > max(s.id for s in old.subscriptions())
        # A second copy into the same database is refused: nothing is doubled.
        assert main(["migrate-db", "--from", str(source), "--to", url]) == 2
        assert "not empty" in capsys.readouterr().err


def test_migrate_db_refuses_what_it_cannot_copy(tmp_path: Path, capsys) -> None:
    assert main(["migrate-db", "--from", str(tmp_path / "none.db"), "--to", PG_URL]) == 2
    assert "no SQLite file" in capsys.readouterr().err
    assert main(["migrate-db", "--from", str(tmp_path), "--to", "mysql://x:pw@h/db"]) == 2
    err = capsys.readouterr().err
    assert "postgresql://" in err and "pw" not in err


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_cli_follows_digestbot_database_url(target: str, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DIGESTBOT_DB", str(tmp_path / "file.db"))
    with pg_schema() as schema:
        if target == "postgresql":
            monkeypatch.setenv("DIGESTBOT_DATABASE_URL", _url(schema))
        else:
            monkeypatch.delenv("DIGESTBOT_DATABASE_URL", raising=False)
        assert main(["ingest", str(CORPUS), "--workers", "1", "--json"]) == 0
        capsys.readouterr()
        assert main(["stats", "--json"]) == 0
        stats = json.loads(capsys.readouterr().out)
        assert stats["articles"] == 2
        assert (stats["db_path"].startswith("postgresql://")) == (target == "postgresql")
        assert (tmp_path / "file.db").exists() == (target == "sqlite")
