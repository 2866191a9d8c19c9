"""The engine's command line: ingest, search, region, summarize, show, stats.

The ``digestbot`` console script is :func:`bot.cli.main`, which adds the bot's commands (run, play).

Every command accepts ``--json`` (where it prints results) and then writes exactly one JSON document
on stdout and nothing else there; messages for people go to stderr. Exit status: 0 success, 1 when
something was rejected or not found, 2 for usage or configuration errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends import is_database_url, open_store, store_target
from .dates import published_date
from .errors import DigestError, NotFound, QueryError
from .models import Article, Hit, Source

if TYPE_CHECKING:
    from .regions import Place

DEFAULT_DB = "data/digestbot.db"
DEFAULT_CORPUS = "corpus"

log = logging.getLogger("digestbot")


def db_path(arg: str | None) -> str:
    """``--db``, else ``DIGESTBOT_DATABASE_URL``, else ``DIGESTBOT_DB``, else the default file."""
    return store_target(arg)


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def region_labels(regions: dict[str, int], limit: int = 4) -> list[str]:
    from .regions import load_gazetteer
    from .search import most_specific

    return most_specific(load_gazetteer(), regions, limit)


def hit_dict(hit: Hit) -> dict[str, Any]:
    art = hit.article
    return {
        "id": art.id,
        "title": art.title,
        "score": round(hit.score, 4),
        "snippet": hit.snippet_text(),
        "matches": [text for text, marked in hit.snippet if marked],
        "regions": region_labels(art.regions),
        "region_codes": art.regions,
        "keywords": art.keywords,
        "added_at": art.added_at,
        "published": art.published,
        "url": art.url,
    }


def _print_hits(hits: Sequence[Hit], offset: int) -> None:
    for n, hit in enumerate(hits, offset + 1):
        art = hit.article
        print(f"{n}. {art.title}  [{art.id}]  score {hit.score:.3g}")
        if hit.snippet:
            print(f"   {hit.snippet_text()}")
        regions = "、".join(region_labels(art.regions)) or "—"
        print(f"   regions: {regions}   keywords: {'、'.join(art.keywords[:6]) or '—'}")
        published = published_date(art.published)
        print(f"   {f'published {published} · ' if published else ''}added {art.added_at}")


# -- commands -----------------------------------------------------------------------------------
LISTED_REJECTIONS = 50  # rejections printed one by one by `digestbot ingest` (all are counted)


def cmd_ingest(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .ingest import ingest

    stop = threading.Event()  # SIGTERM ends the run after the article in hand, committed
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if main_thread else None
    try:
        with open_store(db_path(args.db)) as store:
            report = ingest(store, [Path(p) for p in args.paths], workers=args.workers, stop=stop)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if args.json:
        _print_json(report.to_dict())
    else:
        for result in report.added:
            print(f"added      {result.id}  {result.title}  ({result.source_path})")
        for result in report.replaced:
            print(f"replaced   {result.id}  {result.title}  ({result.source_path})")
        for result in report.duplicates:
            print(
                f"duplicate  {result.id}  {result.title}  ({result.source_path}; "
                f"same text as {result.duplicate_of})"
            )
        for rejected in report.rejected[:LISTED_REJECTIONS]:
            _err(f"rejected   {rejected.source}: {rejected.reason}")
        if report.rejected_count > LISTED_REJECTIONS:
            _err(f"rejected   … and {report.rejected_count - LISTED_REJECTIONS} more")
        _err(
            f"{len(report.added)} added, "
            + (f"{len(report.replaced)} replaced, " if report.replaced else "")
            + f"{len(report.duplicates)} duplicates, {report.rejected_count} rejected"
            + (" (interrupted)" if report.interrupted else "")
        )
    return 0 if report.ok and not report.interrupted else 1


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove one article: out of search, regions and lists; its unsent deliveries skipped."""
    from .ingest import remove

    with open_store(db_path(args.db)) as store:
        article = remove(store, args.id)
    if article is None:
        if args.json:
            _print_json({"id": args.id, "error": "not found"})
        else:
            _err(f"no article with id {args.id}")
        return 1
    if args.json:
        _print_json({"id": article.id, "title": article.title, "removed": True})
    else:
        print(f"removed    {article.id}  {article.title}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .search import keyword_search

    query = " ".join(args.query)
    with open_store(db_path(args.db)) as store:
        try:
            results = keyword_search(store, query, limit=args.limit, offset=args.offset)
        except QueryError as exc:
            if args.json:
                _print_json({"query": query, "error": str(exc), "total": 0, "results": []})
            else:
                _err(str(exc))
            return 1
    if args.json:
        _print_json(
            {
                "query": query,
                "terms": results.terms,
                "total": results.total,
                "total_is_estimate": results.approximate,
                "offset": results.offset,
                "results": [hit_dict(h) for h in results.hits],
            }
        )
        return 0
    if not results.hits:
        _err(f"no articles match {query}")
        return 0
    first, last = results.offset + 1, results.offset + len(results.hits)
    about = "about " if results.approximate else ""
    print(f"{about}{results.total:,} results for {query} ({first}–{last}):")
    _print_hits(results.hits, results.offset)
    return 0


def place_dict(place: Place) -> dict[str, Any]:
    from .regions import load_gazetteer

    path = [p.name for p in load_gazetteer().path(place.code)]
    return {"code": place.code, "name": place.name, "level": place.level, "path": path}


def cmd_region(args: argparse.Namespace) -> int:
    from .regions import load_gazetteer
    from .search import region_search

    name = " ".join(args.name)
    with open_store(db_path(args.db)) as store:
        try:
            found = region_search(
                store, load_gazetteer(), name, limit=args.limit, offset=args.offset
            )
        except NotFound as exc:
            resolution = load_gazetteer().resolve(name)
            if args.json:
                _print_json(
                    {
                        "query": name,
                        "error": str(exc),
                        "suggestions": [place_dict(p) for p in resolution.suggestions],
                        "results": [],
                    }
                )
            else:
                _err(str(exc))
            return 1
    results = found.results
    if args.json:
        _print_json(
            {
                "query": name,
                "place": place_dict(found.place),
                "alternatives": [place_dict(p) for p in found.alternatives],
                "total": results.total,
                "offset": results.offset,
                "results": [hit_dict(h) | {"mentions": int(h.score)} for h in results.hits],
            }
        )
        return 0
    print(f"{name} → {' › '.join(place_dict(found.place)['path'])}")
    if found.alternatives:
        print(
            "   also called so: "
            + "、".join(" › ".join(place_dict(p)["path"]) for p in found.alternatives)
        )
    if not results.hits:
        print("no articles mention this place yet")
        return 0
    print(f"{results.total} articles ({results.offset + 1}–{results.offset + len(results.hits)}):")
    _print_hits(results.hits, results.offset)
    return 0


def cmd_summarize(args: argparse.Namespace) -> int:
    from .formats import read_file
    from .pipeline import summary_of

    if args.id:
        with open_store(db_path(args.db)) as store:
            art = store.get(args.id)
        if art is None:
            _err(f"no article with id {args.id}")
            return 1
        title, paragraphs, ident = art.title, art.paragraphs, art.id
    else:
        items = list(read_file(Path(args.file)))
        if not items or isinstance(items[0], DigestError):
            _err(str(items[0]) if items else f"{args.file}: no article")
            return 1
        title, paragraphs, ident = items[0].title, items[0].paragraphs, None
    summary = summary_of(title, paragraphs, args.sentences, args.chars)
    if args.json:
        _print_json({"id": ident, "title": title, "summary": summary})
    else:
        print(title)
        for sentence in summary:
            print(f"  {sentence}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_store(db_path(args.db)) as store:
        art = store.get(args.id)
    if art is None:
        if args.json:
            _print_json({"id": args.id, "error": "not found"})
        else:
            _err(f"no article with id {args.id}")
        return 1
    if args.json:
        _print_json(article_dict(art))
        return 0
    print(art.title)
    published = published_date(art.published)
    dates = (f"published {published} · " if published else "") + f"added {art.added_at}"
    print(f"id {art.id} · {dates}" + (f" · {art.url}" if art.url else ""))
    print("regions: " + ("、".join(region_labels(art.regions, limit=8)) or "—"))
    print("keywords: " + ("、".join(art.keywords) or "—"))
    print("summary:")
    for sentence in art.summary:
        print(f"  {sentence}")
    print()
    for paragraph in art.paragraphs:
        print(paragraph)
    return 0


def article_dict(art: Article) -> dict[str, Any]:
    data = art.to_dict(full=True)
    data["region_names"] = region_labels(art.regions, limit=8)
    return data


def cmd_stats(args: argparse.Namespace) -> int:
    with open_store(db_path(args.db)) as store:
        stats = store.stats()
    if args.json:
        _print_json(stats)
    else:
        print(f"articles        {stats['articles']:,}")
        print(f"regions tagged  {stats['regions_tagged']:,} places, {stats['region_tags']:,} tags")
        print(f"database        {stats['db_path']} ({stats['db_bytes'] / 1e6:.2f} MB)")
    return 0


# -- sources (digests.sources) ------------------------------------------------------------------
def _source_row(source: Source) -> dict[str, Any]:
    from datetime import UTC, datetime

    def when(ts: float | None) -> str | None:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None

    data: dict[str, Any] = source.to_dict()
    for key in ("next_due", "last_success", "last_checked", "failing_since", "created_at"):
        data[key] = when(data[key])
    return data


def cmd_source_add(args: argparse.Namespace) -> int:
    import asyncio

    from .fetch import Fetcher
    from .sources import Probe, add_source

    async def go() -> tuple[Source, Probe]:
        with open_store(db_path(args.db)) as store:
            async with Fetcher() as fetcher:
                return await add_source(store, fetcher, args.url, args.name)

    try:
        source, found = asyncio.run(go())
    except DigestError as exc:
        if args.json:
            _print_json({"url": args.url, "error": str(exc)})
        else:
            _err(f"cannot add {args.url}: {exc}")
        return 1
    if args.json:
        _print_json(_source_row(source) | {"found_items": found.items, "problem": found.problem})
    else:
        print(f"#{source.id} {source.name} ({source.kind}, {found.items} items) {source.url}")
        if found.problem:
            _err(f"note: {found.problem}")
    return 0


def cmd_source_list(args: argparse.Namespace) -> int:
    with open_store(db_path(args.db)) as store:
        sources = store.sources()
    rows = [_source_row(s) for s in sources]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        _err("no sources yet: digestbot source add URL")
    for row in rows:
        print(
            f"#{row['id']} [{row['status']}] {row['name']} ({row['kind']}) {row['url']}\n"
            f"   items {row['items']} · last success {row['last_success'] or '—'} · "
            f"next {row['next_due'] or 'now'}"
            + (f" · error: {row['last_error']}" if row["last_error"] else "")
        )
    return 0


def cmd_source_remove(args: argparse.Namespace) -> int:
    with open_store(db_path(args.db)) as store:
        removed = store.remove_source(args.id)
    if args.json:
        _print_json({"id": args.id, "removed": removed})
    elif not removed:
        _err(f"no source #{args.id}")
    return 0 if removed else 1


def cmd_source_poll(args: argparse.Namespace) -> int:
    from .sources import run_round

    report = run_round(db_path(args.db), everything=args.all)
    if args.json:
        _print_json(report.to_dict())
    else:
        for item in report.sources:
            line = f"#{item.source_id} {item.name}: {item.status}"
            if item.added or item.quiet:
                line += f", {len(item.added)} new, {item.quiet} stored quietly"
            if item.duplicates:
                line += f", {item.duplicates} duplicates"
            if item.error:
                line += f" ({item.error})"
            if item.disabled:
                line += " — disabled"
            print(line)
        data = report.to_dict()
        _err(
            f"{data['added']} added, {data['unchanged']} unchanged, {data['failed']} failed "
            f"in {data['seconds']:.1f} s"
        )
    return 0 if all(r.status != "failed" for r in report.sources) else 1


def cmd_source_import(args: argparse.Namespace) -> int:
    import asyncio

    from .fetch import Fetcher
    from .opml import read_opml
    from .sources import import_outlines

    outlines = read_opml(Path(args.file).read_bytes())

    async def go() -> list[dict[str, Any]]:
        with open_store(db_path(args.db)) as store:
            async with Fetcher() as fetcher:
                return await import_outlines(store, fetcher, outlines)

    results = asyncio.run(go())
    if args.json:
        _print_json(results)
    else:
        for row in results:
            if row.get("error"):
                _err(f"skipped {row['url']}: {row['error']}")
            else:
                print(f"#{row['id']} {row['name']} ({row['kind']}) {row['url']}")
    return 0 if all(not r.get("error") for r in results) else 1


def cmd_source_export(args: argparse.Namespace) -> int:
    from .opml import write_opml

    with open_store(db_path(args.db)) as store:
        data = write_opml(store.sources())
    if args.json:
        _print_json({"opml": data.decode("utf-8")})
    else:
        sys.stdout.write(data.decode("utf-8") + "\n")
    return 0


def add_source_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    source = sub.add_parser("source", help="feeds and web pages polled into the corpus")
    ssub = source.add_subparsers(dest="source_command", required=True)
    p = ssub.add_parser("add", help="check a URL (feed, page, rsshub://route) and add it")
    p.add_argument("url")
    p.add_argument("--name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_add, creates_db=True)
    p = ssub.add_parser("list", help="sources with their status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_list)
    p = ssub.add_parser("remove", help="forget a source (its articles stay)")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_remove)
    p = ssub.add_parser("poll", help="one polling round over the due sources")
    p.add_argument("--once", action="store_true", help="one round, then exit (the default)")
    p.add_argument("--all", action="store_true", help="every active source, due or not")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_poll)
    p = ssub.add_parser("import", help="add the feeds of an OPML file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_import, creates_db=True)
    p = ssub.add_parser("export", help="the sources as OPML on stdout")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_source_export)


DB_HELP = (
    "SQLite file or postgresql:// URL (default: $DIGESTBOT_DATABASE_URL, $DIGESTBOT_DB, "
    "data/digestbot.db)"
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digestbot")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot",
        description="Digests of Chinese articles: search, regions, summaries, bot.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--db", help=DB_HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add article files or folders to the store")
    p.set_defaults(creates_db=True)
    p.add_argument("paths", nargs="+")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="keyword search")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("region", help="articles that mention a place or anything inside it")
    p.add_argument("name", nargs="+")
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_region)

    p = sub.add_parser("summarize", help="extractive summary of a file or a stored article")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("file", nargs="?")
    src.add_argument("--id")
    p.add_argument("--sentences", type=int, default=3)
    p.add_argument("--chars", type=int, default=0, help="character budget (default ~220 per 3)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("show", help="one stored article")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("remove", help="remove a stored article (e.g. its corpus file was deleted)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("stats", help="articles, regions tagged, database size")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    add_migrate_db(sub)

    add_source_parsers(sub)
    return parser


def accept_db_after_command(parser: argparse.ArgumentParser) -> None:
    """``digestbot stats --db x.db`` as well as ``digestbot --db x.db stats``: every subcommand
    takes ``--db`` too (it leaves the value given before the command alone when absent)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any("--db" in a.option_strings for a in sub._actions):
                    sub.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
                accept_db_after_command(sub)  # ``source add URL --db x.db``


def missing_database(args: argparse.Namespace) -> str | None:
    """The database path when this command only reads one and it does not exist.

    Only ``ingest``, ``source add``/``import`` and ``run``/``play`` (``creates_db``) create a
    database; ``summarize FILE`` needs none."""
    if getattr(args, "creates_db", False):
        return None
    if getattr(args, "func", None) is cmd_summarize and not args.id:
        return None
    path = db_path(args.db)
    if is_database_url(path):  # a server: opening it says clearly when it is not there
        return None
    return None if Path(path).exists() else path


def main(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command; ``parser`` lets the bot layer add its own commands (run, play)."""
    parser = parser or build_parser()
    accept_db_after_command(parser)
    args = parser.parse_args(argv)
    level_name = os.environ.get("DIGESTBOT_LOG_LEVEL", "DEBUG" if args.verbose else "WARNING")
    logging.basicConfig(
        level=getattr(logging, level_name.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if argv is None and getattr(args, "func", None) is cmd_ingest:  # the command line's
        from .hugepages import reexec_with_huge_pages

        reexec_with_huge_pages()  # a bulk load's writer, faster on huge pages (see the module)
    if getattr(args, "sentences", 1) < 1 or getattr(args, "limit", 1) < 1:
        parser.error("--sentences and --limit must be at least 1")
    if getattr(args, "offset", 0) < 0:
        parser.error("--offset must not be negative")
    missing = missing_database(args)
    if missing is not None:
        if getattr(args, "json", False):
            _print_json({"error": "no database", "db": missing})
        _err(
            f"digestbot: no database at {missing} (nothing was created); "
            "`digestbot ingest FOLDER` or `digestbot run` makes one, --db or DIGESTBOT_DB picks another"
        )
        return 1
    try:
        status: int = args.func(args)
        return status
    except DigestError as exc:
        _err(f"digestbot: {exc}")
        return 2 if exc.__class__.__name__ == "StoreError" else 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


def add_migrate_db(sub: Any) -> None:
    p = sub.add_parser(
        "migrate-db", help="copy a SQLite installation into an empty PostgreSQL database"
    )
    p.add_argument("--from", dest="source", required=True, metavar="SQLITE_FILE")
    p.add_argument("--to", dest="target", required=True, metavar="URL", help="postgresql://…")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_migrate_db, creates_db=True)  # its own --from and --to


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """Copy every table, ids kept; counts checked on both sides (digests.migratedb)."""
    from .backends import redact
    from .store import Store

    if not is_database_url(args.target):
        _err(f"digestbot: --to must be a postgresql:// URL, got {redact(args.target)!r}")
        return 2
    if not Path(args.source).is_file():
        _err(f"digestbot: no SQLite file at {args.source}")
        return 2
    from .migratedb import copy_installation
    from .pgstore import PgStore

    with Store(args.source) as source, PgStore(args.target) as target:
        counts = copy_installation(
            source, target, progress=lambda table, n: _err(f"{table}: {n} rows copied")
        )
    if args.json:
        _print_json({"from": args.source, "to": redact(args.target), "rows": counts})
    else:
        for table, n in counts.items():
            print(f"{table}: {n}")
        print(f"copied into {redact(args.target)}; every table's count matches")
    return 0

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
