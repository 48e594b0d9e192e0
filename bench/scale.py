"""State at scale: a database of N merchants, then the real bot's start-up, memory at rest and
/status latency.

`build` (run by the orchestrator, not measured) writes the database quickly: the schema comes
from Store.open (the real migrations), then one transaction of executemany with realistic
states. The states are produced by the flows themselves (router.handle driven through typical
journeys: new, browsing, route chosen, checklist, half-filled form, submitted, need more,
approved, joined, agency candidates), varied per merchant (names, dates), with their reminder
rows (rem.plan) and status history.

    python -m bench.scale --params '{"ctl": …, "api": …, "file": …, "db": …, "now": …}'

measures, in the bot process: start-up phase by phase until the first getUpdates reaches the
emulator, resident memory at rest, the scheduler's queries, operator /stats, and /status
latency for random merchants (one at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import TOKEN, Control, emit, peak_rss_mb, quiet_logging, rss_mb
from bench.scripts import STATUS, steps
from bot.runtime import run_loop

TZ = ZoneInfo("Asia/Shanghai")
FIRST_ID = 100_000_000
NOW = datetime(2026, 10, 12, 11, 0, tzinfo=TZ)  # a Monday morning: no quiet hours


def iso(moment: datetime) -> str:
    """The store's timestamp format (bot.store._iso): UTC ISO-8601 to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- realistic states, produced by the flows ------------------------------------------------


class Journey:
    """One simulated merchant driven through flows.router, as the adapter would."""

    def __init__(self, catalog: Any, now: datetime) -> None:
        from flows.core import MerchantState

        self.catalog = catalog
        self.now = now
        self.state = MerchantState(1, created=True)
        self.records: list[Any] = []  # flows.core.StatusChange
        self.last_buttons: list[Any] = []

    def _ctx(self) -> Any:
        from flows.core import Context

        return Context(self.catalog, self.now)

    def event(self, event: Any) -> Journey:
        from flows import router

        out = router.handle(self.state, event, self._ctx())
        self._take(out)
        return self

    def _take(self, out: Any) -> None:
        self.state = out.state
        self.state.created = False
        self.records += out.records
        for screen in out.screens:
            if screen.buttons:
                self.last_buttons = [b for row in screen.buttons for b in row]

    def cmd(self, name: str, args: str = "") -> Journey:
        from flows.core import Command

        return self.event(Command(name, args))

    def text(self, text: str) -> Journey:
        from flows.core import Text

        return self.event(Text(text))

    def press(self, action: str, *args: str) -> Journey:
        from flows.core import Press

        return self.event(Press(action, tuple(args)))

    def press_first(self, action: str) -> Journey:
        """Press the first button of the last screen with this action."""
        from flows.core import Press

        button = next(b for b in self.last_buttons if b.action == action)
        return self.event(Press(button.action, button.args))

    def status(self, new: str, note: str = "") -> Journey:
        from flows import status
        from flows.core import Outcome

        self._take(
            status.change_status(Outcome(self.state.copy()), self._ctx(), new, note, "operator:1")
        )
        return self


def templates(catalog: Any, now: datetime) -> list[tuple[str, float, Journey]]:
    """(name, share, journey) of the typical stages merchants are found in."""

    def new() -> Journey:
        return Journey(catalog, now).cmd("start")

    def browsing() -> Journey:
        j = new().text("怎么发货")
        for n in range(2, 6):
            j.press("ship", "s", str(n))
        return j.cmd("menu")

    def checklist() -> Journey:
        j = new().cmd("docs").press("setroute", "platform", "docs").press("docs")
        j.press("dcq", "brand", "y", "l").press("dcq", "permit", "n", "l")
        for item in ("license", "tax"):
            j.press("dcm", item, "1")
        return j

    def form() -> Journey:
        return checklist().cmd("apply").text("星河家居").text("家居收纳、厨房小工具")

    def submitted() -> Journey:
        j = form().text("5万").text("13800138000")
        return j.press_first("apok").cmd("submitted", (now.date() - timedelta(days=3)).isoformat())

    def agency() -> Journey:
        j = new().cmd("route").press("setroute", "agency").cmd("agency").press("agadd")
        j.text("保底王代运营")
        for _ in range(4):
            j.press_first("aga")
        return j

    return [
        ("new", 0.25, new()),
        ("browsing", 0.15, browsing()),
        ("agency", 0.10, agency()),
        ("checklist", 0.12, checklist()),
        ("form", 0.10, form()),
        ("submitted", 0.12, submitted()),
        ("need_more", 0.05, submitted().status("need_more", "请于 2026-10-20 前补充品牌授权书")),
        ("approved", 0.05, submitted().status("approved")),
        ("joined", 0.06, submitted().status("approved").status("joined")),
    ]


MERCHANT_COLUMNS = (
    "user_id",
    "chat_id",
    "language",
    "route",
    "stage",
    "status",
    "state",
    "created_at",
    "updated_at",
    "unreachable",
)
REMINDER_COLUMNS = (
    "user_id",
    "key",
    "kind",
    "chain",
    "due_at",
    "state",
    "data",
    "created_at",
    "sent_at",
    "attempts",
)
HISTORY_COLUMNS = ("user_id", "at", "by", "old", "new", "note")


@dataclass
class Chunk:
    """Rows of some merchants, in the columns above."""

    merchants: list[tuple[Any, ...]] = field(default_factory=list)
    reminders: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)


def generate(n: int, seed: int = 7, chunk: int = 50_000) -> Iterator[tuple[Chunk, dict[str, int]]]:
    """The rows of n merchants, `chunk` merchants at a time, with the stage counts so far.

    The stage and the reminder plan depend on the stage's template and the dates only (not on
    the shop's name), so they are computed once per (stage, submitted, status date): a
    million merchants take a minute, not ten."""
    from bot.content import ContentRegistry
    from flows import journey
    from flows import reminders as rem
    from flows.core import Context

    catalog = ContentRegistry().default.catalog
    stages = templates(catalog, NOW)
    names = [name for name, _, _ in stages]
    weights = [share for _, share, _ in stages]
    proto = {name: json.dumps(j.state.data, ensure_ascii=False) for name, _, j in stages}
    records = {name: j.records for name, _, j in stages}
    rng = random.Random(seed)
    ctx = Context(catalog, NOW)
    derived: dict[tuple[str, Any, Any], tuple[str, list[Any]]] = {}
    counts: dict[str, int] = dict.fromkeys(names, 0)
    out = Chunk()
    for uid in range(FIRST_ID, FIRST_ID + n):
        name = rng.choices(names, weights)[0]
        counts[name] += 1
        data = json.loads(proto[name])
        created = NOW - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1439))
        fields = (data.get("application") or {}).get("fields")
        if fields and "shop_name" in fields:
            fields["shop_name"] = f"星河家居{uid % 9973}号店"
        if data.get("submitted_on"):
            submitted = NOW.date() - timedelta(days=rng.randint(0, 40))
            data["submitted_on"] = submitted.isoformat()
            if data.get("status_on"):
                later = min(NOW.date(), submitted + timedelta(days=rng.randint(3, 12)))
                data["status_on"] = later.isoformat()
        key = (name, data.get("submitted_on"), data.get("status_on"))
        if key not in derived:
            upcoming = journey.next_stage(data, ctx)
            derived[key] = (
                upcoming["key"] if upcoming else "done",
                rem.plan(data, catalog, TZ, NOW),
            )
        stage, plan = derived[key]
        out.merchants.append(
            (
                uid,
                uid,
                "zh-hans",
                data.get("route"),
                stage,
                data.get("status"),
                json.dumps(data, ensure_ascii=False, sort_keys=True),
                iso(created),
                iso(NOW - timedelta(minutes=rng.randint(0, 5000))),
                1 if rng.random() < 0.01 else 0,
            )
        )
        for p in plan:
            done = p.due <= NOW
            out.reminders.append(
                (
                    uid,
                    p.key,
                    p.kind,
                    p.chain,
                    iso(p.due),
                    "sent" if done else "pending",
                    json.dumps(p.data),
                    iso(created),
                    iso(p.due) if done else None,
                    1 if done else 0,
                )
            )
        for record in records[name]:
            when = date.fromisoformat(data.get("status_on") or data["submitted_on"])
            out.history.append(
                (
                    uid,
                    iso(datetime.combine(when, NOW.timetz())),
                    record.by,
                    record.old,
                    record.new,
                    record.note,
                )
            )
        if len(out.merchants) >= chunk:
            yield out, counts
            out = Chunk()
    if out.merchants:
        yield out, counts


def insert_sqlite(db: sqlite3.Connection, rows: Chunk) -> None:
    """One chunk's rows, in the open transaction."""
    for table, columns, values in (
        ("merchants", MERCHANT_COLUMNS, rows.merchants),
        ("reminders", REMINDER_COLUMNS, rows.reminders),
        ("status_history", HISTORY_COLUMNS, rows.history),
    ):
        marks = ", ".join("?" * len(columns))
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)


def build(path: Path, n: int, seed: int = 7) -> dict[str, Any]:
    """Write a database of n merchants; returns what was built and how long it took."""
    from bot.store import Store

    started = time.monotonic()

    async def schema() -> None:
        store = await Store.open(path)
        await store.close()

    asyncio.run(schema())
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GiB: the indexes of a million rows
    db.execute("BEGIN IMMEDIATE")
    reminders = pending = history = 0
    counts: dict[str, int] = {}
    for rows, so_far in generate(n, seed):
        counts = so_far
        insert_sqlite(db, rows)
        reminders += len(rows.reminders)
        pending += sum(1 for r in rows.reminders if r[5] == "pending")
        history += len(rows.history)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {
        "merchants": n,
        "reminders": reminders,
        "pending_reminders": pending,
        "status_history": history,
        "stages": counts,
        "db_mb": path.stat().st_size / 2**20,
        "build_s": time.monotonic() - started,
    }


def started_twice(params: dict[str, Any], log: Path) -> dict[str, Any]:
    """The bot started on a SQLite file built by `build`, twice, with one emulator.

    The first start is the one after a crash, a restore or any write by another program:
    the file changed since the bot last closed it, so `PRAGMA quick_check` reads all of it
    (bot.schema.check_database). The bot then stops cleanly, and the second start is a
    restart after a clean stop (a deploy, a reboot): the header and schema are checked, not
    every page. The second run is the measurement; the first one's start-up is kept beside
    it under `after_change` (a few probes only)."""
    from bench.procs import run_worker

    first = run_worker("bench.scale", {**params, "probes": min(10, params["probes"])}, log)
    run = run_worker("bench.scale", params, log)
    for got in (first, run):
        got["cold_start_s"] = got["first_getupdates_at"] - got["spawned_at"]
    keep = ("startup_s", "first_answer_s", "cold_start_s", "phases_ms")
    run["after_change"] = {k: first[k] for k in keep if k in first}
    return run


# --- the measurement, in the bot process ----------------------------------------------------


async def timed(fn: Any, repeat: int = 5) -> float:
    """The best of a few runs of an async call, in ms."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


async def run(p: dict[str, Any]) -> dict[str, Any]:
    async with Control(p["ctl"]) as ctl:
        t0 = time.monotonic()
        phases: dict[str, float] = {}

        def phase(name: str, since: float) -> float:
            now = time.monotonic()
            phases[name] = (now - since) * 1000
            return now

        from bot.app import build_application, start_polling, stop_polling
        from bot.clock import FixedClock
        from bot.content import ContentRegistry
        from bot.runtime import Runtime
        from bot.scheduler import start_scheduler
        from bot.store import Store

        t = phase("imports_ms", t0)
        probe_first: asyncio.Task[Any] | None = None
        if p.get("first_update"):  # a /status waiting when the bot starts (bench.pgscale)
            probe_first = asyncio.create_task(
                ctl.call(
                    "load",
                    script=steps(STATUS, "ours"),
                    mode="closed",
                    first_id=0,
                    merchants=0,
                    ids=[FIRST_ID + p["merchants"] // 2],
                    concurrency=1,
                    timeout=30.0,
                )
            )
            await asyncio.sleep(0.3)  # queued at the emulator before the store opens
            t = time.monotonic()
        t_open = t
        store = await Store.open(p["db"])
        t = phase("store_open_ms", t)
        contents = ContentRegistry()
        t = phase("content_ms", t)
        runtime = Runtime(
            store=store,
            contents=contents,
            clock=FixedClock(datetime.fromisoformat(p["now"])),
            timezone=TZ,
            files_dir=Path(p.get("files") or Path(p["db"]).parent / "files"),
        )
        app = build_application(runtime, token=TOKEN, base_url=p["api"], base_file_url=p["file"])
        await app.initialize()
        t = phase("build_initialize_ms", t)
        await start_polling(app)
        t = phase("start_polling_ms", t)
        scheduler = await start_scheduler(app)
        t_ready = time.monotonic()
        phase("start_scheduler_ms", t)
        first = (await ctl.call("wait_polling", timeout=30))["t"]
        startup_s = max(first, t_ready) - t_open
        first_answer: dict[str, Any] = {}
        if probe_first is not None:
            done = await probe_first
            if done["answered"] and done["last_answer_t"] is not None:
                first_answer = {
                    "first_answer_s": done["last_answer_t"] - t_open,
                    "first_update_latency_ms": done["latency_ms"]["p50"],
                }
        try:
            await asyncio.sleep(p.get("settle", 3.0))  # the scheduler's first pass, idle polls
            rest = rss_mb()
            now = runtime.clock.now()
            queries = {
                "next_due_ms": await timed(store.next_due),
                "due_reminders_ms": await timed(lambda: store.due_reminders(now)),
                "stage_counts_ms": await timed(store.stage_counts),
                "count_merchants_ms": await timed(store.count_merchants),
            }
            rng = random.Random(p.get("seed", 3))
            sample = rng.sample(range(FIRST_ID, FIRST_ID + p["merchants"]), p["probes"])
            probe = await ctl.call(
                "load",
                script=steps(STATUS, "ours"),
                mode="closed",
                first_id=0,
                merchants=0,
                ids=sample,
                concurrency=1,
                timeout=10.0,
            )
        finally:
            await scheduler.stop()
            await stop_polling(app)
            await app.shutdown()
            await store.close()
        return {
            "merchants": p["merchants"],
            "startup_s": startup_s,
            "first_getupdates_at": first,
            "phases_ms": phases,
            "rss_rest_mb": rest,
            "peak_rss_mb": peak_rss_mb(),
            "queries": queries,
            "status_probes": probe["updates"],
            "status_lost": probe["lost"] + probe["wrong"],
            "status_latency_ms": probe["latency_ms"],
            **first_answer,
            "scheduler": dict(scheduler.stats),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    quiet_logging()
    emit(run_loop(run(json.loads(parser.parse_args().params))))  # as `merchant-bot run` does
