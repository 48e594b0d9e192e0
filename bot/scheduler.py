"""The one reminder scheduler: SQLite is the source of truth, delivery is exactly-once-or-never.

Each pass takes the pending reminders that fell due (also during downtime), keeps only the
latest of each merchant's chain (dropping superseded ones instead of sending them late), holds
back those in the merchant's quiet hours, and sends the rest paced under Telegram's limits:
about 30 messages per second overall and 1 per second per chat. A reminder is marked
'sending' (committed) before the request and 'sent' after it; one found 'sending' at start-up
may have arrived, so it is never sent again ('uncertain').

With several replicas on one PostgreSQL database, every replica runs a Scheduler and one of
them leads (bot.leader): only the leader runs passes, so its one limiter paces all of them; it
claims each reminder through the session holding the leader lock, so a leader that lost it
sends nothing more; and the 'sending' → 'uncertain' recovery happens when a process starts to
lead, never while another one is still sending. On SQLite the process always leads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot import presenter
from bot.inbox import KEEP_ANSWERED
from bot.leader import Lease, lease_for
from bot.runtime import Runtime
from flows import reminders as rem

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)
MAX_SLEEP = 30.0  # seconds: a reminder goes out within a minute of its due time


class Scheduler:
    """Delivers due reminders; `wake()` after the plan or the clock changed."""

    def __init__(
        self,
        runtime: Runtime,
        bot: Bot,
        *,
        per_second: float = 29.0,
        per_chat_interval: float = 1.0,
        workers: int = 32,
        lease: Lease | None = None,
    ) -> None:
        self.runtime = runtime
        self.bot = bot
        # capacity 1: strictly spaced, never a burst above the overall rate. `limiter` paces
        # the claims; `gate` spaces the requests themselves, so that claims answered at uneven
        # speed (a round trip to PostgreSQL each) do not bunch the sends behind them
        self.limiter = AsyncLimiter(1, 1.0 / per_second)
        self.gate = AsyncLimiter(1, 1.0 / per_second)
        self.per_chat_interval = per_chat_interval
        self._last_to_chat: dict[int, float] = {}
        self.workers = workers
        self._counting: set[asyncio.Task[None]] = set()
        self._pruned_at: datetime | None = None
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.stats: dict[str, int] = defaultdict(int)
        self._stats_changed = asyncio.Condition()
        # Who delivers (bot.leader). Until `start` picks the store's election (and after
        # `stop`), this process leads: a Scheduler driven by hand (run_due) is alone.
        self._own_lease = lease is None
        self.lease: Lease = lease or Lease()
        self._recovered_term = 0  # the leader term whose interrupted sends were recovered

    async def start(self) -> None:
        """Join the election (PostgreSQL) and, when leading, recover from an interrupted run;
        then deliver in the background whenever this process leads."""
        if self._own_lease:
            self.lease = lease_for(self.runtime.store)
        self.lease.on_change = self._wake.set
        await self.lease.start()
        async with self._pass_lock:
            await self._lead()
        self._task = asyncio.create_task(self._loop(), name="reminder-scheduler")

    async def stop(self) -> None:
        """Stop (a send in flight is interrupted: the next leader marks it uncertain), then
        give up the lead. Passes asked for by hand afterwards run as if alone, as before
        `start`."""
        if self._task is not None:
            # the flag and the wake-up end the loop even if a library on the way swallowed
            # the cancellation (seen once on PostgreSQL: the task stayed "cancelling",
            # asleep on the wake-up, and stop() waited for ever)
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
            self._stopping = False
        await self.lease.stop()
        self.lease, self._recovered_term = Lease(), 0

    async def _lead(self) -> bool:
        """Whether this process leads now; the first time in a term, first mark what an
        earlier leader left 'sending' 'uncertain' (called with the pass lock held)."""
        lease = self.lease
        term = lease.term
        if not lease.holds(term):
            return False
        if self._recovered_term == term:
            return True
        uncertain = await lease.recover(self.runtime.store)
        if uncertain is None:
            return False  # lost meanwhile
        self._recovered_term = term
        if uncertain:
            log.warning("%d reminder(s) were being sent at the last stop: not resent", uncertain)
        await self._count("elected")
        if lease.took_over:
            # the previous leader's last sends were within the last second or so: together
            # with ours they must stay under the limits
            await asyncio.sleep(self.per_chat_interval)
        return lease.holds(term)

    async def _count(self, name: str, n: int = 1) -> None:
        """Count an outcome and tell whoever waits for it (tests, the playground)."""
        if n:
            self.stats[name] += n
            async with self._stats_changed:
                self._stats_changed.notify_all()

    async def wait_for(self, name: str, at_least: int, timeout: float = 30.0) -> None:
        """Wait until a counter (sent, dropped, unreachable, network_retry …) reaches a value."""
        async with self._stats_changed:
            await asyncio.wait_for(
                self._stats_changed.wait_for(lambda: self.stats[name] >= at_least), timeout
            )

    async def _prune(self) -> None:
        """Now and then, forget the updates answered long ago (bot.inbox keeps them a while
        so that a redelivery is recognised)."""
        now = self.runtime.clock.now()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self.runtime.store.prune_updates(now - KEEP_ANSWERED)

    def wake(self) -> None:
        """Look again now (a plan changed, or the clock was moved); on a replica that does not
        lead, tell the leader (bot.leader: NOTIFY)."""
        self._wake.set()
        if not self.lease.leading:
            self.lease.announce()

    async def _loop(self) -> None:
        """Run passes until stopped, sleeping until the next due time (at most MAX_SLEEP)."""
        while not self._stopping:
            if not self.lease.leading:
                await self.lease.elected()
            # cleared before the pass, so a wake-up during the pass is not lost
            self._wake.clear()
            delay = MAX_SLEEP
            try:
                await self.run_due()
                await self._prune()
                delay = await self._sleep_for()
            except asyncio.CancelledError:
                raise
            except Exception:  # a fault (the database away) must not stop the reminders
                log.exception("reminder pass failed; retrying shortly")
            if not self.lease.leading:
                continue
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that meets the wake-up (stop() then waited for ever)
                async with asyncio.timeout(max(delay, 0.05)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _sleep_for(self) -> float:
        """Seconds until the next pass: the soonest due time, the end of the quiet hours when
        something due is held for the night, at most MAX_SLEEP."""
        upcoming = await self.runtime.store.next_due()
        now = self.runtime.clock.now()
        if upcoming is not None and upcoming > now:
            return min(MAX_SLEEP, (upcoming - now).total_seconds())
        if upcoming is not None and rem.in_quiet_hours(now, self.runtime.timezone):
            quiet_left = rem.quiet_end(now, self.runtime.timezone) - now
            return min(MAX_SLEEP, quiet_left.total_seconds())
        return MAX_SLEEP

    async def run_due(self) -> int:
        """One pass: deliver everything due now; returns how many were sent.

        Passes never overlap (a pass asked for while one runs waits for it), so no reminder
        can be picked up twice. A replica that does not lead delivers nothing (0)."""
        async with self._pass_lock:
            if not await self._lead():
                return 0
            return await self._run_due(self.lease.term)

    async def _run_due(self, term: int) -> int:
        """The pass itself, as the leader of `term` (it ends early if the lead is lost)."""
        now = self.runtime.clock.now()
        rows = await self.runtime.store.due_reminders(now)
        if not rows:
            return 0
        latest: dict[tuple[int, str], dict[str, Any]] = {}
        superseded: list[int] = []
        for row in rows:  # ordered by due time: a later one of the chain replaces the earlier
            slot = (row["user_id"], row["chain"])
            if slot in latest:
                superseded.append(latest[slot]["id"])
            latest[slot] = row
        await self.runtime.store.set_reminder_state(superseded, "dropped")
        await self._count("dropped", len(superseded))
        tz = self.runtime.timezone
        ready = [r for r in latest.values() if not rem.in_quiet_hours(now, tz)]
        await self._count("held_quiet", len(latest) - len(ready))
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for row in ready:
            queue.put_nowait(row)
        sent = 0

        async def worker() -> None:
            nonlocal sent
            while not queue.empty() and self.lease.holds(term):
                row = queue.get_nowait()
                if await self._deliver(row, term):
                    sent += 1

        await asyncio.gather(*(worker() for _ in range(min(self.workers, len(ready)))))
        return sent

    async def _pace(self, chat_id: int) -> None:
        """Wait for a slot: overall rate, and one second since the last send to this chat."""
        loop = asyncio.get_running_loop()
        while True:
            last = self._last_to_chat.get(chat_id)
            wait = 0.0 if last is None else last + self.per_chat_interval - loop.time()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._last_to_chat[chat_id] = loop.time()
        await self.limiter.acquire()
        if len(self._last_to_chat) > 50_000:  # forget chats not written to for a while
            cutoff = loop.time() - self.per_chat_interval
            self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if t > cutoff}

    async def _send_slot(self, chat_id: int) -> None:
        """Right before the request: space it from the last one sent (claims paced evenly
        can still be answered unevenly), and count the chat's second from now."""
        await self.gate.acquire()
        self._last_to_chat[chat_id] = asyncio.get_running_loop().time()

    async def _plan_next(self, user_id: int) -> None:
        """A recurring reminder went out: plan its next occurrence from the current state
        (the merchant may never write again, so no state change would do it)."""
        runtime = self.runtime
        async with runtime.locks.hold(user_id):
            state = await runtime.store.load_merchant(user_id)
            if state.created:
                return  # deleted meanwhile
            now = runtime.clock.now()
            catalog = runtime.contents.default.catalog
            plan = rem.plan(state.data, catalog, runtime.timezone, now)
            await runtime.store.replan(user_id, plan, now)

    async def _deliver(self, row: dict[str, Any], term: int) -> bool:
        """Send one reminder; record the outcome. True if delivered.

        Paced, then claimed (as the leader of `term`), then spaced from the last request."""
        store = self.runtime.store
        content = self.runtime.contents.for_language(row["language"])
        today = self.runtime.clock.now().astimezone(self.runtime.timezone).date()
        data = json.loads(row["data"])
        # worded for the route the merchant is on now, not the one it was planned under
        current = json.loads(row.get("merchant_state") or "{}").get("route")
        if current:
            data["route"] = current
        screen = rem.reminder_screen(row["kind"], row["key"], data, today)
        out = presenter.render(content, screen, row["chat_id"])
        await self._pace(row["chat_id"])
        if not await self.lease.claim(store, row["id"], row["due_at"], term):
            if self.lease.holds(term):
                await self._count("moot", 1)  # changed since this pass read it
            return False
        await self._send_slot(row["chat_id"])
        try:
            await presenter.deliver(self.bot, out, on_retry=self._retrying)
        except RetryAfter:
            await store.set_reminder_state([row["id"]], "pending")  # flooded: a later pass
            return False
        except Forbidden:
            # blocked or deactivated: pause this merchant's reminders, keep this one
            await store.set_reachable(row["user_id"], False)
            await store.set_reminder_state([row["id"]], "pending")
            await self._count("unreachable", 1)
            return False
        except BadRequest as exc:
            log.warning("reminder %s refused: %s", row["id"], exc.message)
            await store.set_reminder_state([row["id"]], "failed")
            await self._after(row)
            await self._count("failed", 1)
            return False
        except NetworkError as exc:
            # retried through a short outage already; if the request may have reached
            # Telegram, never risk a duplicate
            outcome = "deferred" if presenter.surely_not_sent(exc) else "uncertain"
            log.warning("reminder %s: %s (%s)", row["id"], outcome, exc)
            state = "pending" if outcome == "deferred" else "uncertain"
            await store.set_reminder_state([row["id"]], state)
            if state == "uncertain":
                await self._after(row)
            await self._count(outcome)
            return False
        await store.set_reminder_state([row["id"]], "sent", sent_at=self.runtime.clock.now())
        await self._after(row)
        await self._count("sent", 1)
        return True

    async def _after(self, row: dict[str, Any]) -> None:
        """A reminder is done with (sent, refused for good, or uncertain): a recurring one
        plans its next occurrence, whatever became of this one."""
        if row["chain"] == "ops":
            await self._plan_next(row["user_id"])

    def _retrying(self, kind: str) -> None:
        """The presenter waits before another try: count it (retry_after, network_retry)."""
        task = asyncio.get_running_loop().create_task(self._count(kind))
        self._counting.add(task)
        task.add_done_callback(self._counting.discard)


async def start_scheduler(app: Any, **options: Any) -> Scheduler:
    """Start the scheduler for a running Application; plan changes wake it up."""
    runtime: Runtime = app.bot_data["runtime"]
    scheduler = Scheduler(runtime, app.bot, **options)
    runtime.on_plan_change = scheduler.wake
    await scheduler.start()
    return scheduler
