"""Reminder fan-out, in the bot's own process: N merchants whose review window opens at the same
minute, delivered under the emulator's flood limits (30 per second overall, 1 per second per
chat, answered with 429 like Telegram).

    python -m bench.fanout --params '{"ctl": …, "api": …, "file": …, "n": 5000}'

The merchants are seeded straight through Store.save_merchant with their reminder plan
(rem.plan), as tests/test_e2e_reminders.py does; the bot's FixedClock is then moved to the due
minute and the scheduler woken. Delivery is counted at the emulator: reminder messages per chat
(duplicates, lost), 429 answers, the moments of the first and last reminder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import TOKEN, Control, Cpu, emit, peak_rss_mb, quiet_logging, rss_mb
from bot.runtime import run_loop

TZ = ZoneInfo("Asia/Shanghai")
FIRST_ID = 20_000_000
SEEDED_AT = datetime(2026, 9, 28, 9, 0, tzinfo=TZ)  # submitted Fri 09-25: window opens 09-30
DUE = datetime(2026, 9, 30, 10, 0, tzinfo=TZ)
ALLOWED_PER_SEC = 30.0
PER_CHAT_PER_SEC = 1.0


async def seed_under_review(store: Any, ids: range, catalog: Any) -> None:
    """Merchants under review since SEEDED_AT, one save each: every one's window reminder
    falls due at DUE (also what the replicas' fan-out seeds, bench.replicas)."""
    from flows import reminders as rem
    from flows.core import MerchantState

    for uid in ids:
        state = MerchantState(
            uid,
            created=True,
            data={"route": "platform", "status": "submitted", "submitted_on": "2026-09-25"},
        )
        await store.save_merchant(
            state,
            chat_id=uid,
            language="zh-hans",
            now=SEEDED_AT,
            plan=rem.plan(state.data, catalog, TZ, SEEDED_AT),
        )


async def run(p: dict[str, Any]) -> dict[str, Any]:
    from bot.clock import FixedClock
    from bot.content import ContentRegistry
    from bot.lifespan import serving
    from bot.runtime import Runtime
    from bot.store import Store

    n = p["n"]
    ids = range(FIRST_ID, FIRST_ID + n)
    with tempfile.TemporaryDirectory(dir=p.get("tmp")) as tmp:
        store = await Store.open(Path(tmp) / "fanout.sqlite3")
        contents = ContentRegistry()
        catalog = contents.default.catalog
        clock = FixedClock(SEEDED_AT)
        seed_started = time.monotonic()
        await seed_under_review(store, ids, catalog)
        seed_s = time.monotonic() - seed_started
        due = {r["due_at"] for r in await store.reminders_of(FIRST_ID)}
        runtime = Runtime(
            store=store, contents=contents, clock=clock, timezone=TZ, files_dir=Path(tmp) / "files"
        )
        async with Control(p["ctl"]) as ctl:
            await ctl.call("users", first=FIRST_ID, count=n)  # they talked to the bot before
            await ctl.call(
                "flood", global_per_sec=ALLOWED_PER_SEC, per_chat_per_sec=PER_CHAT_PER_SEC
            )
            async with serving(
                runtime, token=TOKEN, base_url=p["api"], base_file_url=p["file"]
            ) as running:
                scheduler = running.scheduler
                await asyncio.sleep(0.5)
                mark = await ctl.call("mark")
                rest = rss_mb()
                cpu = Cpu()
                clock.at = DUE.astimezone(UTC)
                woken = time.monotonic()
                scheduler.wake()
                finished = True
                try:
                    await scheduler.wait_for("sent", n, timeout=n / 20 + 120)
                except TimeoutError:
                    finished = False
                cpu_s, wall = cpu.seconds(), cpu.wall()
                await asyncio.sleep(1.0)  # anything sent twice would show up now
                seen = await ctl.call("reminders", since=mark["mark"])
                stats = dict(scheduler.stats)
    delivered = len(set(seen["chat_ids"]) & set(ids))
    first, last = seen["first_t"], seen["last_t"]
    total_s = (last - woken) if last else None
    steady = (seen["messages"] - 1) / (last - first) if last and last > first else None
    return {
        "n": n,
        "due_at": sorted(due),
        "seed_s": seed_s,
        "finished": finished,
        "delivered": delivered,
        "lost": n - delivered,
        "duplicates": seen["duplicates"],
        "http_429": seen["refused"].get("429", 0),
        "refused": seen["refused"],
        "time_to_all_s": total_s,
        "first_after_s": (first - woken) if first else None,
        "rate_per_s": n / total_s if total_s else None,
        "steady_rate_per_s": steady,
        "allowed_per_s": ALLOWED_PER_SEC,
        "rate_share_of_allowed": (n / total_s / ALLOWED_PER_SEC) if total_s else None,
        "scheduler": stats,
        "bot_cpu_s": cpu_s,
        "bot_cpu_util": cpu_s / wall,
        "cpu_ms_per_reminder": cpu_s / max(1, n) * 1000,
        "rss_rest_mb": rest,
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    quiet_logging()
    emit(run_loop(run(json.loads(parser.parse_args().params))))  # as `merchant-bot run` does
