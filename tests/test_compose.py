"""``compose.yaml`` mirrors the tested topology and the README: PostgreSQL, three replicas on
webhooks behind a round-robin proxy with health checks, the same variables named in the file and
in the README's compose section, each documented. Docker is not needed (the file is parsed);
``caddy validate`` runs on the Caddyfile where Caddy is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from .conftest import ROOT

COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
README = ROOT / "README.md"
VARIABLE = re.compile(r"\b(?:TELEGRAM|DIGESTBOT|POSTGRES)_[A-Z_]*[A-Z]\b")
COMPOSE_ONLY = {"DIGESTBOT_DOMAIN", "POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB"}


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
        assert f":{env['DIGESTBOT_WEBHOOK_PORT']}/healthz" in " ".join(service["healthcheck"]["test"])
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
    assert ingest["environment"]["DIGESTBOT_DATABASE_URL"] == next(
        iter(replicas.values())
    )["environment"]["DIGESTBOT_DATABASE_URL"]


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
