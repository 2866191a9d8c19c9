"""``compose.yaml`` mirrors the tested topology and the README: PostgreSQL, three replicas on
webhooks behind a round-robin proxy with health checks, the same variables named in the file and
in the README's compose section, each documented. Docker is not needed (the file is parsed).
Where Caddy is installed, ``deploy/Caddyfile`` is validated and run in front of three real
replicas (on PostgreSQL); elsewhere those two tests skip, saying so."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from fakebotapi import FakeTelegram
from fakebotapi.replicas import ReplicaSet, dies_with_parent, free_ports

from .botkit import TOKEN
from .conftest import ROOT
from .pgkit import requires_pg, seeded_schema
from .test_failover import answered, ask, replica_env

COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
README = ROOT / "README.md"
VARIABLE = re.compile(r"\b(?:TELEGRAM|DIGESTBOT|POSTGRES)_[A-Z_]*[A-Z]\b")
COMPOSE_ONLY = {"DIGESTBOT_DOMAIN", "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from seeded_schema()


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text("utf-8"))  # resolves the x-bot anchors and merges
    assert isinstance(data, dict)
    return data


def bots(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in data["services"].items()
        if "--webhook" in (service.get("command") or [])
    }


def readme_section(title: str) -> str:
    text = README.read_text("utf-8")
    start = text.index(f"### {title}")
    end = min(i for i in (text.find("\n## ", start), text.find("\n### ", start + 4)) if i > 0)
    return text[start:end]


def test_three_webhook_replicas_on_postgresql_behind_the_proxy() -> None:
    data = compose()
    replicas = bots(data)
    assert sorted(replicas) == ["bot1", "bot2", "bot3"]  # as ReplicaSet(fake, 3) in the test
    urls = set()
    for service in replicas.values():
        env = service["environment"]
        assert "@postgres:5432/" in env["DIGESTBOT_DATABASE_URL"]
        assert env["DIGESTBOT_DATABASE_URL"].startswith("postgresql://")
        assert env["DIGESTBOT_WEBHOOK_LISTEN"] == "0.0.0.0"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f":{env['DIGESTBOT_WEBHOOK_PORT']}/healthz" in " ".join(
            service["healthcheck"]["test"]
        )
        assert service["env_file"] == ".env"
        urls.add(env["DIGESTBOT_WEBHOOK_URL"])
    (url,) = urls  # one webhook URL for all: the proxy's
    assert url.startswith("https://")
    path = urlsplit(re.sub(r"\$\{[^}]*\}", "host.example", url)).path
    assert path == "/telegram"
    ports = {s["environment"]["DIGESTBOT_WEBHOOK_PORT"] for s in replicas.values()}

    caddy = CADDYFILE.read_text("utf-8")
    assert f"handle {path} {{" in caddy  # the proxy forwards the webhook's path, unchanged
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddy)
    assert upstreams is not None
    assert set(upstreams.group(1).split()) == {f"{name}:{p}" for name in replicas for p in ports}
    assert "lb_policy round_robin" in caddy and "health_uri /healthz" in caddy
    proxy = data["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert {"443:443", "80:80"} <= set(proxy["ports"])
    assert data["services"]["postgres"]["image"].startswith("postgres:")
    ingest = data["services"]["ingest"]
    assert ingest["entrypoint"][-1] == "ingest"
    assert (
        ingest["environment"]["DIGESTBOT_DATABASE_URL"]
        == next(iter(replicas.values()))["environment"]["DIGESTBOT_DATABASE_URL"]
    )


def test_compose_and_the_readme_name_the_same_variables_each_documented() -> None:
    named = set(VARIABLE.findall(COMPOSE.read_text("utf-8"))) | set(
        VARIABLE.findall(CADDYFILE.read_text("utf-8"))
    )
    documented = set(VARIABLE.findall(readme_section("compose.yaml")))
    assert named == documented
    config = README.read_text("utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    for name in named - COMPOSE_ONLY:  # what the bot reads is in the configuration table
        assert f"| `{name}` |" in config, name
    example = (ROOT / ".env.example").read_text("utf-8")
    for name in named - {"POSTGRES_USER", "POSTGRES_DB"}:  # what .env may set is in the example
        assert re.search(rf"^#? ?{name}=", example, re.M), name


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_caddyfile_is_valid_for_caddy() -> None:
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile", "--validate"],
        env={**os.environ, "DIGESTBOT_DOMAIN": "bot.example.com"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"round_robin"' in result.stdout and '"uri":"/healthz"' in result.stdout


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
@requires_pg
async def test_the_caddyfile_proxies_round_robin_and_around_a_killed_replica(
    pg_url: str, tmp_path: Path
) -> None:
    """deploy/Caddyfile itself (site and upstream addresses put on loopback, no TLS) in front of
    three real replicas: every replica takes updates, and lookups are answered with one killed."""
    replicas = ReplicaSet(
        FakeTelegram(TOKEN), 3, env=replica_env(pg_url, tmp_path / "corpus"),
        workdir=tmp_path / "logs", cwd=ROOT,
    )  # fmt: skip
    fake = replicas.fake
    # Telegram retries an update the proxy answered 502 (no replica seen healthy yet, or a pooled
    # connection to the killed one) for much longer than the emulator's default
    fake.webhook_attempts, fake.webhook_retry_delay = 40, 0.5
    taken = {replica.port for replica in replicas.replicas}  # chosen, not bound yet
    port = next(p for p in free_ports(len(taken) + 1) if p not in taken)
    caddyfile = "{\n\tadmin off\n}\n" + CADDYFILE.read_text("utf-8").replace(
        "{$DIGESTBOT_DOMAIN}", f"http://127.0.0.1:{port}"
    )
    for n, replica in enumerate(replicas.replicas, start=1):
        caddyfile = caddyfile.replace(f"bot{n}:8443", f"127.0.0.1:{replica.port}")
    (tmp_path / "Caddyfile").write_text(caddyfile, "utf-8")
    replicas.env.update(DIGESTBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                        DIGESTBOT_LOG_LEVEL="DEBUG")  # fmt: skip
    home = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with (tmp_path / "caddy.log").open("wb") as caddy_log:
        caddy = subprocess.Popen(
            dies_with_parent(
                ["caddy", "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"]
            ),
            env={**os.environ, **home}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=caddy_log,
        )  # fmt: skip
    try:
        await fake.start()
        async with replicas:
            await fake.wait_for_call("setWebhook", 3, timeout=30)
            # Caddy checks /healthz every 2 s: replicas that started after its last check get
            # updates from its next one on; then the rotation reaches every replica
            expected: dict[int, str] = {}
            took = [0, 0, 0]
            for n in range(20):
                user = 60_000 + n
                expected[user] = ask(fake, user, n)
                await fake.wait_for(lambda u=user: answered(fake, {u: expected[u]}), timeout=30)
                took = [r.log().count(" from user ") for r in replicas.replicas]
                if all(took):
                    break
                await asyncio.sleep(0.3)
            assert all(took), took  # round robin: each replica took some
            await replicas.kill(1)
            for n in range(20, 26):
                user = 60_000 + n
                expected[user] = ask(fake, user, n)
            await fake.wait_for(lambda: answered(fake, expected) == set(expected), timeout=60)
            delivered = {d.update_id for d in fake.deliveries if d.status == 200}
            assert delivered == {d.update_id for d in fake.deliveries}  # each, in the end
    finally:
        caddy.kill()
        caddy.wait(timeout=10)
        await fake.stop()
