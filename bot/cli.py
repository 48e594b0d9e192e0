"""The `merchant-bot` command: run (Telegram), chat (offline playground), content-check,
console-link (a login link to the operator web console), migrate-db (SQLite → PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import (
    ConfigError,
    Settings,
    check_writable_database,
    check_writable_dir,
    load_settings,
    require_token,
)
from bot.logsetup import setup_logging
from bot.runtime import run_loop

if TYPE_CHECKING:
    from bot.console import ConsoleOptions
    from bot.store import Store
    from bot.webhook import WebhookOptions

log = logging.getLogger("merchant_bot")


class StartupError(Exception):
    """The bot could not start for a reason outside the configuration (exit status 1)."""


async def serve(settings: Settings, token: str) -> None:
    """Serve Telegram by long polling until SIGINT/SIGTERM."""
    from telegram.error import InvalidToken, NetworkError

    from bot.clock import SystemClock
    from bot.content import ContentRegistry
    from bot.lifespan import serving
    from bot.runtime import Runtime

    store = await open_store(settings)
    runtime = Runtime(
        store=store,
        contents=ContentRegistry(),
        clock=SystemClock(),
        timezone=settings.tz,
        admin_ids=settings.bot_admin_ids,
        files_dir=settings.bot_files_dir,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serving(
            runtime,
            token=token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.base_file_url,
            console=console_options(settings),
            webhook=webhook_options(settings),
        ) as running:
            how = f"webhook {settings.bot_webhook_url}" if running.webhook else "long polling"
            log.info("serving @%s by %s", running.app.bot.username, how)
            if running.console is not None:
                log.info(
                    "operator console: %s (send /console to the bot to log in)", running.console.url
                )
            await stop.wait()
    except InvalidToken:
        raise ConfigError("TELEGRAM_BOT_TOKEN was refused by the Bot API server") from None
    except NetworkError as exc:  # also TimedOut: the Bot API could not be reached at start
        raise StartupError(
            f"cannot reach the Bot API at {settings.telegram_api_url} ({exc.message})"
        ) from None
    except OSError as exc:  # the console's or the webhook's address is taken or cannot be bound
        if settings.bot_webhook_url and exc.errno is not None:
            console = f"{settings.bot_console_host}:{settings.bot_console_port}"
            where = f"{console} or {settings.bot_webhook_listen}"
            raise StartupError(
                f"cannot listen on {where} ({exc.strerror or exc}); set BOT_CONSOLE_PORT / "
                "BOT_WEBHOOK_LISTEN to free addresses"
            ) from None
        raise StartupError(
            f"cannot serve the operator console on {settings.bot_console_host}:"
            f"{settings.bot_console_port} ({exc.strerror or exc}); set BOT_CONSOLE_PORT "
            "to a free port, or 0 to turn the console off"
        ) from None


async def open_store(settings: Settings) -> Store:
    """The store BOT_DATABASE names; a PostgreSQL server that cannot be reached is reported in
    one line (without the URL's password)."""
    from bot.schema import one_line
    from bot.store import Store

    if not settings.database_is_postgresql:
        return await Store.open(settings.bot_database)
    import psycopg
    import psycopg_pool

    try:
        return await Store.open(settings.bot_database)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        reason = one_line(str(exc) or type(exc).__name__)
        secret = settings.database_secret
        if secret:
            reason = reason.replace(secret, "***")
        raise StartupError(f"BOT_DATABASE: cannot use the PostgreSQL database ({reason})") from None


def webhook_options(settings: Settings) -> WebhookOptions | None:
    """Where Telegram delivers and this process listens (None: long polling)."""
    if not settings.bot_webhook_url:
        return None
    from bot.webhook import WebhookOptions

    host, port = settings.webhook_listen
    return WebhookOptions(
        settings.bot_webhook_url, settings.bot_webhook_secret, host=host, port=port
    )


def console_options(settings: Settings) -> ConsoleOptions | None:
    """Where the console listens (None when BOT_CONSOLE_PORT is 0: no console)."""
    if settings.bot_console_port == 0:
        return None
    from bot.console import ConsoleOptions

    return ConsoleOptions(
        settings.bot_console_host, settings.bot_console_port, settings.console_url
    )


def cmd_run(args: argparse.Namespace) -> int:
    """`merchant-bot run`."""
    from bot.store import check_database

    settings = load_settings()
    token = require_token(settings)
    # A file that is not SQLite, is damaged, is another program's or a newer version's is
    # refused here, in one line, before the write probe below (or anything else) touches it.
    if isinstance(settings.bot_database, Path):
        check_database(settings.bot_database)
        check_writable_database(settings.bot_database)
    check_writable_dir(settings.bot_files_dir, "BOT_FILES_DIR")
    secrets = [token, *([settings.database_secret] if settings.database_secret else [])]
    setup_logging(logging.INFO, secrets=secrets)
    run_loop(serve(settings, token))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """`merchant-bot chat`."""
    try:
        from bot.playground import run_playground
    except ModuleNotFoundError as exc:  # the emulator is a dev tool, not in the wheel
        if (exc.name or "").split(".")[0] not in ("devserver", "aiohttp"):
            raise
        print(
            "merchant-bot: chat needs the local Bot API emulator (devserver/, aiohttp), which "
            "only a source checkout has: there run `make chat` or pip install -e '.[dev]'",
            file=sys.stderr,
        )
        return 2

    settings = load_settings()
    setup_logging(logging.WARNING if not args.verbose else logging.INFO)
    return asyncio.run(
        run_playground(
            settings,
            Path(args.data),
            fresh=args.fresh,
            user_id=args.user,
            operator_id=args.operator_id,
        )
    )


def cmd_console_link(args: argparse.Namespace) -> int:
    """`merchant-bot console-link ID`: print a one-time console login link (for local use)."""
    from bot.console.links import print_link

    settings = load_settings()
    return asyncio.run(print_link(settings, args.operator_id))


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """`merchant-bot migrate-db --to URL`: copy the SQLite BOT_DATABASE into PostgreSQL."""
    from bot.migratedb import MigrationError, migrate_db

    settings = load_settings()
    try:
        summary = asyncio.run(
            migrate_db(
                settings.bot_database,
                args.to,
                files_dir=settings.bot_files_dir,
                replace=args.replace,
            )
        )
    except MigrationError as exc:
        print(f"merchant-bot: migrate-db: {exc}", file=sys.stderr)
        return exc.status
    print(summary)
    return 0


def cmd_content_check(args: argparse.Namespace) -> int:
    """`merchant-bot content-check`."""
    from bot.content_check import main as check_main

    return check_main()


SETTINGS_HELP = """\
settings (environment variables, also read from .env):
  TELEGRAM_BOT_TOKEN   the bot's token (required by run)
  TELEGRAM_API_URL     Bot API base URL (default https://api.telegram.org/bot)
  BOT_DATABASE         SQLite file (default data/merchant-bot.sqlite3)
  BOT_FILES_DIR        where uploaded documents are kept (default data/files)
  BOT_ADMIN_IDS        comma-separated Telegram user ids of operators
  BOT_TIMEZONE         default time zone for merchants (default Asia/Shanghai)
  BOT_CONSOLE_HOST     where the operator web console listens (default 127.0.0.1)
  BOT_CONSOLE_PORT     its port (default 8080); 0 turns the console off
  BOT_CONSOLE_URL      its public base URL, written into /console login links
                       (default http://BOT_CONSOLE_HOST:BOT_CONSOLE_PORT)
  BOT_WEBHOOK_URL      public https URL for Telegram webhooks (default: none, long polling)
  BOT_WEBHOOK_LISTEN   host:port the webhook is served on behind the TLS proxy
                       (default 127.0.0.1:8443; the console's address shares its server)
  BOT_WEBHOOK_SECRET   the secret every delivery must carry (required with BOT_WEBHOOK_URL)
"""


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="merchant-bot",
        description=__doc__,
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="serve Telegram by long polling (needs TELEGRAM_BOT_TOKEN), and the operator "
        "console on BOT_CONSOLE_HOST:BOT_CONSOLE_PORT",
    )
    chat = sub.add_parser("chat", help="play the bot in the terminal, offline, no token needed")
    chat.add_argument(
        "--data",
        default="data/playground",
        help="the playground's own data directory (default: data/playground)",
    )
    chat.add_argument("--fresh", action="store_true", help="start with an empty database")
    chat.add_argument("--user", type=int, default=10001, help="your merchant user id")
    chat.add_argument(
        "--operator-id",
        type=int,
        default=999,
        help="a user id that is an operator in the playground (`:as 999`)",
    )
    chat.add_argument("-v", "--verbose", action="store_true", help="show the bot's logs")
    sub.add_parser("content-check", help="render every screen and check Telegram's limits")
    link = sub.add_parser(
        "console-link",
        help="print a one-time login link to the operator web console (10 minutes, single use)",
    )
    link.add_argument(
        "operator_id", type=int, help="an operator's Telegram user id (BOT_ADMIN_IDS)"
    )
    migrate = sub.add_parser(
        "migrate-db",
        help="copy the SQLite database BOT_DATABASE into an empty PostgreSQL database, in one "
        "transaction (stop the bot first)",
    )
    migrate.add_argument(
        "--to", required=True, metavar="URL", help="the target, postgresql://user:pass@host/db"
    )
    migrate.add_argument(
        "--replace",
        action="store_true",
        help="delete what the target already holds before copying (otherwise refused)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    handlers = {
        "run": cmd_run,
        "chat": cmd_chat,
        "content-check": cmd_content_check,
        "console-link": cmd_console_link,
        "migrate-db": cmd_migrate_db,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"merchant-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"merchant-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
