"""One chat floods a real ``digestbot run`` (the local Bot API emulator on 127.0.0.1, Telegram's
limits applied by the bot): how long do other users wait for their answer? The figures and what
they mean are in docs/resilience.md.

``python -m benchmarks.flood --root PATH`` runs it against another checkout (the "before" figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from .botbench import TOKEN
from .common import ROOT, latency_stats

FLOOD_CHAT = 90_000
OTHER_BASE = 91_000


async def _flood(
    root: Path, *, flood: int, others: int, gap: float, timeout: float
) -> dict[str, object]:
    from fakebotapi import FakeTelegram

    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        db, corpus = Path(tmp) / "f.db", Path(tmp) / "corpus"
        corpus.mkdir()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))
        }
        seed = await asyncio.create_subprocess_exec(  # by the checkout measured (its schema)
            sys.executable, "-m", "bot.cli", "--db", str(db), "ingest", str(root / "corpus"),
            cwd=root, env={**env, "PYTHONPATH": str(root)},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await seed.wait()
        fake = await FakeTelegram(TOKEN).start()
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, DIGESTBOT_DB=str(db),
            DIGESTBOT_CORPUS=str(corpus), DIGESTBOT_LOG_LEVEL="WARNING", PYTHONPATH=str(root),
        )  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=root, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await fake.wait_for_call("getUpdates", timeout=120)
            fake.user_message(OTHER_BASE - 1, "/search 兵团")  # warm-up: first search loads caches
            await fake.wait_for(lambda: fake.messages_to(OTHER_BASE - 1), timeout=60)

            async def answered(user: int, sent: float) -> float | None:
                try:
                    await fake.wait_for(lambda: fake.messages_to(user), timeout=timeout)
                except TimeoutError:
                    return None
                return (time.monotonic() - sent) * 1000.0

            started = time.monotonic()
            for _ in range(flood):
                fake.user_message(FLOOD_CHAT, "/search 兵团", language_code="en")
            waits = []
            for i in range(others):
                user = OTHER_BASE + i
                fake.user_message(user, "/search 党建", language_code="zh-hans")
                waits.append(asyncio.ensure_future(answered(user, time.monotonic())))
                await asyncio.sleep(gap)
            results = await asyncio.gather(*waits)
            flood_msgs = [m.text or "" for m in fake.messages_to(FLOOD_CHAT)]
            seconds = round(time.monotonic() - started, 1)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await fake.stop()
    done = [r for r in results if r is not None]
    stats = latency_stats(done) if done else {}
    return {
        "flood_commands": flood,
        "other_users": others,
        "others_gap_s": gap,
        "others_answered": len(done),
        "others_unanswered_within_s": timeout if len(done) < others else None,
        "other_p50_s": round(stats["p50_ms"] / 1000, 2) if done else None,
        "other_p95_s": round(stats["p95_ms"] / 1000, 2) if done else None,
        "other_max_s": round(stats["max_ms"] / 1000, 2) if done else None,
        "flood_replies_seen": len(flood_msgs),
        "flood_warnings": sum("Too many requests" in m for m in flood_msgs),
        "seconds": seconds,
    }


def flood_bench(quick: bool = False, root: Path = ROOT) -> dict[str, object]:
    """Issue 12's figure: p95 reply time of other users while one private chat sends 200
    /search at once (target < 2 s). Others send one /search each, every ``gap`` seconds."""
    others = 10 if quick else 30
    return asyncio.run(_flood(root, flood=200, others=others, gap=0.3, timeout=60.0))


def print_flood(r: dict) -> None:
    print(
        f"Flood: {r['flood_commands']} /search from one chat; {r['other_users']} other users, one "
        f"every {r['others_gap_s']} s: p50 {r['other_p50_s']} s, p95 {r['other_p95_s']} s, "
        f"max {r['other_max_s']} s; answered {r['others_answered']}/{r['other_users']}; "
        f"flood chat got {r['flood_replies_seen']} messages ({r['flood_warnings']} warning)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to run (default: this)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = flood_bench(args.quick, args.root.resolve())
    print_flood(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
