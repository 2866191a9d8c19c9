"""N real ``digestbot run --webhook`` processes behind one round-robin balancer, all talking to
one emulator: the topology of ``compose.yaml`` on loopback, for tests and benchmarks.

:class:`ReplicaSet` starts the :class:`~fakebotapi.balancer.RoundRobin` balancer, points every
replica's ``DIGESTBOT_WEBHOOK_URL`` at it (each replica calls ``setWebhook`` with that same URL,
as replicas behind one proxy do) and gives each its own ``DIGESTBOT_WEBHOOK_PORT``; it is ready
when every replica answers ``GET /healthz``. :meth:`ReplicaSet.kill` is a ``kill -9``;
:meth:`ReplicaSet.stop` (also on leaving ``async with``, whatever happened) sends SIGTERM, then
SIGKILL to whoever is still running after the grace period, and stops the balancer. On Linux the
replicas also get SIGKILL should the process that started them die first
(:func:`dies_with_parent`), so none outlives a killed test run. Each replica's stderr goes to a file (a pipe nobody reads would block it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

from .balancer import RoundRobin
from .server import FakeTelegram

SECRET = "replica-set-Secret_1"
HOOK_PATH = "/telegram"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on loopback: their sockets are held open together while
    they are chosen (bound and closed one after another, the kernel may hand the same port out
    twice, and two replicas then fight over it)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    return free_ports(1)[0]


# Run as ``python -c _LAUNCH PARENT_PID PROGRAM ARGS…``: asks Linux to SIGKILL this process when
# its parent dies (kept across exec), gives up if the parent is already gone, then becomes
# PROGRAM. Done in the child itself, not in a ``preexec_fn`` (unsafe in a process with threads).
_LAUNCH = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"  # PR_SET_PDEATHSIG, SIGKILL
    "if os.getppid() != int(sys.argv[1]): sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def dies_with_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped so that, on Linux, the program is killed when the process starting it
    dies (a test run killed by a timeout leaves no replica running); unchanged elsewhere."""
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-c", _LAUNCH, str(os.getpid()), *argv]


@dataclass
class Replica:
    """One ``digestbot run --webhook`` process."""

    index: int
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    killed_at: float | None = None  # time.time() of a kill -9

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log(self) -> str:
        """What the replica wrote to stderr so far."""
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""


class ReplicaSet:
    """``async with ReplicaSet(fake, 3, env={...}, workdir=tmp) as replicas:``; see the module
    docstring. ``env`` adds to (and wins over) what the set provides: the token, the emulator's
    URL and the webhook variables; ``DIGESTBOT_DATABASE_URL`` (or ``DIGESTBOT_DB``) and
    ``DIGESTBOT_CORPUS`` are the caller's."""

    def __init__(
        self,
        fake: FakeTelegram,
        count: int,
        *,
        env: Mapping[str, str],
        workdir: Path,
        secret: str = SECRET,
        path: str = HOOK_PATH,
        python: str = sys.executable,
        cwd: Path | None = None,
    ) -> None:
        self.fake = fake
        self.count = count
        self.env = dict(env)
        self.workdir = workdir
        self.secret = secret
        self.path = path
        self.python = python
        self.cwd = cwd
        self.replicas = [
            Replica(i, port, workdir / f"replica-{i}.log")
            for i, port in enumerate(free_ports(count))
        ]
        self.balancer = RoundRobin([r.base_url for r in self.replicas])
        self._logs: list[IO[bytes]] = []

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, ready_timeout: float = 120.0) -> ReplicaSet:
        """Start the balancer and the replicas; return once every replica is healthy. Whatever
        fails on the way, everything started so far is stopped before the error goes up."""
        try:
            await self.balancer.start()
            for replica in self.replicas:
                await self._spawn(replica)
            deadline = time.monotonic() + ready_timeout
            for replica in self.replicas:
                await self.wait_healthy(replica, deadline - time.monotonic())
            await self.balancer.check()  # the balancer sees them all healthy from now on
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aenter__(self) -> ReplicaSet:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def replica_env(self, replica: Replica) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DIGESTBOT_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_API_BASE_URL=self.fake.base_url,
            DIGESTBOT_WEBHOOK_URL=self.balancer.url(self.path),
            DIGESTBOT_WEBHOOK_SECRET=self.secret,
            DIGESTBOT_WEBHOOK_LISTEN="127.0.0.1",
            DIGESTBOT_WEBHOOK_PORT=str(replica.port),
            DIGESTBOT_LOG_LEVEL="INFO",
        )
        env.update(self.env)
        return env

    async def _spawn(self, replica: Replica) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_file = replica.log_path.open("ab")
        self._logs.append(log_file)
        replica.process = await asyncio.create_subprocess_exec(
            *dies_with_parent([self.python, "-m", "bot.cli", "run", "--webhook"]),
            cwd=self.cwd, env=self.replica_env(replica), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )  # fmt: skip
        replica.killed_at = None

    async def restart(self, index: int, ready_timeout: float = 120.0) -> Replica:
        """Start replica ``index`` again (after :meth:`kill`), on the same port."""
        replica = self.replicas[index]
        if replica.alive:
            raise RuntimeError(f"replica {index} is still running")
        await self._spawn(replica)
        await self.wait_healthy(replica, ready_timeout)
        await self.balancer.check()
        return replica

    async def wait_healthy(self, replica: Replica, timeout: float) -> None:
        """Until ``GET /healthz`` answers 200; raises with the log's tail if the replica exits
        or ``timeout`` passes first."""
        deadline = time.monotonic() + max(0.0, timeout)
        async with aiohttp.ClientSession() as session:
            while True:
                if not replica.alive:
                    raise RuntimeError(
                        f"replica {replica.index} exited ({self._code(replica)}):\n"
                        + replica.log()[-3000:]
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(
                        replica.base_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                    ) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"replica {replica.index} not healthy in {timeout:.0f} s:\n"
                        + replica.log()[-3000:]
                    )
                await asyncio.sleep(0.1)

    @staticmethod
    def _code(replica: Replica) -> str:
        return f"status {replica.process.returncode}" if replica.process else "never started"

    async def kill(self, index: int) -> Replica:
        """``kill -9`` replica ``index`` and reap it."""
        replica = self.replicas[index]
        if replica.process is not None and replica.alive:
            replica.process.kill()
            replica.killed_at = time.time()
            await replica.process.wait()
        return replica

    async def stop(self, grace: float = 20.0) -> None:
        """SIGTERM every replica still running, SIGKILL any left after ``grace`` seconds, stop
        the balancer and close the log files. Safe to call twice."""
        try:
            running = [r for r in self.replicas if r.alive]
            for replica in running:
                with contextlib.suppress(ProcessLookupError):
                    assert replica.process is not None
                    replica.process.send_signal(signal.SIGTERM)
            for replica in running:
                assert replica.process is not None
                try:
                    await asyncio.wait_for(replica.process.wait(), grace)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        replica.process.kill()
                    await replica.process.wait()
        finally:
            for replica in self.replicas:  # e.g. cancelled while waiting above
                if replica.alive and replica.process is not None:
                    with contextlib.suppress(ProcessLookupError):
                        replica.process.kill()
            await self.balancer.stop()
            for log_file in self._logs:
                log_file.close()
            self._logs.clear()

    # -- observation ----------------------------------------------------------------------------
    def by_pid(self, pid: int) -> Replica | None:
        return next((r for r in self.replicas if r.pid == pid), None)

    @property
    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive]
