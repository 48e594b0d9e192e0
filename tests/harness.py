"""Run the real Application over HTTP against the local Bot API server, for the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.clock import Clock, ShiftedClock
from bot.console import Console, ConsoleOptions
from bot.content import ContentRegistry
from bot.lifespan import serving
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.store import Store
from bot.webhook import WebhookOptions
from devserver.client import MerchantClient, UpdateTracker
from devserver.server import BotApiServer

_CONTENTS: ContentRegistry | None = None


def contents() -> ContentRegistry:
    """The content registry, loaded once for the whole test session."""
    global _CONTENTS
    if _CONTENTS is None:
        _CONTENTS = ContentRegistry()
    return _CONTENTS


@dataclass
class RunningBot:
    """A started Application with its store, ready for simulated merchants."""

    server: BotApiServer
    app: Application
    store: Store
    runtime: Runtime
    tracker: UpdateTracker
    scheduler: Scheduler
    console: Console | None = None  # running_bot(console=True): on an ephemeral port

    def merchant(self, user_id: int = 1001, **kwargs: object) -> MerchantClient:
        """A merchant talking to this bot."""
        return MerchantClient(self.server, self.tracker, user_id, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def running_bot(
    server: BotApiServer,
    db_path: Path,
    *,
    clock: Clock | None = None,
    admin_ids: frozenset[int] = frozenset(),
    timezone: str = "Asia/Shanghai",
    scheduler_options: dict | None = None,
    files_dir: Path | None = None,
    console: bool = False,
    webhook: WebhookOptions | None = None,
) -> AsyncIterator[RunningBot]:
    """Start the Application against `server` with the database at `db_path`; stop it after."""
    store = await Store.open(db_path)
    server.continue_update_ids(await store.last_update_id())  # a new server, an old database
    runtime = Runtime(
        store=store,
        contents=contents(),
        clock=clock or ShiftedClock(),
        timezone=ZoneInfo(timezone),
        admin_ids=admin_ids,
        files_dir=files_dir or db_path.parent / "files",
    )
    tracker = UpdateTracker()
    async with serving(
        runtime,
        token=server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        observer=tracker,
        poll_timeout=5,
        scheduler_options=scheduler_options,
        # 127.0.0.1 on a port the system picks: tests never fight over 8080
        console=ConsoleOptions("127.0.0.1", 0) if console else None,
        webhook=webhook,
    ) as running:
        yield RunningBot(
            server, running.app, store, runtime, tracker, running.scheduler, running.console
        )
