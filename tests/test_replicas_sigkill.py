"""Three bot processes behind one webhook URL on one PostgreSQL, one of them killed with SIGKILL
(issue 11's test "for real").

Each process is the whole bot (`serving`: Application, webhook listener, inbox, scheduler, the
clock fixed at DUE), started from this module as a script. The local Bot API server stands in
for Telegram and the TLS proxy, delivering round robin to the three:

1. 30 merchants each write 13 messages without waiting, some delivered twice (to another
   process): every message answered once, in the order written.
2. 2,000 merchants' reminders fall due together under Telegram's limits (the server answers
   429 beyond 30/s overall or 1/s per chat); the process leading the scheduler is killed with
   SIGKILL in the middle. Another leads within seconds; no reminder is sent twice, none is
   lost (those caught in flight are marked uncertain), and there is no 429.

About a minute and a half: 2,000 reminders at the overall limit take 70 seconds."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg

from bot.clock import FixedClock
from bot.leader import CHANNEL
from bot.lifespan import serving
from bot.runtime import Runtime
from bot.store import Store
from bot.webhook import WebhookOptions
from devserver.server import BotApiServer
from tests import contentkit as ck
from tests.harness import contents, running_bot
from tests.test_replicas import PUBLIC, SECRET, WORDS, _replies, _retry_once, _until
from tests.test_scheduler_replicas import (
    DUE,
    SH,
    assert_paced_and_once,
    leader_name,
    seed,
    states,
)

REMINDERS = range(40_000, 42_000)
WRITERS = range(8201, 8231)
DONE = ("sent", "uncertain")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _process(url: str, api: str, files_api: str, token: str, port: str, files: str) -> None:
    """One replica: the whole bot on a webhook, the clock at DUE, until killed."""
    store = await Store.open(url)
    runtime = Runtime(
        store=store, contents=contents(), clock=FixedClock(DUE), timezone=SH, files_dir=Path(files)
    )
    hook = WebhookOptions(PUBLIC, SECRET, host="127.0.0.1", port=int(port))
    async with serving(
        runtime, token=token, base_url=api, base_file_url=files_api, webhook=hook
    ) as running:
        assert running.webhook is not None
        print("ready", flush=True)
        await asyncio.Event().wait()


async def _start(
    server: BotApiServer, url: str, tmp: Path, count: int
) -> dict[str, asyncio.subprocess.Process]:
    ports = [_free_port() for _ in range(count)]
    server.webhooks.route(PUBLIC, *(f"http://127.0.0.1:{port}" for port in ports))
    procs = {}
    for i, port in enumerate(ports):
        name = f"replica{i}"
        with open(tmp / f"{name}.log", "wb") as log:  # noqa: ASYNC230 - the child's stderr
            procs[name] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.test_replicas_sigkill",
                f"{url}?application_name={name}",
                server.base_url,
                server.base_file_url,
                server.token,
                str(port),
                str(tmp / "files"),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=Path(__file__).resolve().parent.parent,
            )
    for name, proc in procs.items():
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            line = await proc.stdout.readline()
        assert line.strip() == b"ready", (name, (tmp / f"{name}.log").read_text()[-2000:])
    return procs


async def test_three_processes_updates_in_order_and_reminders_once_through_a_sigkill(
    postgres: Any, tmp_path: Path
) -> None:
    url = postgres.create_database("replicas_sigkill")
    store = await Store.open(url)  # the schema, before three processes race for it
    await store.close()
    async with BotApiServer() as server:
        for uid in WRITERS:
            server.add_user(uid)
        procs = await _start(server, url, tmp_path, 3)
        try:
            # 1. the same merchants' updates on different processes, some delivered twice
            said = ["/start", *(word for _ in range(3) for word in WORDS)]
            sent = [server.user_sends_text(uid, word) for word in said for uid in WRITERS]
            await _retry_once(server, sent[::9])
            await _until(lambda: all(len(_replies(server, u)) >= len(said) for u in WRITERS))
            await asyncio.sleep(0.5)
            expected = await _answers_of_one_process(said, tmp_path)
            for uid in WRITERS:
                texts = [r.params["text"] for r in _replies(server, uid)]
                assert texts == expected, uid
            assert len({d.target for d in server.webhooks.deliveries}) == 3

            # 2. 2,000 reminders due at once, under Telegram's limits; the leader killed
            seeding = await Store.open(url)
            try:
                await seed(seeding, server, REMINDERS)
            finally:
                await seeding.close()
            server.set_flood(30, 1)
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))  # a plan changed
            first = await asyncio.to_thread(leader_name, url)
            assert first in procs
            await server.wait_for(
                lambda c: len(_sent_to(server)) >= 300, timeout=60
            )  # about ten seconds of sending
            killed_at_server = server.calls[-1].t
            procs[first].send_signal(signal.SIGKILL)
            await procs[first].wait()
            killed = time.monotonic()
            while await asyncio.to_thread(leader_name, url) in (None, first):  # noqa: ASYNC110
                assert time.monotonic() - killed < 5.0  # another process leads within seconds
                await asyncio.sleep(0.1)
            async with asyncio.timeout(150):
                # off the loop: a blocking query here would hold the server's replies back,
                # then let them out bunched, above the limits it checks
                while not await _all_done(url):  # noqa: ASYNC110 - rows of other processes
                    await asyncio.sleep(0.5)
            await asyncio.sleep(1.5)  # a reminder sent twice would show now
            final = await asyncio.to_thread(states, url)
            per_chat = assert_paced_and_once(server, REMINDERS)  # no 429, none twice
            assert final["sent"] + final["uncertain"] == len(REMINDERS)
            assert final["uncertain"] <= 2, final  # the leader's sends in flight at the kill
            assert final["sent"] <= len(per_chat) <= final["sent"] + final["uncertain"]
            assert server.counters["429"] == 0
        except AssertionError:
            refused = [(c.t, c.chat_id) for c in server.calls if c.error_code == 429]
            print("429:", refused[:20], "kill at", killed_at_server, file=sys.stderr)
            raise
        finally:
            for proc in procs.values():
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                with suppress(TimeoutError):
                    async with asyncio.timeout(15):
                        await proc.wait()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def _answers_of_one_process(said: list[str], tmp: Path) -> list[str]:
    """What one bot in this process answers a merchant writing `said`, one message at a
    time (the same screens, WORDS: welcome, help, status, ship_step, menu)."""
    async with (
        BotApiServer() as server,
        running_bot(server, tmp / "one.sqlite3", clock=FixedClock(DUE)) as bot,
    ):
        merchant = bot.merchant(WRITERS[0])
        answers = [await merchant.send(word) for word in said]
    names = [ck.template(shown) for [shown] in answers]
    assert names == ["welcome", *(WORDS[w] for w in said[1:])]
    return [shown.html for [shown] in answers]


async def _all_done(url: str) -> bool:
    counts = await asyncio.to_thread(states, url)
    return sum(counts[s] for s in DONE) == len(REMINDERS)


def _sent_to(server: BotApiServer) -> list[Any]:
    return [
        c
        for c in server.calls
        if c.method == "sendMessage" and c.ok and c.params.get("chat_id") in REMINDERS
    ]


if __name__ == "__main__":  # one replica process of the test above
    from bot.runtime import run_loop

    run_loop(_process(*sys.argv[1:7]))
