"""One replica of the replicas run, in its own process: the whole bot on a webhook, the store
on the shared PostgreSQL database (as tests/test_replicas_sigkill.py starts its processes).

    python -m bench.replica --params '{"api": …, "file": …, "database": …, "clock": …}'

`bot.lifespan.serving` with `webhook=WebhookOptions(…, port=0)`: Application, webhook
listener, durable inbox, the reminder scheduler (one leader across the replicas,
bot.leader). Prints `ready <port>` on stdout, then answers one command a line on stdin:

    cpu    -> `cpu <seconds>`: this process's CPU time so far (all threads)
    due    -> moves the bot's clock to bench.fanout.DUE and wakes the scheduler; `ok`
    stop   -> stops the bot and prints `BENCH-RESULT {…}` (scheduler stats, memory)

`clock`: "system" (the conversation load) or "fixed" (the fan-out: bench.fanout.SEEDED_AT until
`due`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from bench.common import TOKEN, emit, peak_rss_mb, quiet_logging, rss_mb
from bot.runtime import run_loop

PUBLIC = "https://bot.example.com/telegram/hook"  # the proxy is the emulator's route
SECRET = "bench-replica-secret"
CONCURRENCY = 256  # as bench.conversation


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run(p: dict[str, Any]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from bench.fanout import DUE, SEEDED_AT
    from bot.clock import FixedClock, SystemClock
    from bot.content import ContentRegistry
    from bot.lifespan import serving
    from bot.runtime import Runtime
    from bot.store import Store
    from bot.webhook import WebhookOptions

    clock: Any = FixedClock(SEEDED_AT) if p.get("clock") == "fixed" else SystemClock()
    store = await Store.open(p["database"])
    runtime = Runtime(
        store=store,
        contents=ContentRegistry(),
        clock=clock,
        timezone=ZoneInfo("Asia/Shanghai"),
        files_dir=Path(p["files"]),
    )
    hook = WebhookOptions(PUBLIC, SECRET, host="127.0.0.1", port=0)
    async with serving(
        runtime,
        token=TOKEN,
        base_url=p["api"],
        base_file_url=p["file"],
        concurrency=CONCURRENCY,
        webhook=hook,
    ) as running:
        assert running.webhook is not None
        rest = rss_mb()
        say(f"ready {running.webhook.port}")
        while True:
            command = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if command == "cpu":
                say(f"cpu {time.process_time()}")
            elif command == "due":
                clock.at = DUE.astimezone(UTC)
                running.scheduler.wake()
                say("ok")
            else:  # "stop", or the orchestrator went away (end of input)
                break
        stats = dict(running.scheduler.stats)
        leading = bool(running.scheduler.lease.leading)
    return {
        "scheduler": stats,
        "leading_at_stop": leading,
        "cpu_s": time.process_time(),
        "rss_rest_mb": rest,
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    quiet_logging()
    emit(run_loop(run(json.loads(parser.parse_args().params))))  # as `merchant-bot run` does
