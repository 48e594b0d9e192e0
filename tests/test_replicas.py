"""Several replicas behind one webhook URL, sharing one PostgreSQL database (issue 11).

The local Bot API server delivers the updates round robin to three bots, each with its own
store, pool and webhook listener, as a load balancer would: one merchant's consecutive updates
land on different replicas, which answer 200 as soon as the update is recorded and then race
to handle it. Every update must be applied once, and each merchant's answers must come in the
order the merchant wrote; updates delivered again (a retry landing on another replica) change
nothing. Runs on a real PostgreSQL server (tests/pgserver.py), skipped with the reason where
there is none."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.webhook import WebhookOptions
from devserver.server import BotApiServer
from tests import contentkit as ck
from tests.harness import RunningBot, running_bot
from tests.pgserver import PostgresServer

PUBLIC = "https://bot.example.com/telegram/hook"
SECRET = "replica-secret"
_names = itertools.count()
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

# one message each, with a reply that names it (ck.template)
WORDS = {"/help": "help", "/status": "status", "怎么发货": "ship_step", "/menu": "menu"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _replicas(
    stack: AsyncExitStack, server: BotApiServer, url: str, files: Path, count: int
) -> list[RunningBot]:
    ports = [_free_port() for _ in range(count)]
    server.webhooks.route(PUBLIC, *(f"http://127.0.0.1:{port}" for port in ports))
    return [
        await stack.enter_async_context(
            running_bot(
                server,
                url,
                files_dir=files,
                webhook=WebhookOptions(PUBLIC, SECRET, host="127.0.0.1", port=port),
            )
        )
        for port in ports
    ]


def _replies(server: BotApiServer, chat: int) -> list[Any]:
    return [
        c for c in server.calls if c.method == "sendMessage" and c.params.get("chat_id") == chat
    ]


async def _until(predicate: Any, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - deliveries are not API calls: polled
            await asyncio.sleep(0.02)


async def _retry_once(server: BotApiServer, updates: list[dict[str, Any]]) -> None:
    """Deliver each of these updates a second time once it was delivered (Telegram retries an
    update whose 200 it did not get in time); the retry lands on the next replica."""
    waiting = {u["update_id"]: u for u in updates}
    while waiting:
        for delivery in server.webhooks.deliveries:
            update = waiting.pop(delivery.update_id, None)
            if update is not None:
                server.redeliver(update)
        await asyncio.sleep(0.01)


async def test_three_replicas_answer_each_merchant_once_and_in_order(
    server: BotApiServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database(f"replicas_{next(_names)}")
    merchants = range(8001, 8031)
    said = [word for _ in range(3) for word in WORDS]  # 12 messages each, without waiting
    async with AsyncExitStack() as stack:
        bots = await _replicas(stack, server, url, tmp_path / "files", 3)
        sent: list[dict[str, Any]] = []
        for word in ["/start", *said]:
            for uid in merchants:
                sent.append(server.user_sends_text(uid, word))
        retried = asyncio.create_task(_retry_once(server, sent[::7]))
        expected = 1 + len(said)
        await _until(lambda: all(len(_replies(server, u)) >= expected for u in merchants))
        await retried
        await asyncio.sleep(0.5)  # anything extra would come now
        handled_by = {d.update_id: d.target for d in server.webhooks.deliveries}
        rows = await bots[0].store.db.execute_fetchall(
            "SELECT state, COUNT(*) FROM updates GROUP BY state"
        )
    for uid in merchants:
        replies = _replies(server, uid)
        names = [ck.template(r) for r in replies]
        assert names == ["welcome", *(WORDS[w] for w in said)], (uid, names)
    # the load really was spread: every replica received updates of the same merchants
    assert len(set(handled_by.values())) == 3
    assert dict((r[0], r[1]) for r in rows) == {"answered": len(sent)}


async def test_what_a_dead_replica_left_is_taken_over_by_a_live_one(
    server: BotApiServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    """An update recorded by a replica that died before handling it (its owner key is free)
    is handled by a live replica within seconds; one recorded by a live replica is not
    touched by the others."""
    url = postgres.create_database(f"replicas_{next(_names)}")
    uid = 8101
    server.add_user(uid)
    message = {"message_id": 1, "date": 0, "chat": {"id": uid, "type": "private"}}
    message["from"] = {"id": uid, "is_bot": False, "first_name": "商家"}
    async with AsyncExitStack() as stack:
        bots = await _replicas(stack, server, url, tmp_path / "files", 2)
        dead = bots[0].store.owner
        alive = bots[1].store.owner
        assert dead is not None and alive is not None and dead != alive
        await bots[0].store.liveness.stop()  # its process "died": the key is free
        for update_id, owner, text in ((900_001, dead, "/help"), (900_002, alive, "/status")):
            bots[1].store.owner = owner
            payload = {"update_id": update_id, "message": {**message, "text": text}}
            assert await bots[1].store.receive_update(update_id, uid, json.dumps(payload), NOW)
        bots[1].store.owner = alive
        await _until(lambda: len(_replies(server, uid)) >= 1, timeout=15)
        await asyncio.sleep(6)  # one more sweep: the live owner's update stays its own
        [reply] = _replies(server, uid)
        assert ck.template(reply) == "help"
        rows = await bots[1].store.db.execute_fetchall(
            "SELECT update_id, state FROM updates ORDER BY update_id"
        )
    assert [tuple(r) for r in rows] == [(900_001, "answered"), (900_002, "received")]
