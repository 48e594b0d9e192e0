"""Per-update cost across loads: ours against the echo bot at 1, 5, 20, 50 and 200 merchants
talking at once, on the 19-step conversation and on one question asked again and again.

Each (script, level) is a closed loop: `level` merchants at a time, each waiting for its answer
before the next step, until enough updates were answered to measure (at least
`--sweep-updates`, more at high levels). Ours and echo alternate (ABBA) in fresh processes,
`--repeat` times each; each figure is the median of its runs.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.procs import Emulator, run_worker
from bench.scripts import SCRIPTS

LEVELS = (1, 5, 20, 50, 200)
QUICK_LEVELS = (1, 20)
FIGURES = ("answers_per_s", "p50_ms", "p99_ms", "cpu_s_per_1000_updates")


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "answers_per_s": run["answers_per_s"],
        "p50_ms": run["latency_ms"]["p50"],
        "p99_ms": run["latency_ms"]["p99"],
        "cpu_s_per_1000_updates": run["cpu_s_per_1000_updates"],
        "bad": run["lost"] + run["out_of_order"] + run["wrong"],
    }


def run(args: argparse.Namespace, log: Path, tmp: str) -> dict[str, Any]:
    """Every (script, level), ours and echo; medians and the raw runs."""
    levels = QUICK_LEVELS if args.quick else LEVELS
    cells: list[dict[str, Any]] = []
    for script in SCRIPTS:
        steps = len(SCRIPTS[script])
        for level in levels:
            merchants = max(level, math.ceil(args.sweep_updates / steps))
            runs: dict[str, list[dict[str, Any]]] = {"ours": [], "echo": []}
            for rep in range(args.repeat):
                for bot in ("ours", "echo") if rep % 2 == 0 else ("echo", "ours"):
                    print(
                        f"  sweep {script} x{level}: {bot} ({rep + 1}/{args.repeat}) …",
                        file=sys.stderr,
                        flush=True,
                    )
                    with Emulator(log) as emulator:
                        result = run_worker(
                            "bench.conversation",
                            {
                                **emulator.urls,
                                "bot": bot,
                                "mode": "closed",
                                "script": script,
                                "merchants": merchants,
                                "concurrency": level,
                                "warmup": args.warmup,
                                "tmp": tmp,
                            },
                            log,
                        )
                    runs[bot].append(_figures(result))
            medians = {
                bot: {f: statistics.median(r[f] for r in rs) for f in FIGURES}
                | {"bad": sum(r["bad"] for r in rs)}
                for bot, rs in runs.items()
            }
            ours, echo = medians["ours"], medians["echo"]
            cells.append(
                {
                    "script": script,
                    "level": level,
                    "merchants": merchants,
                    "updates": merchants * steps,
                    "ours": ours,
                    "echo": echo,
                    "throughput_ratio": ours["answers_per_s"] / echo["answers_per_s"],
                    "p99_ratio": ours["p99_ms"] / echo["p99_ms"],
                    "cpu_ratio": ours["cpu_s_per_1000_updates"] / echo["cpu_s_per_1000_updates"],
                    "runs": runs,
                }
            )
    return {
        "levels": list(levels),
        "repeat": args.repeat,
        "cells": cells,
        "runtime": ablation(args, log, tmp),
    }


def targets(sweep: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """Issue 13's targets over every cell: (name, worst value, goal, met)."""
    cells = sweep["cells"]
    worst_throughput = min(c["throughput_ratio"] for c in cells)
    worst_p99 = max(c["p99_ratio"] for c in cells)
    worst_cpu = max(c["cpu_ratio"] for c in cells)
    bad = sum(c["ours"]["bad"] for c in cells)
    return [
        (
            "answers/s vs echo, every load (worst)",
            worst_throughput,
            ">= 1.00",
            worst_throughput >= 1,
        ),
        ("p99 vs echo, every load (worst)", worst_p99, "<= 1.50", worst_p99 <= 1.5),
        ("CPU per update vs echo, every load (worst)", worst_cpu, "<= 1.00", worst_cpu <= 1),
        ("lost + out-of-order + wrong answers in the sweep (ours)", bad, "== 0", bad == 0),
    ]


def rows(sweep: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """The table's rows: (name, ours, echo, digits)."""
    out: list[tuple[str, Any, Any, int]] = []
    for c in sweep["cells"]:
        o, e = c["ours"], c["echo"]
        head = f"{c['script']} x{c['level']} ({c['updates']:,} updates)"
        out.append((f"{head}: answers/s", o["answers_per_s"], e["answers_per_s"], 1))
        out.append((f"{head}: latency p50 / p99 ms", _pair(o), _pair(e), 1))
        out.append(
            (
                f"{head}: CPU s per 1,000 updates",
                o["cpu_s_per_1000_updates"],
                e["cpu_s_per_1000_updates"],
                2,
            )
        )
    return out


def _pair(figures: dict[str, Any]) -> str:
    return f"{figures['p50_ms']:,.1f} / {figures['p99_ms']:,.1f}"


# What each runtime change is worth: ours with each switched back to PTB's default, one load
VARIANTS: dict[str, dict[str, str]] = {
    "ours (uvloop, aiohttp + orjson)": {"bot": "ours"},
    "ours on asyncio's loop": {"bot": "ours", "loop": "asyncio"},
    "ours on httpx": {"bot": "ours", "http": "httpx"},
    "ours on asyncio + httpx (before)": {"bot": "ours", "loop": "asyncio", "http": "httpx"},
    "echo bot": {"bot": "echo"},
}


def ablation(args: argparse.Namespace, log: Path, tmp: str) -> dict[str, Any]:
    """The conversation at 20 merchants at once, for each variant (interleaved, medians)."""
    level = 20
    steps = len(SCRIPTS["conversation"])
    merchants = max(level, math.ceil(args.sweep_updates / steps))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for rep in range(args.repeat):
        order = list(VARIANTS) if rep % 2 == 0 else list(reversed(VARIANTS))
        for name in order:
            print(f"  runtime variants: {name} ({rep + 1}/{args.repeat}) …", file=sys.stderr)
            with Emulator(log) as emulator:
                result = run_worker(
                    "bench.conversation",
                    {
                        **emulator.urls,
                        **VARIANTS[name],
                        "mode": "closed",
                        "script": "conversation",
                        "merchants": merchants,
                        "concurrency": level,
                        "warmup": args.warmup,
                        "tmp": tmp,
                    },
                    log,
                )
            runs[name].append(_figures(result))
    return {
        "level": level,
        "updates": merchants * steps,
        "medians": {
            name: {f: statistics.median(r[f] for r in rs) for f in FIGURES}
            for name, rs in runs.items()
        },
        "runs": runs,
    }


def ablation_rows(result: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """(variant: CPU s per 1,000 updates, answers/s)."""
    return [
        (
            f"{name}: CPU s per 1,000 updates | answers/s",
            m["cpu_s_per_1000_updates"],
            m["answers_per_s"],
            2,
        )
        for name, m in result["medians"].items()
    ]
