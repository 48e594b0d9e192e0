"""`merchant-bot console-link ID`: a one-time console login link, printed on the server.

The link is stored in the bot's database like one asked for with /console, so the running
bot's console accepts it (the same signing key, the same single use)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

from bot.clock import SystemClock
from bot.config import ConfigError, Settings
from bot.console.auth import LINK_MINUTES, Auth
from bot.schema import check_database
from bot.store import Store


def login_url(base: str, token: str) -> str:
    """The link an operator opens: the console's base URL, /login, the token."""
    return f"{base.rstrip('/')}/login?{urlencode({'t': token})}"


async def print_link(settings: Settings, operator_id: int) -> int:
    """Print the link (exit status 0), or say in one line why not (2)."""
    if operator_id not in settings.bot_admin_ids:
        raise ConfigError(f"BOT_ADMIN_IDS: {operator_id} is not an operator")
    if settings.bot_console_port == 0 and not settings.bot_console_url:
        raise ConfigError("BOT_CONSOLE_PORT is 0: the console is turned off")
    if isinstance(settings.bot_database, Path):
        check_database(settings.bot_database)
    store = await Store.open(settings.bot_database)
    try:
        clock = SystemClock()
        token = await (await Auth.open(store, clock)).issue(operator_id, clock.now())
    finally:
        await store.close()
    print(login_url(settings.console_url, token))
    print(
        f"(valid {LINK_MINUTES} minutes, single use; the bot must be running: merchant-bot run)",
        file=sys.stderr,
    )
    return 0
