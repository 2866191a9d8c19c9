"""Settings from environment variables, validated once at start-up.

Missing or malformed settings raise ``ConfigError`` with one clear line (the CLI prints it and
exits with status 2). The token itself never appears in an error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{5,100}$")
LANGUAGES = ("zh", "en")


class ConfigError(Exception):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    token: str | None
    base_url: str | None = None
    db: str = "data/digestbot.db"
    corpus: str = "corpus"
    admins: frozenset[int] = field(default_factory=frozenset)
    lang: str = "zh"
    poll_seconds: float = 60.0
    source_poll_seconds: float = 60.0
    log_level: str = "INFO"

    @property
    def base_file_url(self) -> str | None:
        if not self.base_url:
            return None
        return re.sub(r"/bot$", "/file/bot", self.base_url.rstrip("/"))

    def __repr__(self) -> str:  # never show the token
        from digests.backends import redact

        return f"Settings(db={redact(self.db)!r}, corpus={self.corpus!r}, base_url={self.base_url!r})"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the ``TELEGRAM_*`` and ``DIGESTBOT_*`` variables."""
    env = os.environ if env is None else env
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and not TOKEN_RE.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and the secret, as "
            "@BotFather gives it"
        )
    base_url = env.get("TELEGRAM_API_BASE_URL", "").strip().rstrip("/") or None
    if base_url is not None and not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(
            "TELEGRAM_API_BASE_URL must be an http(s) URL such as http://127.0.0.1:8081/bot"
        )
    admins: set[int] = set()
    for part in re.split(r"[,\s]+", env.get("DIGESTBOT_ADMINS", "").strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise ConfigError(f"DIGESTBOT_ADMINS must list numeric user ids, got {part!r}")
        admins.add(int(part))
    lang = env.get("DIGESTBOT_LANG", "zh").strip().lower() or "zh"
    if lang not in LANGUAGES:
        raise ConfigError(f"DIGESTBOT_LANG must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    poll = _seconds(env, "DIGESTBOT_POLL_SECONDS")
    source_poll = _seconds(env, "DIGESTBOT_SOURCE_POLL_SECONDS")
    level = env.get("DIGESTBOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(
            f"DIGESTBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}"
        )
    return Settings(
        token=token,
        base_url=base_url,
        db=env.get("DIGESTBOT_DATABASE_URL", "").strip()
        or env.get("DIGESTBOT_DB", "").strip()
        or "data/digestbot.db",
        corpus=env.get("DIGESTBOT_CORPUS", "").strip() or "corpus",
        admins=frozenset(admins),
        lang=lang,
        poll_seconds=poll,
        source_poll_seconds=source_poll,
        log_level=level,
    )


def _seconds(env: Mapping[str, str], name: str, default: str = "60") -> float:
    """An interval in seconds between 0.05 and 86400, or a one-line ``ConfigError``."""
    raw = env.get(name, default).strip() or default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not 0.05 <= value <= 86400:
        raise ConfigError(f"{name} must be between 0.05 and 86400")
    return value
