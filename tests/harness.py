"""Run the real Application over HTTP against the local Bot API server, for the tests."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
from tests.pgserver import PostgresServer

_CONTENTS: ContentRegistry | None = None

# Which store the tests run on: SQLite files (the default), or with MERCHANT_TEST_STORE=postgresql
# a database per test file path on one real PostgreSQL server (tests/pgserver.py, started by
# conftest.py). `make test` runs the end-to-end suite both ways.
STORE = os.environ.get("MERCHANT_TEST_STORE", "sqlite")
POSTGRES: PostgresServer | None = None  # set by conftest.py when STORE is postgresql
_DATABASES: dict[str, str] = {}


def store_target(path: Path | str) -> Path | str:
    """Where a test's store lives: the SQLite file itself, or the PostgreSQL database that
    stands for it (the same path gives the same database, so a restart finds its data); a
    postgresql:// URL given instead of a path is that database itself."""
    if isinstance(path, str):
        return path
    if STORE != "postgresql":
        return path
    if POSTGRES is None:
        raise RuntimeError("MERCHANT_TEST_STORE=postgresql but no PostgreSQL server was started")
    key = str(Path(path).resolve())
    if key not in _DATABASES:
        name = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
        _DATABASES[key] = POSTGRES.create_database(name)
    return _DATABASES[key]


def query_store(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the test's store from outside the bot (another process may be using it): rows as
    tuples, from the SQLite file or the PostgreSQL database that stands for it."""
    target = store_target(path)
    if isinstance(target, Path):
        with sqlite3.connect(target) as db:
            return list(db.execute(sql, params).fetchall())
    import psycopg

    from bot.pgdb import translate

    with psycopg.connect(target) as conn:
        return [tuple(r) for r in conn.execute(translate(sql) if params else sql, params)]


async def open_store(path: Path | str) -> Store:
    """Store.open on the test's store (see store_target)."""
    return await Store.open(store_target(path))


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
    db_path: Path | str,
    *,
    clock: Clock | None = None,
    admin_ids: frozenset[int] = frozenset(),
    timezone: str = "Asia/Shanghai",
    scheduler_options: dict | None = None,
    files_dir: Path | None = None,
    console: bool = False,
    webhook: WebhookOptions | None = None,
) -> AsyncIterator[RunningBot]:
    """Start the Application against `server` with the database at `db_path` (or a
    postgresql:// URL, then with `files_dir`); stop it after."""
    store = await open_store(db_path)
    server.continue_update_ids(await store.last_update_id())  # a new server, an old database
    runtime = Runtime(
        store=store,
        contents=contents(),
        clock=clock or ShiftedClock(),
        timezone=ZoneInfo(timezone),
        admin_ids=admin_ids,
        files_dir=files_dir or Path(db_path).parent / "files",
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
