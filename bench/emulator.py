"""The Bot API emulator process: devserver's BotApiServer plus a control API and the load
generator, so that the bot under test runs alone in its own process.

    python -m bench.emulator      # prints one JSON line: {"api": …, "file": …, "ctl": …}

Both ends of every latency are taken here, with the same clock (time.monotonic): the moment an
update is queued (available to getUpdates) and the moment the server records the bot's reply
(ApiCall.t). The load generator is a client of the server's in-process API (user_sends_text,
user_clicks), exactly like the tests' MerchantClient, but it matches replies to updates by
observing every recorded call (`BotApiServer.observers`) instead of scanning the call list.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench.common import TOKEN, percentiles
from devserver.server import ApiCall, BotApiServer

# A reply is the call that shows the merchant something (the callback answer does not count).
SHOWING = frozenset({"sendMessage", "editMessageText", "sendDocument", "sendPhoto"})
REMINDER_MARK = "⏰"  # reminder messages start with it (see content templates/reminder.j2)


@dataclass
class Step:
    """One thing a merchant does; a press targets the message of the previous reply."""

    kind: str  # "text" | "press"
    payload: str  # the text, or the callback data
    expect: str  # a substring the reply must contain (checks the answer and the order)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Step:
        return cls(raw["kind"], raw["payload"], raw["expect"])


@dataclass
class Pending:
    """An update waiting for its reply."""

    merchant: int
    index: int
    expect: str
    queued: float
    reply: asyncio.Future[ApiCall]


@dataclass
class LoadStats:
    latencies: list[float] = field(default_factory=list)  # seconds
    by_step: dict[int, list[float]] = field(default_factory=dict)
    answered: int = 0
    lost: int = 0
    not_sent: int = 0  # steps never sent because an earlier reply of the merchant was lost
    out_of_order: int = 0
    wrong: int = 0
    extra: int = 0
    lateness: list[float] = field(default_factory=list)  # open loop: sent after schedule
    first_queued: float | None = None
    last_queued: float | None = None
    last_answer: float | None = None
    errors: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)  # every call during the load


class Load:
    """Runs scripted merchants against the server and matches every reply to its update."""

    def __init__(self, server: BotApiServer, script: list[Step], timeout: float) -> None:
        self.server = server
        self.script = script
        self.timeout = timeout
        self.stats = LoadStats()
        self.waiting: dict[int, deque[Pending]] = {}

    # -- matching replies --------------------------------------------------------------
    def on_call(self, call: ApiCall) -> None:
        self.stats.methods[call.method] += 1
        if not call.ok:
            self.stats.errors[f"{call.method} {call.error_code}"] += 1
            return
        if call.method not in SHOWING or call.chat_id not in self.waiting:
            return
        queue = self.waiting[call.chat_id]
        if not queue:
            self.stats.extra += 1
            return
        text = str(call.params.get("text") or call.params.get("caption") or "")
        match = 0
        if queue[0].expect not in text:
            later = [i for i, p in enumerate(queue) if i and p.expect in text]
            if later:
                match = later[0]
                self.stats.out_of_order += 1
            else:
                self.stats.wrong += 1
        pending = queue[match]
        del queue[match]
        self.stats.answered += 1
        self.stats.latencies.append(call.t - pending.queued)
        self.stats.by_step.setdefault(pending.index, []).append(call.t - pending.queued)
        self.stats.last_answer = call.t
        if not pending.reply.done():
            pending.reply.set_result(call)

    # -- sending updates ---------------------------------------------------------------
    def send(self, uid: int, index: int, target: int | None) -> Pending:
        step = self.script[index]
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        if step.kind == "press":
            assert target is not None
            self.server.user_clicks(uid, target, step.payload)
        else:
            self.server.user_sends_text(uid, step.payload)
        pending = Pending(uid, index, step.expect, now, loop.create_future())
        self.waiting[uid].append(pending)
        if self.stats.first_queued is None:
            self.stats.first_queued = now
        self.stats.last_queued = now
        return pending

    async def _reply(self, pending: Pending) -> ApiCall | None:
        try:
            return await asyncio.wait_for(asyncio.shield(pending.reply), self.timeout)
        except TimeoutError:
            return None

    @staticmethod
    def _message_id(call: ApiCall) -> int:
        result = call.result if isinstance(call.result, dict) else {}
        return int(result.get("message_id") or call.params.get("message_id") or 0)

    async def closed_merchant(self, uid: int, gate: asyncio.Semaphore) -> None:
        """Each step waits for the previous reply (no think time)."""
        async with gate:
            target: int | None = None
            for index in range(len(self.script)):
                call = await self._reply(self.send(uid, index, target))
                if call is None:
                    self.stats.lost += 1
                    self.stats.not_sent += len(self.script) - index - 1
                    return
                target = self._message_id(call)

    async def open_merchant(self, uid: int, times: list[float]) -> None:
        """Each step at its scheduled moment; a press also needs the message it presses."""
        loop = asyncio.get_running_loop()
        previous: Pending | None = None
        sent: list[Pending] = []
        for index, due in enumerate(times):
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            target = None
            if self.script[index].kind == "press":
                assert previous is not None
                call = await self._reply(previous)
                if call is None:
                    self.stats.not_sent += len(self.script) - index
                    break
                target = self._message_id(call)
            self.stats.lateness.append(max(0.0, loop.time() - due))
            previous = self.send(uid, index, target)
            sent.append(previous)
        for pending in sent:
            if await self._reply(pending) is None:
                self.stats.lost += 1

    async def run(
        self, mode: str, ids: list[int], rate: float, seed: int, concurrency: int
    ) -> None:
        for uid in ids:
            self.server.add_user(uid)
            self.waiting[uid] = deque()
        self.server.observers.append(self.on_call)
        try:
            if mode == "closed":
                gate = asyncio.Semaphore(concurrency or len(ids))
                await asyncio.gather(*(self.closed_merchant(uid, gate) for uid in ids))
            else:
                # Poisson arrivals at `rate` overall; arrival j goes to merchant j % M, so
                # each merchant's steps stay in order and are spaced ~M/rate apart.
                rng = random.Random(seed)
                steps, m = len(self.script), len(ids)
                moments, t = [], 0.0
                for _ in range(steps * m):
                    t += rng.expovariate(rate)
                    moments.append(t)
                start = asyncio.get_running_loop().time() + 0.2
                await asyncio.gather(
                    *(
                        self.open_merchant(uid, [start + moments[k * m + i] for k in range(steps)])
                        for i, uid in enumerate(ids)
                    )
                )
            await asyncio.sleep(0.2)  # late extra answers, if any, are counted too
        finally:
            self.server.observers.remove(self.on_call)

    def summary(self) -> dict[str, Any]:
        s = self.stats
        span = (s.last_answer or 0) - (s.first_queued or 0)
        sent = (s.last_queued or 0) - (s.first_queued or 0)
        updates = len(s.latencies) + s.lost
        return {
            "updates": updates,
            "answered": s.answered,
            "lost": s.lost,
            "not_sent": s.not_sent,
            "out_of_order": s.out_of_order,
            "wrong": s.wrong,
            "extra": s.extra,
            "errors": dict(s.errors),
            "calls": dict(s.methods),
            "unanswered_queries": len(self.server.pending_callback_queries()),
            "duration_s": span,
            "first_queued_t": s.first_queued,
            "last_answer_t": s.last_answer,
            "answers_per_s": s.answered / span if span > 0 else None,
            "offered_per_s": (updates - 1) / sent if sent > 0 else None,
            "latency_ms": {
                k: (v * 1000 if isinstance(v, float) else v)
                for k, v in percentiles(s.latencies).items()
            },
            "latency_ms_by_step": [
                [round(v * 1000, 1) for v in (q["p50"], q["p99"])]
                for q in (percentiles(s.by_step[i]) for i in sorted(s.by_step))
            ],
            "lateness_ms": {
                k: (v * 1000 if isinstance(v, float) else v)
                for k, v in percentiles(s.lateness, (50, 99)).items()
            },
        }


class ControlApi:
    """JSON endpoints under /ctl/ wrapping the server's Python API."""

    def __init__(self, server: BotApiServer, stop: asyncio.Event) -> None:
        self.server = server
        self.stop_event = stop

    def routes(self) -> web.Application:
        app = web.Application()
        for name in (
            "load",
            "users",
            "flood",
            "mark",
            "wait_polling",
            "reminders",
            "summary",
            "route",
            "deliveries",
            "stop",
        ):
            app.router.add_post(f"/ctl/{name}", self._wrap(getattr(self, name)))
        return app

    @staticmethod
    def _wrap(fn: Callable[..., Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            payload = await request.json() if request.body_exists else {}
            try:
                result = await fn(**payload)
            except Exception as exc:  # the bot process shows it
                return web.json_response({"error": repr(exc)}, status=500)
            return web.json_response(result, dumps=lambda o: json.dumps(o, ensure_ascii=False))

        return handler

    async def load(
        self,
        script: list[dict[str, Any]],
        mode: str,
        first_id: int,
        merchants: int,
        rate: float = 0.0,
        seed: int = 1,
        timeout: float = 30.0,
        concurrency: int = 0,
        ids: list[int] | None = None,
    ) -> dict[str, Any]:
        load = Load(self.server, [Step.parse(s) for s in script], timeout)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await load.run(
            mode, ids or list(range(first_id, first_id + merchants)), rate, seed, concurrency
        )
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        return load.summary() | {"server_cpu_s": cpu, "server_cpu_util": cpu / wall}

    async def users(self, first: int, count: int) -> dict[str, Any]:
        for uid in range(first, first + count):
            self.server.add_user(uid)
        return {"users": count}

    async def flood(self, global_per_sec: float | None, per_chat_per_sec: float | None) -> dict:
        self.server.set_flood(global_per_sec, per_chat_per_sec)
        return {}

    async def mark(self) -> dict[str, Any]:
        return {"mark": self.server.mark(), "monotonic": time.monotonic()}

    async def wait_polling(self, timeout: float = 60.0) -> dict[str, Any]:
        """When a getUpdates long poll is parked at the server (calls are recorded only when
        they return, so the first poll's arrival is observed here)."""
        await self.server.wait_until_polling(timeout)
        return {"t": time.monotonic()}

    async def reminders(self, since: int = 0) -> dict[str, Any]:
        """Reminder messages delivered since a mark: per chat counts and first/last moments."""
        per_chat: Counter[int] = Counter()
        times: list[float] = []
        refused: Counter[str] = Counter()
        for call in self.server.calls[since:]:
            if not call.ok:
                refused[str(call.error_code)] += 1
                continue
            if call.method == "sendMessage" and str(call.params.get("text", "")).startswith(
                REMINDER_MARK
            ):
                per_chat[call.chat_id or 0] += 1
                times.append(call.t)
        return {
            "chats": len(per_chat),
            "messages": sum(per_chat.values()),
            "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
            "first_t": min(times) if times else None,
            "last_t": max(times) if times else None,
            "refused": dict(refused),
            "chat_ids": sorted(per_chat),
        }

    async def route(self, public: str, local: list[str]) -> dict[str, Any]:
        """Webhook deliveries to `public` go round robin to these local bases (replicas)."""
        self.server.webhooks.route(public, *local)
        return {}

    async def deliveries(self) -> dict[str, Any]:
        """Webhook deliveries so far, per local target and per answer status."""
        targets: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        for d in self.server.webhooks.deliveries:
            targets[d.target] += 1
            statuses[str(d.status)] += 1
        return {"targets": dict(targets), "statuses": dict(statuses)}

    async def summary(self) -> dict[str, Any]:
        return {
            "counters": dict(self.server.counters),
            "calls": len(self.server.calls),
            "pending_queries": len(self.server.pending_callback_queries()),
            "cpu_s": time.process_time(),
        }

    async def stop(self) -> dict[str, Any]:
        self.stop_event.set()
        return {}


async def main(host: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = BotApiServer(TOKEN, bot_username="merchant_bench_bot")
    await server.start(host)
    runner = web.AppRunner(ControlApi(server, stop).routes(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    sys.stdout.write(
        json.dumps(
            {"api": server.base_url, "file": server.base_file_url, "ctl": f"http://{host}:{port}"}
        )
        + "\n"
    )
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    asyncio.run(main(parser.parse_args().host))
