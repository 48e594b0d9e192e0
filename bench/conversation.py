"""Conversation load, in the bot's own process: ours or the echo baseline, closed or open loop.

    python -m bench.conversation --params '{"ctl": …, "api": …, "file": …, "bot": "ours", …}'

Starts the bot as production does (bot.cli.serve: Store, ContentRegistry, bot.lifespan.serving;
no test observer), warms it up, then asks the emulator process
to run the load and measures this process's CPU time and memory around it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import TOKEN, Control, Cpu, emit, peak_rss_mb, quiet_logging, rss_mb
from bench.echo import build_echo, start_echo
from bench.scripts import SCRIPTS, steps
from bot.runtime import run_loop

WARMUP_FIRST_ID = 9_000_000
FIRST_ID = 1_000_000
CONCURRENCY = 256  # bot.app.build_application's default; the echo bot gets the same


async def run(p: dict[str, Any]) -> dict[str, Any]:
    from bot.clock import SystemClock
    from bot.content import ContentRegistry
    from bot.lifespan import serving
    from bot.runtime import Runtime
    from bot.store import Store

    script = steps(SCRIPTS[p.get("script", "conversation")], p["bot"])
    async with AsyncExitStack() as stack, Control(p["ctl"]) as ctl:
        if p["bot"] == "ours":
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=p.get("tmp"))))
            # a postgresql:// URL (the PostgreSQL column, bench.pgconv) or a fresh SQLite file
            store = await Store.open(p.get("database") or data / "bench.sqlite3")
            runtime = Runtime(
                store=store,
                contents=ContentRegistry(),
                clock=SystemClock(),
                timezone=ZoneInfo("Asia/Shanghai"),
                files_dir=data / "files",
            )
            await stack.enter_async_context(
                serving(
                    runtime,
                    token=TOKEN,
                    base_url=p["api"],
                    base_file_url=p["file"],
                    concurrency=CONCURRENCY,
                    http=p.get("http", "aiohttp"),  # httpx: PTB's default (before/after)
                )
            )
        else:
            app = build_echo(TOKEN, p["api"], p["file"], CONCURRENCY)
            await stack.enter_async_context(app)
            await start_echo(app)
            stack.push_async_callback(app.stop)
            stack.push_async_callback(app.updater.stop)  # type: ignore[union-attr]

        load = {"script": script, "mode": p["mode"], "rate": p.get("rate", 0.0), "timeout": 30.0}
        warm = await ctl.call(
            "load", **load, first_id=WARMUP_FIRST_ID, merchants=p.get("warmup", 10)
        )
        rest = rss_mb()
        cpu = Cpu()
        # `concurrency`: merchants talking at once (0: all of them), each waiting for its answer
        result = await ctl.call(
            "load",
            **load,
            first_id=FIRST_ID,
            merchants=p["merchants"],
            concurrency=p.get("concurrency", 0),
        )
        cpu_s, wall, split = cpu.seconds(), cpu.wall(), cpu.split()
        updates = max(1, result["updates"])
        return result | {
            "bot": p["bot"],
            "mode": p["mode"],
            "merchants": p["merchants"],
            "steps_per_merchant": len(script),
            "concurrent_updates": CONCURRENCY,
            "warmup_lost": warm["lost"] + warm["wrong"],
            "bot_cpu_s": cpu_s,
            "bot_cpu_util": cpu_s / wall,
            "cpu_s_per_1000_updates": cpu_s / updates * 1000,
            "cpu_split_s": split,
            "rss_rest_mb": rest,
            "rss_after_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    quiet_logging()
    params = json.loads(parser.parse_args().params)
    # ours runs on the loop `merchant-bot run` uses (uvloop; "asyncio" for the before/after),
    # the echo baseline on asyncio's own, as a bare PTB bot does
    production = params["bot"] == "ours" and params.get("loop", "uvloop") == "uvloop"
    emit(run_loop(run(params)) if production else asyncio.run(run(params)))
