"""One lifespan for the running bot: Application → polling → scheduler → console, and back.

`merchant-bot run`, the playground, the tests and the benchmarks all start the bot through
`serving`, so the order (recover what a stopped process left, register the "/" menu, poll,
deliver reminders, serve the operator console when asked) and the shutdown (console,
scheduler, polling, Application, store) live in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.app import build_application, start_polling, stop_polling
from bot.console import Console, ConsoleOptions
from bot.runtime import Runtime
from bot.scheduler import Scheduler, start_scheduler


@dataclass(frozen=True)
class Running:
    """A started bot: its Application, reminder scheduler and shared runtime, and the operator
    console when one was asked for."""

    app: Application
    scheduler: Scheduler
    runtime: Runtime
    console: Console | None = None


@asynccontextmanager
async def serving(
    runtime: Runtime,
    *,
    poll_timeout: int = 30,
    scheduler_options: dict[str, Any] | None = None,
    console: ConsoleOptions | None = None,
    **application: Any,
) -> AsyncIterator[Running]:
    """Serve Telegram by long polling while the block runs; the store is closed after.

    `console`: where the operator console listens (None: no console, as in the tests and
    benchmarks that do not ask for one). `application`: build_application's settings (token,
    base_url, base_file_url, observer, concurrency)."""
    try:
        app = build_application(runtime, **application)
        async with app:  # initialize … shutdown
            await start_polling(app, timeout=poll_timeout)
            scheduler = await start_scheduler(app, **(scheduler_options or {}))
            web: Console | None = None
            try:
                if console is not None:
                    web = await Console.start(app, runtime, console)
                yield Running(app, scheduler, runtime, web)
            finally:
                if web is not None:
                    await web.stop()
                await scheduler.stop()
                await stop_polling(app)
    finally:
        await runtime.store.close()
