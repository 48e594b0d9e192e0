"""Shared fixtures: a strict local Bot API server and the real bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devserver.server import BotApiServer
from tests.harness import RunningBot, running_bot


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
