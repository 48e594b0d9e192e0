"""The SQLite store's statements on the event loop (bot.sqlitedb): the WAL they write is
checkpointed and stays bounded, a store in memory is one database, not two, and the loop's
connection refuses any other thread."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from flows.core import MerchantState

pytestmark = pytest.mark.sqlite_only

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def test_the_wal_stays_bounded_under_steady_writes(tmp_path: Path):
    """6,000 updates recorded and finished without a pause (about 100 MB of WAL if nothing
    checkpointed it): SQLite's own checkpoint on the loop's connection keeps it to a few MB."""
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        for update_id in range(1, 6001):
            await store.receive_update(update_id, 7, '{"text": "' + "字" * 400 + '"}', NOW)
            await store.finish_update(update_id)
        size = (tmp_path / "bot.sqlite3-wal").stat().st_size
    finally:
        await store.close()
    assert size < 16 * 2**20, size


async def test_commits_are_checkpointed_in_a_thread_of_their_own(tmp_path: Path):
    """A few commits, far below the 1,000 frames of SQLite's own checkpoint on the loop: the
    store's checkpoint thread copies them into the database file within moments."""
    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path)
    try:
        checkpointer = store.hot.checkpointer
        await asyncio.sleep(0.4)  # whatever the opening left to checkpoint
        before = (os.stat(path).st_mtime_ns, checkpointer.runs)
        for user_id in range(1, 21):
            state = MerchantState(user_id, created=True, data={"route": "b", "n": "店" * 300})
            await store.save_merchant(state, chat_id=user_id, language="zh-hans", now=NOW)
        for _ in range(100):
            if checkpointer.runs > before[1] and os.stat(path).st_mtime_ns != before[0]:
                break
            await asyncio.sleep(0.02)
        frames = (path.with_name(path.name + "-wal").stat().st_size - 32) // (4096 + 24)
        assert frames < 1000  # the loop's own checkpoint did not run
        assert checkpointer.runs > before[1]
        assert os.stat(path).st_mtime_ns != before[0]  # the frames reached the database file
    finally:
        await store.close()


async def test_a_store_in_memory_is_one_database():
    store = await Store.open(":memory:")
    try:
        state = MerchantState(5, created=True, data={"route": "b", "status": "preparing"})
        await store.save_merchant(state, chat_id=5, language="zh-hans", now=NOW)
        assert (await store.load_merchant(5)).data["route"] == "b"
        # the console and /stats read through the store's other connection: the same rows
        assert await store.count_merchants() == 1
        assert await store.chat_ids() == [5]
    finally:
        await store.close()


async def test_a_write_from_another_thread_is_refused(tmp_path: Path):
    """The loop's connection is for the loop's thread only: a stray use from a thread is an
    error, not a silent race on a shared connection."""
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(Exception, match="thread"):
            await asyncio.to_thread(store.hot.conn.execute, "SELECT 1")
    finally:
        await store.close()
