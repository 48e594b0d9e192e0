"""Property: whatever a merchant and the operators do, in any order, the reminders table is the
plan. Random journeys (route changes, submission dates set and corrected, mute and unmute,
snoozes, status changes by the operator and by the merchant, the clock moving) run against the
real Application and scheduler over HTTP; after every step:

- table == plan: every planned reminder still ahead is pending at its planned moment, and every
  pending row is planned at that moment;
- nothing sent twice: each (reminder, moment) reaches the chat at most once, and the chat got
  exactly the reminders the table says were sent;
- nothing missing: when the clock passes reminders that were pending, each chain's latest one
  arrives (the earlier ones of the chain are dropped as superseded, never sent late).

One bot serves all examples; each example is a new merchant, deleted at its end.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FixedClock
from devserver.server import BotApiServer
from flows import reminders as rem
from tests.harness import contents, running_bot
from tests.test_e2e_reminders import reminder_calls

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900
CATALOG = contents().default.catalog
STATUSES = ("submitted", "reviewing", "need_more", "approved", "rejected", "joined")
_ids = itertools.count(20_000)

step = st.one_of(
    st.tuples(st.just("route"), st.sampled_from(["agency", "platform"])),
    st.tuples(st.just("submitted"), st.integers(min_value=-12, max_value=0)),
    st.tuples(st.just("mute"), st.booleans()),
    st.tuples(st.just("snooze"), st.integers(min_value=0, max_value=1)),
    st.tuples(st.just("operator"), st.sampled_from(STATUSES), st.integers(1, 6)),
    st.tuples(st.just("report"), st.sampled_from(["已通过", "需补充", "未通过", "已入驻"])),
    st.tuples(st.just("advance"), st.integers(min_value=0, max_value=9), st.integers(9, 20)),
)


def reminder_messages(server, chat_id: int) -> int:
    return len(reminder_calls(server, chat_id))


class Journey:
    """One merchant's random walk, checked after each step."""

    def __init__(self, bot, server, clock: FixedClock) -> None:
        self.bot, self.server, self.clock = bot, server, clock
        self.user_id = next(_ids)
        self.m = bot.merchant(self.user_id)
        self.op = bot.merchant(OPERATOR)
        self.sent: set[tuple[str, str]] = set()

    def now(self) -> datetime:
        return self.clock.now().astimezone(SH)

    async def rows(self) -> list[dict]:
        return await self.bot.store.reminders_of(self.user_id)

    async def do(self, action: tuple) -> None:
        kind = action[0]
        m = self.m
        if kind == "route":
            await m.send("/route")
            await m.press("全托管" if action[1] == "platform" else "托管公司")
        elif kind == "submitted":
            day = self.now().date() + timedelta(days=action[1])
            await m.send(f"/submitted {day.isoformat()}")
        elif kind == "mute":
            [screen] = await m.send("/reminders")
            label = "全部静音" if action[1] else "恢复提醒"
            if any(label in x for x in screen.labels):
                await m.press(label)
        elif kind == "snooze":
            [screen] = await m.send("/reminders")
            buttons = [x for x in screen.labels if x.startswith("⏰ 推迟一天")]
            if len(buttons) > action[1]:
                await m.press(buttons[action[1]])
        elif kind == "operator":
            note = ""
            if action[1] == "need_more":
                deadline = self.now().date() + timedelta(days=action[2])
                note = f" 请于 {deadline.isoformat()} 前补充"
            await self.op.send(f"/setstatus {self.user_id} {action[1]}{note}")
        elif kind == "report":
            [screen] = await m.send("/status")
            if any(action[1] in x for x in screen.labels):
                await m.press(action[1])
                await m.press("确认")
        elif kind == "advance":
            await self.advance(action[1], action[2])

    async def advance(self, days: int, hour: int) -> None:
        """Move to `hour`:00 local `days` later (the next day when that is not ahead), outside
        the quiet hours, run the scheduler, and check that nothing passed was lost."""
        now = self.now()
        target = datetime.combine(now.date() + timedelta(days=days), datetime.min.time(), SH)
        target = target.replace(hour=hour)
        if target <= now:
            target += timedelta(days=1)
        passed = [
            r
            for r in await self.rows()
            if r["state"] == "pending" and datetime.fromisoformat(r["due_at"]) <= target
        ]
        self.clock.at = target.astimezone(UTC)
        await self.bot.scheduler.run_due()
        after = {r["key"]: r for r in await self.rows()}
        latest: dict[str, dict] = {}
        for r in sorted(passed, key=lambda r: r["due_at"]):
            latest[r["chain"]] = r
        for r in passed:
            state = after[r["key"]]["state"]
            if r is latest[r["chain"]]:
                assert state == "sent", ("missing", r, state)
            else:
                assert state in ("sent", "dropped"), ("lost", r, state)

    async def check(self) -> None:
        now = self.clock.now()
        state = await self.bot.store.load_merchant(self.user_id)
        planned = {p.key: p for p in rem.plan(state.data, CATALOG, SH, now.astimezone(SH))}
        rows = await self.rows()
        by_key = {r["key"]: r for r in rows}
        # table == plan
        for key, p in planned.items():
            if p.due > now:
                row = by_key.get(key)
                assert row is not None and row["state"] == "pending", ("not pending", p, row)
                assert datetime.fromisoformat(row["due_at"]) == p.due, ("moment", p, row)
        for r in rows:
            if r["state"] == "pending":
                assert r["key"] in planned, ("pending but not planned", r, state.data)
                assert datetime.fromisoformat(r["due_at"]) == planned[r["key"]].due
                assert datetime.fromisoformat(r["due_at"]) > now, ("left behind", r)
        # nothing sent twice
        for r in rows:
            if r["state"] == "sent" and r["sent_at"]:
                self.sent.add((r["key"], r["due_at"]))
        assert reminder_messages(self.server, self.user_id) == len(self.sent)

    async def finish(self) -> None:
        await self.m.send("/deletedata")
        await self.m.press("确认删除")


def test_reminders_table_is_always_the_plan(tmp_path):
    # Hypothesis drives synchronous examples; the bot runs on its own event loop in a thread.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    base = datetime(2026, 11, 2, 11, tzinfo=SH)
    clock = FixedClock(base)
    stack = AsyncExitStack()

    async def start():
        server = await stack.enter_async_context(BotApiServer())
        bot = await stack.enter_async_context(
            running_bot(server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR}))
        )
        await bot.scheduler.stop()  # passes run when the test moves the clock, nowhere else
        return server, bot

    server, bot = run(start())

    async def walk(actions) -> None:
        clock.at = base.astimezone(UTC)  # the previous merchant was deleted: start afresh
        journey = Journey(bot, server, clock)
        await journey.m.send("/start")
        for action in [("route", "platform"), *actions]:
            await journey.do(action)
            # a plan change wakes the scheduler in the running bot: one pass, as it would
            await bot.scheduler.run_due()
            await journey.check()
        await journey.finish()

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(st.lists(step, min_size=1, max_size=14))
    def journeys(actions):
        run(walk(actions))

    try:
        journeys()
        # "not modified": a press that changed nothing on screen (the bot expects it)
        refused = [c for c in server.calls if not c.ok and "not modified" not in c.description]
        assert refused == [], [(c.method, c.description) for c in refused]
    finally:
        run(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
