"""Configuration from the environment and an optional `.env` file (see PRODUCT.md)."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org/bot"


class ConfigError(Exception):
    """A configuration problem, reported to the operator in one line (exit status 2)."""


class Settings(BaseSettings):
    """The configuration contract of PRODUCT.md: names and defaults are a stable interface."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default=DEFAULT_API_URL, alias="TELEGRAM_API_URL")
    # a SQLite file, or a postgresql:// URL (bot.pgdb)
    bot_database: Path | str = Field(
        default=Path("data/merchant-bot.sqlite3"), alias="BOT_DATABASE"
    )
    bot_files_dir: Path = Field(default=Path("data/files"), alias="BOT_FILES_DIR")
    bot_admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="BOT_ADMIN_IDS"
    )
    bot_timezone: str = Field(default="Asia/Shanghai", alias="BOT_TIMEZONE")
    # The operator console (bot/console/): where it listens, and the base URL of login links.
    bot_console_host: str = Field(default="127.0.0.1", alias="BOT_CONSOLE_HOST")
    bot_console_port: int = Field(default=8080, ge=0, le=65535, alias="BOT_CONSOLE_PORT")
    bot_console_url: str = Field(default="", alias="BOT_CONSOLE_URL")
    # Telegram webhooks instead of long polling (bot/webhook.py): the public HTTPS URL, where
    # this process listens behind the TLS proxy, and the secret every delivery must carry.
    bot_webhook_url: str = Field(default="", alias="BOT_WEBHOOK_URL")
    bot_webhook_listen: str = Field(default="127.0.0.1:8443", alias="BOT_WEBHOOK_LISTEN")
    bot_webhook_secret: str = Field(default="", alias="BOT_WEBHOOK_SECRET")

    @field_validator("bot_database", mode="before")
    @classmethod
    def _database(cls, value: object) -> Path | str:
        """A postgresql:// URL stays a URL; anything else is a SQLite file path."""
        text = str(value).strip()
        if text.startswith(("postgresql://", "postgres://")):
            return text
        return Path(text)

    @property
    def database_is_postgresql(self) -> bool:
        """BOT_DATABASE names a PostgreSQL database."""
        return isinstance(self.bot_database, str)

    @property
    def database_secret(self) -> str | None:
        """The password in a PostgreSQL URL, kept out of every log line."""
        if not isinstance(self.bot_database, str):
            return None
        from urllib.parse import urlsplit

        return urlsplit(self.bot_database).password

    @field_validator("bot_admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> frozenset[int]:
        """Accept "1, 2,3" (the environment form) as well as an iterable of ints."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            ids = set()
            for part in parts:
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"not a numeric Telegram user id: {part!r}")
                ids.add(int(part))
            return frozenset(ids)
        if isinstance(value, (set, frozenset, list, tuple)):
            return frozenset(int(v) for v in value)
        raise ValueError("expected a comma-separated list of numeric user ids")

    @field_validator("bot_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        """Refuse a time zone name the system does not know."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        """The base URL must be http(s); the token is appended to it."""
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value

    @field_validator("bot_console_url")
    @classmethod
    def _check_console_url(cls, value: str) -> str:
        """Empty (built from host and port) or an http(s) base URL."""
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value

    @field_validator("bot_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str) -> str:
        """Empty (long polling) or an https URL: Telegram delivers only over HTTPS."""
        value = value.strip()
        if value and not value.startswith("https://"):
            raise ValueError(
                f"must be an https:// URL (Telegram delivers only over HTTPS), got {value!r}"
            )
        return value

    @field_validator("bot_webhook_listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        """host:port ([::1]:8443 for IPv6)."""
        host, sep, port = value.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"must be host:port, e.g. 127.0.0.1:8443, got {value!r}")
        return value.strip()

    @field_validator("bot_webhook_secret")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        """Telegram's rule for secret_token: 1-256 of A-Z, a-z, 0-9, _ and -."""
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        """A webhook without a secret would apply anyone's POST as an update."""
        if self.bot_webhook_url and not self.bot_webhook_secret:
            raise ValueError(
                "BOT_WEBHOOK_SECRET must be set with BOT_WEBHOOK_URL "
                "(e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return self

    @property
    def webhook_listen(self) -> tuple[str, int]:
        """BOT_WEBHOOK_LISTEN as (host, port)."""
        host, _, port = self.bot_webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def console_url(self) -> str:
        """The console's public base URL: BOT_CONSOLE_URL, or http://HOST:PORT."""
        if self.bot_console_url:
            return self.bot_console_url
        host = self.bot_console_host
        host = f"[{host}]" if ":" in host else host  # an IPv6 address
        return f"http://{host}:{self.bot_console_port}"

    @property
    def tz(self) -> ZoneInfo:
        """The default merchant time zone."""
        return ZoneInfo(self.bot_timezone)

    @property
    def base_file_url(self) -> str:
        """The file download base URL matching `telegram_api_url` (…/bot → …/file/bot)."""
        url = self.telegram_api_url.rstrip("/")
        head, sep, tail = url.rpartition("/")
        return f"{head}/file/{tail}" if sep else f"{url}/file"


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning any validation problem into a one-line ConfigError."""
    try:
        # the values are unchecked on purpose: pydantic validates them (and reports below)
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        loc = first.get("loc") or ()
        if not loc:  # a rule between settings: its message names them
            raise ConfigError(msg) from None
        env_name = _ENV_NAMES.get(str(loc[0]), str(loc[0]))
        raise ConfigError(f"{env_name}: {msg}") from None


_ENV_NAMES = {field: (info.alias or field.upper()) for field, info in Settings.model_fields.items()}


def require_token(settings: Settings) -> str:
    """The token `run` needs; the message names the variable and the offline alternative."""
    token = settings.telegram_bot_token.strip()
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: put it in the environment or in .env "
            "(or try the bot offline with `make chat`, which needs no token)"
        )
    return token


def check_writable_database(path: Path) -> None:
    """Fail early, in one line, when the database cannot be created or written.

    BEGIN IMMEDIATE takes the write lock, which a read-only file or filesystem refuses (a
    read-only directory shows at Store.open, in one line too). Rolled back, it writes
    nothing, so a file the bot closed cleanly stays as it was (and is not read whole again
    at start-up, bot.schema.unchanged_since_closed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"BOT_DATABASE: cannot write {os.fspath(path)!r} ({exc})") from None


def check_writable_dir(path: Path, name: str) -> None:
    """Fail early when a directory the bot writes to cannot be created or written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot write {os.fspath(path)!r} ({exc})") from None
