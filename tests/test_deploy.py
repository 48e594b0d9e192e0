"""deploy/: the docker-compose description of PostgreSQL + replicas + a TLS proxy stays in step
with the bot's settings. No Docker engine runs on the test machines, so the containers are not
started here (tests/test_replicas_sigkill.py runs the same layout as processes); what is checked
is what can drift: every variable the bot service sets is one the bot reads, the settings load
and validate from exactly that environment (webhook and console on one server behind the proxy,
PostgreSQL as the store), the proxy points at that port, and the image holds the packages."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config import Settings, load_settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
EXAMPLE = {
    "TELEGRAM_BOT_TOKEN": "123456:ABCdef",
    "BOT_DOMAIN": "bot.example.com",
    "BOT_WEBHOOK_SECRET": "a-long-random-secret_0123456789",
    "POSTGRES_PASSWORD": "pw",
    "BOT_ADMIN_IDS": "1001,1002",
}


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        assert op != ":?", f"{name} is required: {rest}"
        return rest if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _bot_environment() -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    env = compose["services"]["bot"]["environment"]
    return {key: _substitute(str(value), EXAMPLE) for key, value in env.items()}


def test_the_bot_service_sets_only_settings_the_bot_reads_and_they_validate(monkeypatch):
    env = _bot_environment()
    known = {info.alias for info in Settings.model_fields.values()}
    assert set(env) <= known, set(env) - known
    for key in known:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.database_is_postgresql
    assert settings.bot_webhook_url == "https://bot.example.com/telegram/hook"
    # webhook and console share one server (bot.lifespan), the one the proxy reaches
    assert settings.webhook_listen == (settings.bot_console_host, settings.bot_console_port)
    assert settings.console_url.startswith("https://bot.example.com")
    assert settings.bot_admin_ids == frozenset({1001, 1002})


def test_the_proxy_reaches_the_replicas_on_that_port_and_the_image_holds_the_bot():
    port = _bot_environment()["BOT_WEBHOOK_LISTEN"].rsplit(":", 1)[1]
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(rf"dynamic a bot {port}\b", caddy), port
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \./", dockerfile, re.M))
    assert copied == {"bot", "flows", "content"}  # the wheel's packages (pyproject.toml)
    assert 'CMD ["merchant-bot", "run"]' in dockerfile
