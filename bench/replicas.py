"""The replicas run: one and three bot processes on webhooks sharing one PostgreSQL database.

Each replica is `python -m bench.replica` (the whole bot, `serving(webhook=…)`, on a fresh
database of the benchmark's PostgreSQL server, bench.postgres). The emulator stands in for
Telegram and the TLS proxy: its webhook deliverer POSTs every update to the public URL, which
it routes round robin over the replicas' local listeners (devserver.webhooks, `route`), up to
40 deliveries in flight (Telegram's default `max_connections`), one at a time per merchant.

* Conversation: the conversation section's load (bench.conversation's script, closed loop at
  `--merchants`, then the open loop at `--rate`), the same for 1 and for 3 replicas, in fresh
  processes each time, closed-loop runs alternating 1, 3, 3, 1 … (`--repeat`, median kept).
  Latency is taken in the emulator as everywhere else (update queued → reply recorded), so it
  includes the webhook delivery. CPU is the sum over the replicas.
* Fan-out: `--fanout` merchants seeded as bench.fanout does (Store.save_merchant with their
  reminder plan, straight into the database), three replicas started with the clock before the
  due minute, then every replica told the minute came (`due`): one leader (bot.leader) delivers
  under the emulator's flood limits (30/s overall, 1/s per chat, 429 beyond). Rate as a share of
  30/s, 429s, duplicates and lost counted at the emulator; states counted in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

from bench import postgres
from bench.common import ROOT, Control
from bench.procs import Emulator
from bench.scripts import SCRIPTS, steps

WARMUP_FIRST_ID = 9_000_000
FIRST_ID = 1_000_000
FANOUT_FIRST_ID = 20_000_000


def ctl(url: str, name: str, **payload: Any) -> Any:
    """One call of the emulator's control API, from this (synchronous) process."""

    async def call() -> Any:
        async with Control(url) as control:
            return await control.call(name, **payload)

    return asyncio.run(call())


class Replicas:
    """`count` replica processes for the duration of a `with` block."""

    def __init__(self, count: int, params: dict[str, Any], log: Path) -> None:
        self.count, self.params, self.log_path = count, params, log
        self.procs: list[subprocess.Popen[str]] = []
        self.ports: list[int] = []
        self.results: list[dict[str, Any]] = []

    def __enter__(self) -> Replicas:
        self._log = self.log_path.open("a", encoding="utf-8")
        for i in range(self.count):
            self._log.write(f"--- bench.replica {i}\n")
            self._log.flush()
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.replica", "--params", json.dumps(self.params)],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=self._log,
                    text=True,
                )
            )
        try:
            for proc in self.procs:
                word, _, port = self._read(proc).partition(" ")
                if word != "ready":
                    raise RuntimeError(f"a replica did not start; see {self.log_path}")
                self.ports.append(int(port))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @staticmethod
    def _read(proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    def ask(self, command: str) -> list[str]:
        """Send a command to every replica; their one-line answers."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        return [self._read(proc) for proc in self.procs]

    def cpu(self) -> float:
        """CPU seconds of all the replicas together so far."""
        return sum(float(line.split()[1]) for line in self.ask("cpu"))

    def stop(self) -> list[dict[str, Any]]:
        """Stop them; each one's result (scheduler stats, memory)."""
        if self.results or not self.procs:
            return self.results
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        for proc in self.procs:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("BENCH-RESULT "):
                    self.results.append(json.loads(line.removeprefix("BENCH-RESULT ")))
            proc.wait(timeout=30)
        return self.results

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None and len(self.ports) == len(self.procs):
                self.stop()
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self._log.close()


def _schema(url: str) -> None:
    """The migrations, before several processes start on the database."""
    from bot.store import Store

    async def made() -> None:
        store = await Store.open(url)
        await store.close()

    asyncio.run(made())


def conversation_run(
    pg: postgres.PgServer, count: int, mode: str, args: argparse.Namespace, log: Path, tmp: str
) -> dict[str, Any]:
    """One load (closed or open) on `count` fresh replicas and a fresh database."""
    url = pg.database("replicas")
    try:
        _schema(url)
        script = steps(SCRIPTS["conversation"], "ours")
        load = {"script": script, "mode": mode, "rate": args.rate, "timeout": 30.0}
        with Emulator(log) as emulator:
            params = {**emulator.urls, "database": url, "files": f"{tmp}/files", "clock": "system"}
            with Replicas(count, params, log) as group:
                ctl_url = emulator.urls["ctl"]
                ctl(ctl_url, "route", public=_public(), local=_bases(group))
                ctl(ctl_url, "load", **load, first_id=WARMUP_FIRST_ID, merchants=args.warmup)
                cpu0 = group.cpu()
                result = ctl(ctl_url, "load", **load, first_id=FIRST_ID, merchants=args.merchants)
                cpu_s = group.cpu() - cpu0
                spread = ctl(ctl_url, "deliveries")
                ends = group.stop()
    finally:
        pg.drop(url)
    updates = max(1, result["updates"])
    return result | {
        "replicas": count,
        "mode": mode,
        "merchants": args.merchants,
        "steps_per_merchant": len(script),
        "bot_cpu_s": cpu_s,
        "cpu_s_per_1000_updates": cpu_s / updates * 1000,
        "deliveries": spread,
        "peak_rss_mb": [r["peak_rss_mb"] for r in ends],
    }


def _public() -> str:
    from bench.replica import PUBLIC

    return PUBLIC


def _bases(group: Replicas) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in group.ports]


def fanout_run(pg: postgres.PgServer, count: int, n: int, log: Path, tmp: str) -> dict[str, Any]:
    """`n` reminders due at once, delivered by `count` replicas (one leads)."""
    from bench.fanout import ALLOWED_PER_SEC, PER_CHAT_PER_SEC

    url = pg.database("fanout")
    try:
        seed_s = _seed(url, n)
        with Emulator(log) as emulator:
            params = {**emulator.urls, "database": url, "files": f"{tmp}/files", "clock": "fixed"}
            ctl_url = emulator.urls["ctl"]
            ctl(ctl_url, "users", first=FANOUT_FIRST_ID, count=n)
            ctl(ctl_url, "flood", global_per_sec=ALLOWED_PER_SEC, per_chat_per_sec=PER_CHAT_PER_SEC)
            with Replicas(count, params, log) as group:
                ctl(ctl_url, "route", public=_public(), local=_bases(group))
                time.sleep(1.0)  # one replica holds the leader lock by now
                mark = ctl(ctl_url, "mark")["mark"]
                cpu0 = group.cpu()
                woken = time.monotonic()  # the emulator's clock too (CLOCK_MONOTONIC)
                group.ask("due")
                finished = _until_done(url, n, timeout=n / 20 + 120)
                cpu_s = group.cpu() - cpu0
                time.sleep(1.0)  # anything sent twice would show up now
                seen = ctl(ctl_url, "reminders", since=mark)
                final = _states(url)
                ends = group.stop()
    finally:
        pg.drop(url)
    ids = set(range(FANOUT_FIRST_ID, FANOUT_FIRST_ID + n))
    delivered = len(set(seen["chat_ids"]) & ids)
    first, last = seen["first_t"], seen["last_t"]
    total_s = (last - woken) if last else None
    return {
        "replicas": count,
        "n": n,
        "seed_s": seed_s,
        "finished": finished,
        "states": final,
        "delivered": delivered,
        "lost": n - delivered - final.get("uncertain", 0),
        "uncertain": final.get("uncertain", 0),
        "duplicates": seen["duplicates"],
        "http_429": seen["refused"].get("429", 0),
        "refused": seen["refused"],
        "time_to_all_s": total_s,
        "first_after_s": (first - woken) if first else None,
        "rate_per_s": delivered / total_s if total_s else None,
        "allowed_per_s": ALLOWED_PER_SEC,
        "rate_share_of_allowed": (delivered / total_s / ALLOWED_PER_SEC) if total_s else None,
        "sent_by_replica": [r["scheduler"].get("sent", 0) for r in ends],
        "bot_cpu_s": cpu_s,
        "cpu_ms_per_reminder": cpu_s / max(1, n) * 1000,
        "peak_rss_mb": [r["peak_rss_mb"] for r in ends],
    }


def _seed(url: str, n: int) -> float:
    """bench.fanout's merchants, straight into the database (not measured); seconds taken."""
    from bench.fanout import seed_under_review
    from bot.content import ContentRegistry
    from bot.store import Store

    async def seed() -> None:
        store = await Store.open(url)
        try:
            ids = range(FANOUT_FIRST_ID, FANOUT_FIRST_ID + n)
            await seed_under_review(store, ids, ContentRegistry().default.catalog)
        finally:
            await store.close()

    started = time.monotonic()
    asyncio.run(seed())
    return time.monotonic() - started


def _states(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT state, COUNT(*) FROM reminders WHERE kind = 'window_open' GROUP BY state"
        ).fetchall()
    return dict(Counter({state: count for state, count in rows}))


def _until_done(url: str, n: int, timeout: float) -> bool:
    """Poll the database until every window reminder is sent or uncertain."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = _states(url)
        if states.get("sent", 0) + states.get("uncertain", 0) >= n:
            return True
        time.sleep(0.5)
    return False


def run(args: argparse.Namespace, log: Path, tmp: str) -> dict[str, Any]:
    pg, why = postgres.shared()
    if pg is None:
        return {"skipped": why}
    out: dict[str, Any] = {"counts": [1, 3]}
    for mode in ("closed", "open"):
        repeat = args.repeat if mode == "closed" else 1
        runs: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
        for rep in range(repeat):
            for count in (1, 3) if rep % 2 == 0 else (3, 1):
                print(
                    f"  replicas: {mode} loop, {count} replica(s) ({rep + 1}/{repeat}) …",
                    file=sys.stderr,
                    flush=True,
                )
                runs[count].append(conversation_run(pg, count, mode, args, log, tmp))
        out[mode] = {
            str(count): sorted(rs, key=lambda r: r["answers_per_s"] or 0.0)[(len(rs) - 1) // 2]
            for count, rs in runs.items()
        }
        out[mode]["repeats"] = {
            str(count): [[r["answers_per_s"], r["latency_ms"]["p99"]] for r in rs]
            for count, rs in runs.items()
        }
    print(f"  replicas: fan-out of {args.fanout} with 3 replicas …", file=sys.stderr, flush=True)
    out["fanout"] = fanout_run(pg, 3, args.fanout, log, tmp)
    return out


def rows(res: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """(name, 1 replica, 3 replicas, digits) for the table."""
    c, o = res["closed"], res["open"]

    def pair(mode: dict[str, Any], key: str, sub: str | None = None) -> tuple[Any, Any]:
        got = [mode[n].get(key) for n in ("1", "3")]
        return (got[0], got[1]) if sub is None else (got[0][sub], got[1][sub])

    bad = [
        sum(m[n][k] for m in (c, o) for k in ("lost", "out_of_order", "wrong")) for n in ("1", "3")
    ]
    return [
        ("closed loop: answers per second", *pair(c, "answers_per_s"), 1),
        ("closed loop: latency p50 ms", *pair(c, "latency_ms", "p50"), 1),
        ("closed loop: latency p99 ms", *pair(c, "latency_ms", "p99"), 1),
        ("open loop: offered updates per second", *pair(o, "offered_per_s"), 1),
        ("open loop: latency p50 ms", *pair(o, "latency_ms", "p50"), 1),
        ("open loop: latency p99 ms", *pair(o, "latency_ms", "p99"), 1),
        ("CPU s per 1,000 updates, all replicas (closed)", *pair(c, "cpu_s_per_1000_updates"), 2),
        ("CPU s per 1,000 updates, all replicas (open)", *pair(o, "cpu_s_per_1000_updates"), 2),
        ("lost + out-of-order + wrong answers (closed + open)", bad[0], bad[1], 0),
    ]


def fanout_rows(fan: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """(name, value, digits) of the fan-out with replicas."""
    return [
        ("time to deliver all, s", fan["time_to_all_s"], 1),
        ("achieved rate per s", fan["rate_per_s"], 2),
        ("share of the allowed 30 per s", fan["rate_share_of_allowed"], 3),
        ("429 answers", fan["http_429"], 0),
        ("duplicates", fan["duplicates"], 0),
        ("lost", fan["lost"], 0),
        ("marked uncertain", fan["uncertain"], 0),
        ("sent by each replica", " / ".join(str(s) for s in fan["sent_by_replica"]), 0),
        ("CPU ms per reminder, all replicas", fan["cpu_ms_per_reminder"], 2),
    ]
