"""Starting the benchmark's processes: the emulator and one bot process per measurement."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.common import ROOT


class Emulator:
    """`python -m bench.emulator` in its own process, for the duration of a `with` block."""

    def __init__(self, log: Path) -> None:
        self.log_path = log
        self.proc: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}

    def __enter__(self) -> Emulator:
        self._log = self.log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.emulator"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"the emulator did not start; see {self.log_path}")
        self.urls = json.loads(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # its SIGTERM handler stops the servers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_worker(module: str, params: dict[str, Any], log: Path) -> dict[str, Any]:
    """Run `python -m <module> --params …` (a bot process); its result, with its wall time."""
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as err:
        err.write(f"--- {module} {json.dumps(params, ensure_ascii=False)[:300]}\n")
        err.flush()
        done = subprocess.run(
            [sys.executable, "-m", module, "--params", json.dumps(params)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=False,
        )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            result = json.loads(line.removeprefix("BENCH-RESULT "))
            result["process_wall_s"] = time.monotonic() - started
            result["spawned_at"] = started
            return result
    raise RuntimeError(f"{module} failed (exit {done.returncode}); see {log}")
