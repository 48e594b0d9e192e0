"""Shared fixtures: a strict local Bot API server and the real bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from devserver.server import BotApiServer
from tests import harness
from tests.harness import RunningBot, running_bot
from tests.pgserver import PostgresServer, find_binaries


@pytest.fixture(scope="session", autouse=True)
def postgres_store() -> Iterator[None]:
    """With MERCHANT_TEST_STORE=postgresql: one real PostgreSQL server for the session (each
    test's store is a database on it, tests.harness.store_target)."""
    if harness.STORE != "postgresql":
        yield
        return
    binaries, why = find_binaries()
    if binaries is None:
        pytest.skip(why)
    harness.POSTGRES = PostgresServer.start(binaries)
    try:
        yield
    finally:
        harness.POSTGRES.stop()
        harness.POSTGRES = None


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server whatever the pass: the suite's when it has one, else one for
    the test file (skipped, with the reason, where PostgreSQL cannot run)."""
    if harness.POSTGRES is not None:
        yield harness.POSTGRES
        return
    binaries, why = find_binaries()
    if binaries is None:
        pytest.skip(why)
    server = PostgresServer.start(binaries)
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of SQLite itself (its files, refusals, bytes on disk) are skipped, with the
    reason, when the suite runs on PostgreSQL."""
    if harness.STORE != "postgresql":
        return
    skip = pytest.mark.skip(reason="checks SQLite's own files; the suite runs on PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    """A fresh local Bot API server."""
    async with BotApiServer() as srv:
        yield srv


@pytest.fixture
async def bot(server: BotApiServer, tmp_path) -> AsyncIterator[RunningBot]:
    """The real Application, polling the local server, with a fresh database."""
    async with running_bot(server, tmp_path / "bot.sqlite3") as running:
        yield running
