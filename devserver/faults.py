"""What goes wrong on the way to Telegram, on purpose: flood limits (429 with retry_after),
proxy errors during an outage (`fail`), calls held unanswered (`hang`), and answers lost after
the call took effect (`drop_answers`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from typing import Any

from devserver.errors import ApiError


class RateWindow:
    """Sliding-window limiter: at most `cap` events within any `window` seconds."""

    __slots__ = ("cap", "stamps", "window")

    def __init__(self, per_sec: float) -> None:
        if per_sec <= 0:
            raise ValueError("rate must be positive")
        self.cap = max(1, math.floor(per_sec))
        self.window = self.cap / per_sec  # 30/s -> 30 per 1.0 s; 0.5/s -> 1 per 2.0 s
        self.stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until a slot frees; 0.0 if one is free now."""
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.cap:
            return 0.0
        return stamps[0] + self.window - now


class Faults:
    """Injected failures and flood limits; the server calls `before_call` and `answer_lost`."""

    def __init__(self, counters: Counter[str]) -> None:
        self.held: dict[str, int] = {}  # method -> calls being held now
        self.counters = counters  # the server's: "injected_failures", "dropped_answers"
        self._drops: dict[str, int] = {}
        self._failing: dict[str, list[Any]] = {}  # method -> [status, text, until, times]
        self._hanging: set[str] = set()
        self._release_event = asyncio.Event()
        self._held_event = asyncio.Event()
        self._flood_global: RateWindow | None = None
        self._flood_chat_rate: float | None = None
        self._flood_chats: dict[int, RateWindow] = {}

    # ------------------------------------------------------------------ the test's controls
    def drop_answers(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` but cut the connection before answering."""
        self._drops[method] = self._drops.get(method, 0) + times

    def fail(
        self,
        method: str,
        *,
        status: int = 502,
        seconds: float | None = None,
        times: int | None = None,
        description: str = "Bad Gateway",
    ) -> None:
        """Answer `method` with an HTTP error (not carried out) for the next `seconds` or the
        next `times` calls, as a proxy in front of Telegram does during a short outage."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds if seconds is not None else None
        self._failing[method] = [status, description, until, times]

    def heal(self, method: str) -> None:
        """Stop failing `method` (see `fail`)."""
        self._failing.pop(method, None)

    def hang(self, method: str) -> None:
        """Hold every call of `method` unanswered until `release()` (then it fails with 502
        and was never carried out): a slow Bot API during which the bot may be killed."""
        self._hanging.add(method)

    def release(self) -> None:
        """Let held calls go (they fail with 502: not carried out)."""
        self._hanging.clear()
        event, self._release_event = self._release_event, asyncio.Event()
        event.set()

    async def wait_held(self, method: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a call of `method` is being held by `hang`."""
        async with asyncio.timeout(timeout):
            while self.held.get(method, 0) == 0:
                await self._held_event.wait()

    def set_flood(self, global_per_sec: float | None, per_chat_per_sec: float | None) -> None:
        """Enable (or, with None, disable) flood limits on the sending methods."""
        self._flood_global = RateWindow(global_per_sec) if global_per_sec else None
        self._flood_chat_rate = per_chat_per_sec or None
        self._flood_chats = {}

    # ------------------------------------------------------------------ hooks of the server
    async def before_call(self, method: str) -> None:
        """Hold or fail a call as `hang` / `fail` asked (before it is carried out)."""
        if method in self._hanging:
            self.held[method] = self.held.get(method, 0) + 1
            event, self._held_event = self._held_event, asyncio.Event()
            event.set()
            try:
                await self._release_event.wait()
            finally:
                self.held[method] -= 1
            raise ApiError(502, "Bad Gateway")
        failing = self._failing.get(method)
        if failing is None:
            return
        status, description, until, times = failing
        if until is not None and asyncio.get_running_loop().time() >= until:
            del self._failing[method]
            return
        if times is not None:
            if times <= 0:
                del self._failing[method]
                return
            failing[3] = times - 1
        self._count("injected_failures")
        raise ApiError(status, description)

    def answer_lost(self, method: str) -> bool:
        """True when the answer to this (carried out) call must be lost on the way back."""
        if self._drops.get(method, 0) <= 0:
            return False
        self._drops[method] -= 1
        self._count("dropped_answers")
        return True

    def check_flood(self, chat_id: int) -> None:
        """Called by the sending methods (send*, edit*); a refused call takes no slot."""
        now = time.monotonic()
        windows: list[RateWindow] = []
        if self._flood_global is not None:
            windows.append(self._flood_global)
        if self._flood_chat_rate is not None:
            window = self._flood_chats.get(chat_id)
            if window is None:
                window = self._flood_chats[chat_id] = RateWindow(self._flood_chat_rate)
            windows.append(window)
        if not windows:
            return
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for w in windows:
            w.stamps.append(now)

    def _count(self, name: str) -> None:
        self.counters[name] += 1
