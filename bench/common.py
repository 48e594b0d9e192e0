"""Helpers shared by the benchmark processes: the control client, memory and CPU figures."""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent  # the project directory
TOKEN = "123456:BENCH"


def percentiles(values: Sequence[float], points: Sequence[float] = (50, 95, 99)) -> dict[str, Any]:
    """count, mean, max and nearest-rank percentiles (in the unit of `values`)."""
    data = sorted(values)
    out: dict[str, Any] = {"count": len(data)}
    if not data:
        return out | {f"p{p:g}": None for p in points} | {"mean": None, "max": None}
    for p in points:
        rank = max(1, math.ceil(p / 100 * len(data)))
        out[f"p{p:g}"] = data[rank - 1]
    out["mean"] = sum(data) / len(data)
    out["max"] = data[-1]
    return out


def _proc_status(field: str) -> float | None:
    """A memory field of /proc/self/status in MiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """The current resident set size of this process in MiB (Linux), else None."""
    return _proc_status("VmRSS")


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far, in MiB.

    VmHWM on Linux: ru_maxrss would do, except that a child started by fork+exec inherits its
    parent's high-water mark there (the orchestrator that built a large database, say)."""
    peak = _proc_status("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def thread_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process, by thread id (Linux /proc), else {}."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


class Cpu:
    """CPU seconds (user + system, all threads) of this process over an interval, and how
    they split between the event loop's thread and the others (aiosqlite's)."""

    def __init__(self) -> None:
        self.threads0 = thread_cpu()
        self.cpu0 = time.process_time()
        self.wall0 = time.monotonic()

    def seconds(self) -> float:
        return time.process_time() - self.cpu0

    def wall(self) -> float:
        return time.monotonic() - self.wall0

    def split(self) -> dict[str, float | None]:
        """{"loop_thread_s", "other_threads_s"} since the start (None where unknown)."""
        now = thread_cpu()
        if not now:
            return {"loop_thread_s": None, "other_threads_s": None}
        main = threading.get_native_id()
        loop = now.get(main, 0.0) - self.threads0.get(main, 0.0)
        other = sum(v - self.threads0.get(t, 0.0) for t, v in now.items() if t != main)
        return {"loop_thread_s": loop, "other_threads_s": other}


class Control:
    """A client of the emulator process's control API (bench.emulator)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Control:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, name: str, **payload: Any) -> Any:
        """POST a JSON payload to /ctl/<name>; the JSON answer (errors raise)."""
        assert self._session is not None
        async with self._session.post(f"{self.url}/ctl/{name}", json=payload) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"control {name} failed: {body}")
            return body


def emit(result: dict[str, Any]) -> None:
    """Hand a result to the orchestrator: one JSON line on stdout, prefixed."""
    sys.stdout.write("BENCH-RESULT " + json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def quiet_logging() -> None:
    """Warnings only, on stderr (the orchestrator keeps stderr for diagnostics)."""
    from bot.logsetup import setup_logging

    setup_logging(logging.WARNING, secrets=[TOKEN])
