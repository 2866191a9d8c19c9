"""The ``digestbot`` console script: the engine's commands plus ``run`` and ``play``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from digests import commands as engine_cli


def cmd_run(args: argparse.Namespace) -> int:
    from .main import run

    return run(args)


def cmd_play(args: argparse.Namespace) -> int:
    from .main import run

    return run(args, embedded=True)


def build_parser() -> argparse.ArgumentParser:
    parser = engine_cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser(
        "run", help="run the Telegram bot (no token: local emulator + terminal chat)"
    )
    p.add_argument(
        "--webhook",
        action="store_true",
        help="take updates by webhook (needs DIGESTBOT_WEBHOOK_URL and DIGESTBOT_WEBHOOK_SECRET)",
    )
    p.set_defaults(func=cmd_run, creates_db=True)
    p = sub.add_parser("play", help="chat with the bot in this terminal through the local emulator")
    p.set_defaults(func=cmd_play, creates_db=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script. From the command line (``argv`` not given) it first reads ``./.env``;
    variables already in the environment win over the file."""
    if argv is None:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
    return engine_cli.main(argv, build_parser())


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main())
