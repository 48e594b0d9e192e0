"""Several replicas on one PostgreSQL database (bot.leader): every replica runs a scheduler,
one leads and delivers, each reminder is sent once (or marked uncertain, never twice), the
pacing (30/s overall, 1/s per chat) holds across all of them, and when the leader dies or loses
its database session another replica takes over within seconds.

Each replica is what a process has: its own store (its own pool), Bot and Scheduler; they share
one database on a real PostgreSQL server (tests/pgserver.py) and one local Bot API server with
Telegram's flood limits (a 429 would show any pacing beyond them). Death is simulated in the
process: the leader's tasks are cancelled without any cleanup and its sessions closed, as the
kernel closes a killed process's sockets."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from telegram import Bot

from bot.clock import FixedClock
from bot.leader import HEARTBEAT, LEADER_LOCK, PgLease
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.store import Store
from devserver.server import BotApiServer
from flows import reminders as rem
from flows.core import MerchantState
from tests.harness import contents
from tests.pgserver import PostgresServer
from tests.test_e2e_reminders import reminder_calls

SH = ZoneInfo("Asia/Shanghai")
SEEDED = datetime(2026, 9, 28, 9, 0, tzinfo=SH)  # submitted Fri 09-25: window opens 09-30
DUE = datetime(2026, 9, 30, 10, 0, tzinfo=SH)
_names = itertools.count()


@dataclass
class Replica:
    """One bot process's share of the scheduling: store, Bot, Scheduler."""

    store: Store
    bot: Bot
    scheduler: Scheduler
    dead: bool = False

    @property
    def lease(self) -> PgLease:
        lease = self.scheduler.lease
        assert isinstance(lease, PgLease)
        return lease

    async def die(self) -> None:
        """As a SIGKILL: nothing more runs, nothing is cleaned up, the sessions close."""
        self.dead = True
        lease = self.lease
        for task in (self.scheduler._task, lease._task):
            assert task is not None
            task.cancel()
        await asyncio.sleep(0)  # the cancellations land before the connections close
        if lease._conn is not None:
            await lease._conn.close()  # no unlock: the server frees the lock with the session
        await self.store.close()


@asynccontextmanager
async def replicas(
    postgres: PostgresServer,
    server: BotApiServer,
    clock: FixedClock,
    tmp: Path,
    n: int = 3,
    heartbeat: float = HEARTBEAT,
) -> AsyncIterator[tuple[str, list[Replica]]]:
    """`n` replicas on one fresh database, started one after the other (`heartbeat`: how often
    a leader checks its session besides its claims)."""
    url = postgres.create_database(f"replicas_{next(_names)}")
    started: list[Replica] = []
    try:
        for _ in range(n):
            store = await Store.open(url)
            bot = Bot(server.token, base_url=server.base_url)
            await bot.initialize()
            runtime = Runtime(
                store=store, contents=contents(), clock=clock, timezone=SH, files_dir=tmp / "f"
            )
            lease = PgLease(store, heartbeat=heartbeat) if heartbeat != HEARTBEAT else None
            scheduler = Scheduler(runtime, bot, lease=lease)  # None: the store's own choice
            runtime.on_plan_change = scheduler.wake
            started.append(Replica(store, bot, scheduler))
            await scheduler.start()
        yield url, started
    finally:
        for replica in started:
            if not replica.dead:
                await replica.scheduler.stop()
                await replica.store.close()
            await replica.bot.shutdown()


async def seed(store: Store, server: BotApiServer, ids: range) -> None:
    """Merchants under review whose window opens at DUE (one reminder each falls due)."""
    catalog = contents().default.catalog
    for uid in ids:
        server.add_user(uid)
        state = MerchantState(
            uid,
            created=True,
            data={"route": "platform", "status": "submitted", "submitted_on": "2026-09-25"},
        )
        await store.save_merchant(
            state,
            chat_id=uid,
            language="zh-hans",
            now=SEEDED,
            plan=rem.plan(state.data, catalog, SH, SEEDED),
        )


def states(url: str) -> Counter[str]:
    """How many window reminders are in each state."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT state, COUNT(*) FROM reminders WHERE kind = 'window_open' GROUP BY state"
        ).fetchall()
    return Counter({state: count for state, count in rows})


def leaders(group: list[Replica]) -> list[Replica]:
    return [r for r in group if not r.dead and r.scheduler.lease.leading]


async def until(condition, timeout: float = 20.0, step: float = 0.05) -> float:  # noqa: ASYNC109
    """Wait until `condition()` holds; how long it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - leases and rows change in other tasks' time
            await asyncio.sleep(step)
    return loop.time() - began


def messages_to(server: BotApiServer, ids: range) -> list:
    """The messages these merchants received (nothing but their reminders is sent to them)."""
    return [c for c in server.calls if c.method == "sendMessage" and c.ok and c.chat_id in ids]


def assert_paced_and_once(server: BotApiServer, ids: range) -> Counter[int]:
    """No 429, at most 30 sends in any second, at most one reminder per chat; per chat."""
    assert server.counters["429"] == 0
    calls = messages_to(server, ids)
    times = sorted(c.t for c in calls)
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[30:], strict=False))
    per_chat = Counter(c.chat_id for c in calls)
    assert set(per_chat) <= set(ids) and set(per_chat.values()) <= {1}
    return per_chat


@pytest.fixture
async def limited() -> AsyncIterator[BotApiServer]:
    """The local Bot API with Telegram's limits, answering 429 beyond them."""
    async with BotApiServer(flood_global_per_sec=30, flood_per_chat_per_sec=1) as srv:
        yield srv


async def test_one_leader_paces_all_replicas_and_each_reminder_goes_once(
    postgres, limited, tmp_path
):
    clock = FixedClock(SEEDED)
    ids = range(30_000, 30_090)  # three seconds at the overall limit
    async with replicas(postgres, limited, clock, tmp_path) as (url, group):
        [leader] = leaders(group)
        assert leader is group[0]  # the first to start took the lock; the others wait
        await seed(group[1].store, limited, ids)
        clock.at = DUE.astimezone(UTC)
        woken = time.monotonic()  # the clock of the server's call records
        group[2].scheduler.wake()  # a follower's plan change: NOTIFY reaches the leader
        first = await limited.wait_for(lambda c: c.method == "sendMessage", timeout=10)
        assert first.t - woken < 3.0  # not the leader's 30 s sleep
        await leader.scheduler.wait_for("sent", len(ids), timeout=30)
        await asyncio.sleep(1.5)  # anything sent twice, or by another replica, shows now
        assert states(url) == {"sent": len(ids)}
        assert len(assert_paced_and_once(limited, ids)) == len(ids)
        assert len(reminder_calls(limited)) == len(ids)  # and each of them is the reminder
        assert [r.scheduler.stats["sent"] for r in group] == [len(ids), 0, 0]
        assert [r.scheduler.stats["elected"] for r in group] == [1, 0, 0]  # no follower's pass
        assert leaders(group) == [leader]
        for follower in group[1:]:
            assert await follower.scheduler.run_due() == 0  # asked by hand: not its job


async def test_the_leader_dies_mid_delivery_another_takes_over_nothing_twice(
    postgres, limited, tmp_path
):
    clock = FixedClock(SEEDED)
    ids = range(31_000, 31_120)
    async with replicas(postgres, limited, clock, tmp_path) as (url, group):
        [leader] = leaders(group)
        await seed(leader.store, limited, ids)
        clock.at = DUE.astimezone(UTC)
        leader.scheduler.wake()
        await leader.scheduler.wait_for("sent", 30, timeout=20)
        limited.hang("sendMessage")  # the next request is in flight when the leader dies
        await limited.wait_held("sendMessage")
        await leader.die()
        caught = states(url)["sending"]  # the held request's reminder (perhaps one more)
        assert caught >= 1
        limited.release()  # held requests never take effect (502)
        took = await until(lambda: len(leaders(group)) == 1, timeout=10)
        assert took < 4.0  # within seconds
        [successor] = leaders(group)
        sent = lambda: sum(r.scheduler.stats["sent"] for r in group)  # noqa: E731
        await until(lambda: sent() >= len(ids) - caught, timeout=30)
        await asyncio.sleep(1.5)
        final = states(url)
        # those caught in flight are uncertain: never resent; every other one was sent once
        assert final == {"sent": len(ids) - caught, "uncertain": caught}
        per_chat = assert_paced_and_once(limited, ids)
        assert len(per_chat) == len(ids) - caught
        assert successor.scheduler.stats["sent"] + leader.scheduler.stats["sent"] == final["sent"]
        assert leaders(group) == [successor]


async def test_a_leader_that_loses_its_session_stops_and_another_leads(postgres, limited, tmp_path):
    clock = FixedClock(SEEDED)
    ids = range(32_000, 32_120)
    # no heartbeat: only its claims, made through the lock's session, can tell the leader
    async with replicas(postgres, limited, clock, tmp_path, heartbeat=3600) as (url, group):
        [leader] = leaders(group)
        await seed(leader.store, limited, ids)
        clock.at = DUE.astimezone(UTC)
        leader.scheduler.wake()
        await leader.scheduler.wait_for("sent", 30, timeout=20)
        leader.lease.retry = 60.0  # it stays a follower for the rest of this test
        with psycopg.connect(url, autocommit=True) as admin:  # the network drops its session
            admin.execute("SELECT pg_terminate_backend(%s)", (leader.lease.backend_pid,))
        await until(lambda: not leader.lease.leading, timeout=5)
        await asyncio.sleep(0.5)  # a request already under way when it noticed may finish
        stopped_at = leader.scheduler.stats["sent"]
        took = await until(lambda: len(leaders(group)) == 1, timeout=10)
        assert took < 4.0
        [successor] = leaders(group)
        assert successor is not leader
        await until(lambda: states(url)["sent"] + states(url)["uncertain"] == len(ids))
        await asyncio.sleep(1.5)
        assert leader.scheduler.stats["sent"] == stopped_at  # not one more from it
        final = states(url)
        assert final["sent"] + final["uncertain"] == len(ids) and final["uncertain"] <= 1
        per_chat = assert_paced_and_once(limited, ids)
        assert final["sent"] <= len(per_chat) <= final["sent"] + final["uncertain"]
        assert leaders(group) == [successor]


async def test_a_starting_replica_leaves_the_leaders_sends_alone(postgres, server, tmp_path):
    clock = FixedClock(SEEDED)
    async with replicas(postgres, server, clock, tmp_path, n=1) as (url, group):
        [leader] = group
        await seed(leader.store, server, range(33_000, 33_002))
        with psycopg.connect(url, autocommit=True) as conn:  # the leader is sending one now
            conn.execute(
                "UPDATE reminders SET state = 'sending'"
                " WHERE user_id = 33000 AND kind = 'window_open'"
            )
        follower_store = await Store.open(url)
        follower = Scheduler(
            Runtime(store=follower_store, contents=contents(), clock=clock, timezone=SH),
            Bot(server.token, base_url=server.base_url),  # nothing is due: never used
        )
        try:
            await follower.start()
            assert not follower.lease.leading
            assert states(url) == {"sending": 1, "pending": 1}  # untouched
            await leader.die()
            await until(lambda: follower.lease.leading, timeout=5)
            await follower.wait_for("elected", 1, timeout=5)
            assert states(url) == {"uncertain": 1, "pending": 1}  # now it is the leader's
        finally:
            await follower.stop()
            await follower_store.close()


# --- the same with processes and SIGKILL ---------------------------------------------------


async def _replica_process(url: str, api: str, token: str, files: str) -> None:
    """One replica's scheduler in a process of its own, with the bot's clock at DUE."""
    store = await Store.open(url)
    bot = Bot(token, base_url=api)
    await bot.initialize()
    runtime = Runtime(
        store=store, contents=contents(), clock=FixedClock(DUE), timezone=SH, files_dir=Path(files)
    )
    scheduler = Scheduler(runtime, bot)
    runtime.on_plan_change = scheduler.wake
    await scheduler.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until killed


def leader_name(url: str) -> str | None:
    """The application_name of the session holding the leader lock."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = %s AND l.granted",
            (LEADER_LOCK,),
        ).fetchone()
    return row[0] if row else None


async def test_three_processes_the_leader_killed_with_sigkill(postgres, limited, tmp_path):
    ids = range(34_000, 34_150)  # five seconds at the overall limit
    url = postgres.create_database(f"replicas_{next(_names)}")
    store = await Store.open(url)
    try:
        await seed(store, limited, ids)
    finally:
        await store.close()
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for i in range(3):
            name = f"replica{i}"
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: ASYNC230, SIM115 - for the child
            procs[name] = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.test_scheduler_replicas",
                f"{url}?application_name={name}",
                limited.base_url,
                limited.token,
                str(tmp_path / "files"),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=Path(__file__).resolve().parent.parent,
            )
            log.close()
        for proc in procs.values():
            assert proc.stdout is not None
            async with asyncio.timeout(30):
                assert (await proc.stdout.readline()).strip() == b"ready"
        first = leader_name(url)
        assert first in procs  # the others wait for the lock
        await limited.wait_for(lambda c: len(messages_to(limited, ids)) >= 40, timeout=20)
        procs[first].send_signal(signal.SIGKILL)
        await procs[first].wait()
        killed_at = time.monotonic()
        await until(lambda: leader_name(url) not in (None, first), timeout=10)
        assert time.monotonic() - killed_at < 5.0  # another process leads within seconds
        await until(lambda: sum(states(url)[s] for s in ("sent", "uncertain")) == len(ids), 30)
        await asyncio.sleep(1.5)  # anything sent twice would show now
        final = states(url)
        assert final["sent"] + final["uncertain"] == len(ids) and final["uncertain"] <= 2
        per_chat = assert_paced_and_once(limited, ids)  # zero 429s, none twice
        assert final["sent"] <= len(per_chat) <= final["sent"] + final["uncertain"]
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


if __name__ == "__main__":  # a replica process of the SIGKILL test
    asyncio.run(_replica_process(*sys.argv[1:5]))
