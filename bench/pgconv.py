"""The PostgreSQL column: the conversation load of bench.conversation with the store on
PostgreSQL, next to the same bot on SQLite, in the same run.

One bot process, long polling, exactly as the conversation section runs "ours"; only
`Store.open` gets a postgresql:// URL (a fresh database on the benchmark's own server,
bench.postgres) instead of a fresh SQLite file. SQLite and PostgreSQL alternate in ABBA order,
`--repeat` closed-loop runs each (the median run is kept), then one open-loop run each at
`--rate`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench import postgres
from bench.procs import Emulator, run_worker

STORES = ("sqlite", "postgresql")
BAD = ("lost", "out_of_order", "wrong")


def run(args: argparse.Namespace, log: Path, tmp: str) -> dict[str, Any]:
    pg, why = postgres.shared()
    if pg is None:
        return {"skipped": why}
    out: dict[str, Any] = {"server_version": pg.version()}
    for mode in ("closed", "open"):
        repeat = args.repeat if mode == "closed" else 1
        runs: dict[str, list[dict[str, Any]]] = {store: [] for store in STORES}
        for rep in range(repeat):
            for store in STORES if rep % 2 == 0 else STORES[::-1]:
                print(
                    f"  PostgreSQL column: {mode} loop on {store} ({rep + 1}/{repeat}) …",
                    file=sys.stderr,
                    flush=True,
                )
                url = pg.database("conversation") if store == "postgresql" else None
                try:
                    with Emulator(log) as emulator:
                        runs[store].append(
                            run_worker(
                                "bench.conversation",
                                {
                                    **emulator.urls,
                                    "bot": "ours",
                                    "mode": mode,
                                    "merchants": args.merchants,
                                    "rate": args.rate,
                                    "warmup": args.warmup,
                                    "tmp": tmp,
                                    "database": url,
                                },
                                log,
                            )
                        )
                finally:
                    if url:
                        pg.drop(url)
        out[mode] = {
            store: sorted(rs, key=lambda r: r["answers_per_s"] or 0.0)[(len(rs) - 1) // 2]
            for store, rs in runs.items()
        }
        out[mode]["repeats"] = {
            store: [[r["answers_per_s"], r["latency_ms"]["p99"]] for r in rs]
            for store, rs in runs.items()
        }
    return out


def rows(res: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """(name, SQLite, PostgreSQL, digits) for the table."""
    c, o = res["closed"], res["open"]
    out: list[tuple[str, Any, Any, int]] = [
        ("closed loop: answers per second", *_pair(c, "answers_per_s"), 1),
        ("closed loop: latency p50 ms", *_pair(c, "latency_ms", "p50"), 1),
        ("closed loop: latency p99 ms", *_pair(c, "latency_ms", "p99"), 1),
        ("open loop: offered updates per second", *_pair(o, "offered_per_s"), 1),
    ]
    for p in ("p50", "p95", "p99"):
        out.append((f"open loop: latency {p} ms", *_pair(o, "latency_ms", p), 1))
    out += [
        ("CPU s per 1,000 updates (closed)", *_pair(c, "cpu_s_per_1000_updates"), 2),
        ("CPU s per 1,000 updates (open)", *_pair(o, "cpu_s_per_1000_updates"), 2),
        (
            "lost + out-of-order + wrong answers (closed + open)",
            *(sum(m[s][k] for m in (c, o) for k in BAD) for s in STORES),
            0,
        ),
    ]
    return out


def _pair(mode: dict[str, Any], *keys: str) -> tuple[Any, Any]:
    values = []
    for store in STORES:
        value: Any = mode[store]
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(value)
    return values[0], values[1]
