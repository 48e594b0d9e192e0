"""Compare two benchmark result files: `python -m bench.compare OLD.json NEW.json`.

Prints the headline figures side by side with the relative change, so that a change that makes
the bot slower shows up (CPU per 1,000 updates is the steadiest figure on a shared machine).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

# (label, how to read it, True if higher is better)
FIGURES: list[tuple[str, Callable[[dict[str, Any]], Any], bool]] = [
    (
        "closed loop answers/s (ours)",
        lambda r: r["conversation"]["closed"]["ours"]["answers_per_s"],
        True,
    ),
    ("closed loop ours / echo", lambda r: r["conversation"]["closed"]["ratio"], True),
    (
        "CPU s per 1,000 updates, open (ours)",
        lambda r: r["conversation"]["open"]["ours"]["cpu_s_per_1000_updates"],
        False,
    ),
    (
        "CPU s per 1,000 updates, closed (ours)",
        lambda r: r["conversation"]["closed"]["ours"]["cpu_s_per_1000_updates"],
        False,
    ),
    (
        "open loop p50 ms (ours)",
        lambda r: r["conversation"]["open"]["ours"]["latency_ms"]["p50"],
        False,
    ),
    (
        "open loop p99 ms (ours)",
        lambda r: r["conversation"]["open"]["ours"]["latency_ms"]["p99"],
        False,
    ),
    ("peak memory MiB (ours)", lambda r: r["conversation"]["closed"]["ours"]["peak_rss_mb"], False),
    ("fan-out rate per s", lambda r: r["fanout"]["rate_per_s"], True),
    ("fan-out 429s", lambda r: r["fanout"]["http_429"], False),
    ("fan-out CPU ms per reminder", lambda r: r["fanout"]["cpu_ms_per_reminder"], False),
    ("start-up s at scale", lambda r: r["scale"]["startup_s"], False),
    ("memory at rest MiB at scale", lambda r: r["scale"]["rss_rest_mb"], False),
    ("/status p99 ms at scale", lambda r: r["scale"]["status_latency_ms"]["p99"], False),
    # issue 11 (bench.pgconv, bench.replicas, bench.pgscale)
    (
        "PostgreSQL closed loop answers/s",
        lambda r: r["postgres"]["closed"]["postgresql"]["answers_per_s"],
        True,
    ),
    (
        "PostgreSQL CPU s per 1,000 updates, open",
        lambda r: r["postgres"]["open"]["postgresql"]["cpu_s_per_1000_updates"],
        False,
    ),
    (
        "3 replicas closed loop answers/s",
        lambda r: r["replicas"]["closed"]["3"]["answers_per_s"],
        True,
    ),
    (
        "3 replicas open loop p99 ms",
        lambda r: r["replicas"]["open"]["3"]["latency_ms"]["p99"],
        False,
    ),
    ("3 replicas fan-out rate per s", lambda r: r["replicas"]["fanout"]["rate_per_s"], True),
    ("start-up s, big scale, SQLite", lambda r: r["bigscale"]["sqlite"]["first_answer_s"], False),
    (
        "start-up s, big scale, PostgreSQL",
        lambda r: r["bigscale"]["postgresql"]["first_answer_s"],
        False,
    ),
    (
        "/status p99 ms, big scale, SQLite",
        lambda r: r["bigscale"]["sqlite"]["status_latency_ms"]["p99"],
        False,
    ),
    (
        "/status p99 ms, big scale, PostgreSQL",
        lambda r: r["bigscale"]["postgresql"]["status_latency_ms"]["p99"],
        False,
    ),
]


def _get(read: Callable[[dict[str, Any]], Any], result: dict[str, Any]) -> Any:
    try:
        return read(result)
    except (KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    old = json.loads(args.old.read_text(encoding="utf-8"))
    new = json.loads(args.new.read_text(encoding="utf-8"))
    print(f"{'':42}{'old':>12}{'new':>12}  change")
    for label, read, higher_better in FIGURES:
        a, b = _get(read, old), _get(read, new)
        if a is None and b is None:
            continue
        change = ""
        if isinstance(a, int | float) and isinstance(b, int | float) and a:
            pct = (b - a) / a * 100
            worse = pct < 0 if higher_better else pct > 0
            change = f"{pct:+.1f} %" + ("  (worse)" if worse and abs(pct) >= 5 else "")
        fa = "–" if a is None else f"{a:,.2f}"
        fb = "–" if b is None else f"{b:,.2f}"
        print(f"{label:42}{fa:>12}{fb:>12}  {change}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
