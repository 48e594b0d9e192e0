"""One lifespan for the running bot: Application → polling → scheduler, and back down.

`merchant-bot run`, the playground, the tests and the benchmarks all start the bot through
`serving`, so the order (recover what a stopped process left, register the "/" menu, poll,
deliver reminders) and the shutdown (scheduler, polling, Application, store) live in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.app import build_application, start_polling, stop_polling
from bot.runtime import Runtime
from bot.scheduler import Scheduler, start_scheduler


@dataclass(frozen=True)
class Running:
    """A started bot: its Application, reminder scheduler and shared runtime."""

    app: Application
    scheduler: Scheduler
    runtime: Runtime


@asynccontextmanager
async def serving(
    runtime: Runtime,
    *,
    poll_timeout: int = 30,
    scheduler_options: dict[str, Any] | None = None,
    **application: Any,
) -> AsyncIterator[Running]:
    """Serve Telegram by long polling while the block runs; the store is closed after.

    `application`: build_application's settings (token, base_url, base_file_url, observer,
    concurrency)."""
    try:
        app = build_application(runtime, **application)
        async with app:  # initialize … shutdown
            await start_polling(app, timeout=poll_timeout)
            scheduler = await start_scheduler(app, **(scheduler_options or {}))
            try:
                yield Running(app, scheduler, runtime)
            finally:
                await scheduler.stop()
                await stop_polling(app)
    finally:
        await runtime.store.close()
