"""Run the Telegram emulator standalone: ``python -m fakebotapi --port N --token T``.

The first stdout line is the PTB ``base_url`` (``http://127.0.0.1:PORT/bot``); the second is
``control http://127.0.0.1:PORT/_control``.  Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .limits import Limits
from .server import FakeTelegram


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakebotapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="digest_test_bot")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument(
        "--lenient-html", action="store_true", help="accept a bare '&' like real Telegram does"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(
        args.token,
        bot_username=args.bot_username,
        enforce_limits=args.enforce_limits,
        limits=Limits(),
        strict_html=not args.lenient_html,
        host=args.host,
        port=args.port,
        latency=args.latency,
    )
    await fake.start()
    print(fake.base_url, flush=True)
    print(f"control {fake.control_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
