"""``digestbot source …``: add, list, poll, import, export, remove, each with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

from .feedserver import DATA, ThreadedSite


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setenv("DIGESTBOT_FETCH_ALLOW", "127.0.0.1")
    with ThreadedSite() as site:
        site.add("/rss.xml", (DATA / "feeds/rss20.xml").read_bytes(), etag='"a"')
        site.add("/atom.xml", (DATA / "feeds/atom.xml").read_bytes())
        yield site


def run_json(capsys, *argv: str):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_add_list_poll_export_remove(served, tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.db")
    code, added = run_json(
        capsys, "--db", db, "source", "add", served.url("/rss.xml"), "--name", "边疆"
    )
    assert (
        code == 0
        and added["kind"] == "feed"
        and added["name"] == "边疆"
        and added["found_items"] == 3
    )
    code, again = run_json(capsys, "--db", db, "source", "add", served.url("/rss.xml"))
    assert code == 1 and "already" in again["error"]
    code, listed = run_json(capsys, "--db", db, "source", "list")
    assert [s["name"] for s in listed] == ["边疆"] and listed[0]["status"] == "active"
    code, report = run_json(capsys, "--db", db, "source", "poll", "--once")
    assert code == 0 and report["sources"][0]["quiet"] == 3
    code, report = run_json(capsys, "--db", db, "source", "poll", "--once")
    assert report["sources"] == []  # nothing due
    code, report = run_json(capsys, "--db", db, "source", "poll", "--all")
    assert report["unchanged"] == 1 and report["added"] == 0  # 304
    code, exported = run_json(capsys, "--db", db, "source", "export")
    assert served.url("/rss.xml") in exported["opml"] and 'text="边疆"' in exported["opml"]
    code, removed = run_json(capsys, "--db", db, "source", "remove", str(listed[0]["id"]))
    assert code == 0 and removed["removed"]
    code, listed = run_json(capsys, "--db", db, "source", "list")
    assert listed == []


def test_import_opml_nested_with_custom_titles(served, tmp_path: Path, capsys) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?><opml version="1.0"><head><title>RSStT</title></head>
        <body><outline text="新疆"><outline text="我的边疆" title="边疆日报·要闻" type="rss" xmlUrl="{served.url("/rss.xml")}"/>
        <outline text="兵团" type="rss" xmlUrl="{served.url("/atom.xml")}"/></outline>
        <outline text="坏的" type="rss" xmlUrl="{served.url("/missing.xml")}"/></body></opml>""",
        "utf-8",
    )
    db = str(tmp_path / "s.db")
    code, rows = run_json(capsys, "--db", db, "source", "import", str(opml))
    assert code == 1  # one feed could not be added
    names = {r.get("name") for r in rows}
    assert {"我的边疆", "兵团"} <= names
    assert any("HTTP 404" in (r.get("error") or "") for r in rows)


def test_import_refuses_entity_declarations(tmp_path: Path, capsys) -> None:
    opml = tmp_path / "bomb.opml"
    opml.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<opml version="1.0"><body><outline text="&b;" xmlUrl="https://x.example.cn/rss"/></body></opml>',
        "utf-8",
    )
    code = main(["--db", str(tmp_path / "s.db"), "source", "import", str(opml)])
    assert code == 1 and "entities" in capsys.readouterr().err


def test_refused_address_is_one_clear_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DIGESTBOT_FETCH_ALLOW", raising=False)
    code = main(["--db", str(tmp_path / "s.db"), "source", "add", "http://127.0.0.1:9/rss.xml"])
    err = capsys.readouterr().err.strip()
    assert (
        code == 1
        and err == "cannot add http://127.0.0.1:9/rss.xml: 127.0.0.1 is a loopback address"
    )
