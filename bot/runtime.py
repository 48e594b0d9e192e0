"""What every part of the running bot shares: store, content, clock, settings, per-user locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.content import ContentRegistry
from bot.store import Store


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it; and, when the
    store is shared by several processes (PostgreSQL), the database's lock of the key too."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.shared: Callable[[int], AbstractAsyncContextManager[None]] | None = None

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        """Hold the key's lock; waiters are served in arrival order."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self.shared is None:
                    yield
                else:
                    async with self.shared(key):
                        yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class Runtime:
    """What the handlers share: configuration, store, content, clock."""

    store: Store
    contents: ContentRegistry
    clock: Clock
    timezone: ZoneInfo
    admin_ids: frozenset[int] = frozenset()
    files_dir: Path = Path("data/files")
    # Called after a merchant's reminder plan changed (the scheduler wakes up).
    on_plan_change: Callable[[], None] = lambda: None
    locks: KeyedLocks = field(default_factory=KeyedLocks)

    def __post_init__(self) -> None:
        # several replicas on one PostgreSQL: a merchant is handled by one at a time
        self.locks.shared = self.store.merchant_locks


T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the bot's main coroutine on uvloop (less CPU per update than asyncio's own loop;
    bench/README.md), or on asyncio's where uvloop is not installed (Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
