"""The ``digestbot`` console script: the engine's commands plus ``run`` and ``play``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

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
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("play", help="chat with the bot in this terminal through the local emulator")
    p.set_defaults(func=cmd_play)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return engine_cli.main(argv, build_parser())


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main())
