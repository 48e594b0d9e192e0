"""Webhook delivery, as Telegram does it once a bot has called setWebhook.

Each queued update is POSTed as JSON to the webhook URL with the bot's secret in
`X-Telegram-Bot-Api-Secret-Token`; a 2xx answer confirms it (it leaves the queue), anything
else (an error status, a refused connection, no answer in time) is retried after a pause.
Up to `max_connections` deliveries are in flight at once. Updates of one user are delivered
one after the other unless the test asks for `parallel_same_user` (what several replicas behind
a load balancer may see when Telegram retries).

Telegram needs an https URL; the tests stand in for the TLS proxy in front of the bot: `route`
maps the public URL's origin to the local http address the bot listens on.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from devserver.world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Delivery:
    """One attempt, for the tests to look at."""

    update_id: int
    target: str
    status: int | None  # None: no answer (refused, timed out)
    user_id: int | None


@dataclass
class WebhookSettings:
    """What setWebhook said."""

    url: str = ""
    secret: str = ""
    max_connections: int = 40


@dataclass
class Deliverer:
    """Delivers the world's queued updates to the webhook while one is set."""

    world: World
    settings: WebhookSettings = field(default_factory=WebhookSettings)
    routes: dict[str, list[str]] = field(default_factory=dict)  # public origin -> local bases
    retry_after: float = 0.2
    timeout: float = 10.0
    parallel_same_user: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _in_flight: dict[int, int | None] = field(default_factory=dict)  # update_id -> user
    _turn: int = 0  # round robin over several local targets (replicas)

    # --- control ---------------------------------------------------------------------------

    def route(self, public: str, *local: str) -> None:
        """Stand in for the TLS proxy: deliveries to `public`'s origin go to the local http
        bases instead (several: spread round robin, like a load balancer over replicas)."""
        self.routes[_origin(public)] = [base.rstrip("/") for base in local]

    def set(self, settings: WebhookSettings) -> None:
        """setWebhook: start delivering (or stop, with an empty url)."""
        self.settings = settings
        if settings.url and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())
        self.world.wake_pollers()

    async def stop(self) -> None:
        """Stop delivering (the server stops)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    # --- delivery --------------------------------------------------------------------------

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while self.settings.url:
                event = self.world.update_event
                started = self._start_some(session)
                if not started:
                    await event.wait()
                else:
                    await asyncio.sleep(0)

    def _start_some(self, session: aiohttp.ClientSession) -> bool:
        """Start deliveries for waiting updates, within the limits; True if any started.
        A redelivery (server.redeliver) goes at once, even while the first is in flight."""
        loop = asyncio.get_running_loop()
        started = False
        for update in self.world.redeliveries:
            loop.create_task(self._deliver(session, update, again=True))
            started = True
        self.world.redeliveries.clear()
        busy_users = set(self._in_flight.values())
        for update in self.world.updates:
            if len(self._in_flight) >= self.settings.max_connections:
                break
            uid, user = update["update_id"], _user_of(update)
            if uid in self._in_flight:
                continue
            if not self.parallel_same_user and user is not None and user in busy_users:
                continue
            self._in_flight[uid] = user
            busy_users.add(user)
            loop.create_task(self._deliver(session, update))
            started = True
        return started

    async def _deliver(
        self, session: aiohttp.ClientSession, update: dict[str, Any], *, again: bool = False
    ) -> None:
        uid = update["update_id"]
        try:
            while self.settings.url:
                target = self._target(self.settings.url)
                status: int | None = None
                headers = {"Content-Type": "application/json"}
                if self.settings.secret:
                    headers[SECRET_HEADER] = self.settings.secret
                try:
                    async with session.post(
                        target,
                        data=json.dumps(update, ensure_ascii=False).encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.timeout),
                    ) as res:
                        status = res.status
                        await res.read()
                except (aiohttp.ClientError, TimeoutError):
                    status = None
                self.deliveries.append(Delivery(uid, target, status, _user_of(update)))
                if status is not None and 200 <= status < 300:
                    if not again:
                        self._confirm(uid)
                    return
                await asyncio.sleep(self.retry_after)
        finally:
            if not again:
                self._in_flight.pop(uid, None)
            self.world.wake_pollers()  # the next update of this user may go now

    def _confirm(self, update_id: int) -> None:
        updates = self.world.updates
        for index, update in enumerate(updates):
            if update["update_id"] == update_id:
                del updates[index]
                return

    def _target(self, url: str) -> str:
        bases = self.routes.get(_origin(url))
        if not bases:
            return url
        base = bases[self._turn % len(bases)]
        self._turn += 1
        parts = urlsplit(url)
        return base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _user_of(update: dict[str, Any]) -> int | None:
    for key, value in update.items():
        if key != "update_id" and isinstance(value, dict):
            sender = value.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return int(sender["id"])
    return None
