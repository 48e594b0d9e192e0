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
from typing import TYPE_CHECKING, Any

from telegram.ext import Application

from bot.app import build_application, start_polling, stop_polling
from bot.runtime import Runtime
from bot.scheduler import Scheduler, start_scheduler

if TYPE_CHECKING:  # imported when asked for: aiohttp's server and the console cost ~2.5 MiB
    from bot.console import Console, ConsoleOptions
    from bot.webhook import Webhook, WebhookOptions


@dataclass(frozen=True)
class Running:
    """A started bot: its Application, reminder scheduler and shared runtime, and the operator
    console when one was asked for."""

    app: Application
    scheduler: Scheduler
    runtime: Runtime
    console: Console | None = None
    webhook: Webhook | None = None


@asynccontextmanager
async def serving(
    runtime: Runtime,
    *,
    poll_timeout: int = 30,
    scheduler_options: dict[str, Any] | None = None,
    console: ConsoleOptions | None = None,
    webhook: WebhookOptions | None = None,
    **application: Any,
) -> AsyncIterator[Running]:
    """Serve Telegram while the block runs (long polling, or a webhook when `webhook` is
    given); the store is closed after.

    `console`: where the operator console listens (None: no console, as in the tests and
    benchmarks that do not ask for one); a webhook on the console's own address is answered by
    the console's server. `application`: build_application's settings (token, base_url,
    base_file_url, observer, concurrency, http)."""
    try:
        app = build_application(runtime, **application)
        async with app:  # initialize … shutdown
            shared = (
                webhook is not None
                and console is not None
                and (webhook.host, webhook.port) == (console.host, console.port)
            )
            web: Console | None = None
            hook: Webhook | None = None
            scheduler: Scheduler | None = None
            try:
                if console is not None:
                    from bot.console import Console
                if webhook is not None:
                    from bot import webhook as hooks
                    from bot.webhook import Webhook
                if shared:
                    assert webhook is not None and console is not None
                    options = webhook
                    web = await Console.start(
                        app, runtime, console, also=lambda w: hooks.add_route(w, app, options)
                    )
                if webhook is not None:
                    hook = await Webhook.start(app, webhook, shared=shared)
                else:
                    await start_polling(app, timeout=poll_timeout)
                scheduler = await start_scheduler(app, **(scheduler_options or {}))
                if console is not None and web is None:
                    web = await Console.start(app, runtime, console)
                yield Running(app, scheduler, runtime, web, hook)
            finally:
                if web is not None:
                    await web.stop()
                if scheduler is not None:
                    await scheduler.stop()
                if hook is not None:
                    await hook.stop()
                elif app.running:
                    await stop_polling(app)
    finally:
        await runtime.store.close()
