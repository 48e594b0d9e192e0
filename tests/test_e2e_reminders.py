"""End to end: operator pushes, status changes, and reminders that survive restarts, blocked
chats, flood limits and lost answers — the real Application and scheduler over HTTP, with the
bot's clock moved instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.clock import FixedClock
from bot.scheduler import Scheduler
from devserver.server import BotApiServer
from flows import reminders as rem
from flows.core import MerchantState
from tests.contentkit import (
    CONTENT,
    callback,
    data,
    day,
    keys,
    notice,
    notices,
    press,
    shows,
    template,
)
from tests.harness import contents, open_store, running_bot
from tests.test_e2e_foundation import assert_clean

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900
STATUSES = CONTENT.data["statuses"]["statuses"]


def local(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def reminder_calls(server, chat_id=None):
    """sendMessage calls that carried a reminder (not the /reminders settings)."""
    return [
        c
        for c in server.calls
        if c.method == "sendMessage"
        and c.ok
        and shows(c, "reminder")
        and (chat_id is None or c.chat_id == chat_id)
    ]


def kinds(calls) -> list[str]:
    """The kinds of the reminders sent in these calls."""
    return [data(c)["kind"] for c in calls]


async def submit(m, date="2026-09-28"):
    """Choose route B and record a submission date."""
    await m.send("/route")
    await press(m, "route_platform")
    [shown] = await m.send(f"/submitted {date}")
    assert template(shown) == "submitted"
    return shown


async def test_operator_push_reaches_the_merchant_at_once_and_others_are_refused(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        merchant, op, other = bot.merchant(501), bot.merchant(OPERATOR), bot.merchant(502)
        await submit(merchant)
        await other.send("/start")
        [refused] = await other.send("/setstatus 501 approved")
        assert template(refused) == "operator_refused"
        assert (await bot.store.load_merchant(501)).data["status"] == "submitted"
        since = server.mark()
        [done] = await op.send("/setstatus 501 need_more 请于 2026-10-20 前补充品牌授权书")
        assert template(done) == "operator_done" and data(done)["delivered"] is True
        pushes = [c for c in server.calls[since:] if c.chat_id == 501 and c.method == "sendMessage"]
        assert len(pushes) == 1 and template(pushes[0]) == "status_push"
        assert data(pushes[0])["status"] == "need_more"
        assert STATUSES["need_more"]["name"] in pushes[0].params["text"]
        assert data(pushes[0])["deadline"] == "2026-10-20"
        assert day("2026-10-20") in pushes[0].params["text"]
        assert any(
            b["callback_data"] == "docs"
            for row in pushes[0].params["reply_markup"]["inline_keyboard"]
            for b in row
        )
        history = await bot.store.status_history(501)
        assert [(h["old"], h["new"], h["by"]) for h in history] == [
            (None, "submitted", "merchant"),
            ("submitted", "need_more", f"operator:{OPERATOR}"),
        ]
        [card] = await op.send("/merchant 501")
        assert template(card) == "merchant_card"
        assert STATUSES["need_more"]["name"] in card.text and "need_more" not in card.text
        [stats] = await op.send("/stats")
        assert data(stats)["total"] == 2  # the operator is not counted
        [pushed_again] = await op.send(f"/setstatus 501 {STATUSES['approved']['name']}")
        assert template(pushed_again) == "operator_done"
        assert data(pushed_again)["status"] == "approved"
        push = server.last_bot_message(501)
        for line in STATUSES["approved"]["fee_checklist"]["platform"]:
            assert line in push.text  # the fee checklist came with it
    assert_clean(server)


async def test_bad_operator_input_gets_usage_and_changes_nothing(server, tmp_path):
    async with running_bot(server, tmp_path / "db", admin_ids=frozenset({OPERATOR})) as bot:
        op = bot.merchant(OPERATOR)
        for command, expected, given in [
            ("/setstatus", "missing", None),
            ("/setstatus 12", "missing", None),
            ("/setstatus abc approved", "bad_user", "abc"),
            ("/setstatus 12 finished", "bad_status", "finished"),
            ("/setstatus 777 approved", "unknown_user", "777"),
            ("/merchant", "missing", None),
            ("/merchant <b>", "bad_user", "<b>"),
            ("/merchant 778", "unknown_user", "778"),
            ("/setstatus 12 approved " + "备" * 600, "note_too_long", None),
        ]:
            [reply] = await op.send(command)
            assert template(reply) == "operator_usage", (command, reply.text)
            assert data(reply)["error"] == expected, (command, reply.text)
            assert given is None or given in reply.text, (command, reply.text)
        assert await bot.store.count_merchants() == 1  # only the operator
    assert_clean(server)


async def test_merchant_can_report_the_result_themselves(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(503)
        await submit(m)
        [status] = await m.send("/status")
        assert {"rep_approved", "rep_need_more", "rep_rejected"} <= set(keys(status))
        [confirm] = await press(m, "rep_approved")
        assert template(confirm) == "report_confirm"
        [pushed] = await press(m, "report_yes")
        assert template(pushed) == "status_push" and data(pushed)["status"] == "approved"
        assert (await bot.store.load_merchant(503)).data["status"] == "approved"
    assert_clean(server)


async def test_reminders_across_a_restart_only_the_latest_of_the_chain_arrives_once(
    server, tmp_path
):
    db = tmp_path / "db"
    clock = FixedClock(local(2026, 9, 28, 11))  # submission Mon 09-28: window 10-08 … 10-13
    async with running_bot(server, db, clock=clock) as bot:
        await submit(bot.merchant(601))
        reminders = await bot.store.reminders_of(601)
        assert {(r["kind"], r["state"]) for r in reminders} == {
            ("window_open", "pending"),
            ("overdue", "pending"),
        }
    # the bot is down from 09-28 to 10-15 11:00: both fell due (10-08 and 10-14 10:00)
    clock.at = local(2026, 10, 15, 11).astimezone(UTC)
    async with running_bot(server, db, clock=clock) as bot:
        await bot.scheduler.wait_for("sent", 1)
        assert await bot.scheduler.run_due() == 0  # nothing left, nothing twice
        sent = reminder_calls(server, 601)
        assert kinds(sent) == ["overdue"]
        states = {r["kind"]: r["state"] for r in await bot.store.reminders_of(601)}
        assert states == {"window_open": "dropped", "overdue": "sent"}
    async with running_bot(server, db, clock=clock) as bot:  # and again: still once
        assert await bot.scheduler.run_due() == 0
    assert len(reminder_calls(server, 601)) == 1
    assert_clean(server)


async def test_a_reminder_goes_out_at_10_local_within_a_minute(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        await submit(bot.merchant(602))
        clock.at = local(2026, 10, 8, 9, 59).astimezone(UTC)
        assert await bot.scheduler.run_due() == 0
        clock.at = local(2026, 10, 8, 10, 0).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("sent", 1)
        assert kinds(reminder_calls(server, 602)) == ["window_open"]
    assert_clean(server)


async def test_a_status_change_cancels_the_reminders_it_makes_obsolete(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        await submit(bot.merchant(603))
        await bot.merchant(OPERATOR).send("/setstatus 603 approved")
        states = {r["kind"]: r["state"] for r in await bot.store.reminders_of(603)}
        assert states == {
            "window_open": "cancelled",
            "overdue": "cancelled",
            "agreement": "pending",
        }
        clock.at = local(2026, 10, 20, 11).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("sent", 1)
        sent = reminder_calls(server, 603)
        assert kinds(sent) == ["agreement"]
    assert_clean(server)


async def test_quiet_hours_hold_a_reminder_until_nine(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        await submit(bot.merchant(604))
    clock.at = local(2026, 10, 8, 22, 30).astimezone(UTC)  # back up at night: due, but quiet
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        assert await bot.scheduler.run_due() == 0
        assert bot.scheduler.stats["held_quiet"] >= 1
        clock.at = local(2026, 10, 9, 8, 59).astimezone(UTC)
        assert await bot.scheduler.run_due() == 0
        clock.at = local(2026, 10, 9, 9, 0).astimezone(UTC)
        assert await bot.scheduler.run_due() == 1
    assert len(reminder_calls(server, 604)) == 1


async def test_quiet_hours_do_not_depend_on_the_process_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert rem.in_quiet_hours(local(2026, 10, 8, 22), SH)
        assert not rem.in_quiet_hours(local(2026, 10, 8, 10), SH)
        assert rem.quiet_end(local(2026, 10, 8, 22), SH) == local(2026, 10, 9, 9)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


async def test_a_blocked_merchant_is_paused_others_are_served_and_a_message_resumes(
    server, tmp_path
):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        blocked, fine = bot.merchant(605), bot.merchant(606)
        await submit(blocked)
        await submit(fine)
        server.block(605, notify=False)  # like a deactivated account: no update, only 403s
        clock.at = local(2026, 10, 8, 10, 1).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("sent", 1)
        await bot.scheduler.wait_for("unreachable", 1)
        assert len(reminder_calls(server, 606)) == 1
        assert await bot.store.is_unreachable(605)
        assert await bot.scheduler.run_due() == 0  # paused: not retried against a wall
        server.unblock(605, notify=False)
        await blocked.send("/start")  # a message from them: reachable again
        await bot.scheduler.wait_for("sent", 2)
        assert not await bot.store.is_unreachable(605)
        assert len(reminder_calls(server, 605)) == 1
    refused = [c for c in server.calls if not c.ok]
    assert {c.error_code for c in refused} == {403}


async def seed_submitted(bot, server, uids, now):
    """Merchants who talked to the bot before and submitted on 2026-09-25 (platform route),
    with their reminders planned."""
    catalog = contents().default.catalog
    for uid in uids:
        server.add_user(uid)
        state = MerchantState(
            uid,
            created=True,
            data={"route": "platform", "status": "submitted", "submitted_on": "2026-09-25"},
        )
        await bot.store.save_merchant(
            state,
            chat_id=uid,
            language="zh-hans",
            now=now,
            plan=rem.plan(state.data, catalog, SH, now),
        )


async def test_many_due_at_once_under_the_flood_limit_without_a_single_429(tmp_path):
    async with BotApiServer(flood_global_per_sec=30, flood_per_chat_per_sec=1) as server:
        clock = FixedClock(local(2026, 9, 28, 9))
        n = 120  # enough to span several seconds of the overall limit (the bench does 5,000)
        async with running_bot(server, tmp_path / "db", clock=clock) as bot:
            await seed_submitted(bot, server, range(10_000, 10_000 + n), clock.now())
            clock.at = local(2026, 9, 30, 10, 0).astimezone(UTC)  # window opens for all
            bot.scheduler.wake()
            await bot.scheduler.wait_for("sent", n, timeout=60)
            assert server.counters["429"] == 0
            per_chat = {}
            for call in reminder_calls(server):
                per_chat[call.chat_id] = per_chat.get(call.chat_id, 0) + 1
            assert len(per_chat) == n and set(per_chat.values()) == {1}


async def test_claims_answered_unevenly_do_not_bunch_the_sends_into_a_429(tmp_path):
    """On PostgreSQL each claim is a round trip on the leader's one session, answered at
    uneven speed under load: the pace must hold for the requests, not only for the claims
    (one run of the replica test had 9 × 429 from exactly this). Without the scheduler's
    `gate` this fails: 31 sends land within 1.007 s."""
    async with BotApiServer(flood_global_per_sec=30, flood_per_chat_per_sec=1) as server:
        clock = FixedClock(local(2026, 9, 28, 9))
        n = 90
        async with running_bot(server, tmp_path / "db", clock=clock) as bot:
            await seed_submitted(bot, server, range(20_000, 20_000 + n), clock.now())
            lease = bot.scheduler.lease
            claim = lease.claim
            answered = 0

            async def slow_then_fast(*args):  # 40 claims answered in 80 ms, then 40 at once
                nonlocal answered
                answered += 1
                if (answered // 40) % 2 == 0:
                    await asyncio.sleep(0.08)
                return await claim(*args)

            lease.claim = slow_then_fast
            clock.at = local(2026, 9, 30, 10, 0).astimezone(UTC)
            bot.scheduler.wake()
            await bot.scheduler.wait_for("sent", n, timeout=60)
            assert server.counters["429"] == 0
            assert len({call.chat_id for call in reminder_calls(server)}) == n


async def test_a_lost_answer_is_never_resent_and_a_429_is_honoured(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        await submit(bot.merchant(607))
        await submit(bot.merchant(608))
        server.drop_answers("sendMessage", 1)
        clock.at = local(2026, 10, 8, 10, 1).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("uncertain", 1)
        await bot.scheduler.wait_for("sent", 1)
        assert await bot.scheduler.run_due() == 0
        # each merchant's reminder reached the server exactly once, lost answer or not
        assert len(reminder_calls(server, 607)) == 1 and len(reminder_calls(server, 608)) == 1


async def test_a_refused_connection_is_retried_and_delivered_once(tmp_path):
    from bot.runtime import Runtime

    async with BotApiServer() as first:
        async with running_bot(
            first, tmp_path / "db", clock=FixedClock(local(2026, 9, 28, 11))
        ) as bot:
            await submit(bot.merchant(609))
        port = first.port
        bot_api = Bot(first.token, base_url=first.base_url)
        await bot_api.initialize()
    # the server is gone: nothing listens on the port any more, connections are refused
    store = await open_store(tmp_path / "db")
    clock = FixedClock(local(2026, 10, 8, 10, 1))  # the window opened a minute ago
    runtime = Runtime(store=store, contents=contents(), clock=clock, timezone=SH)
    scheduler = Scheduler(runtime, bot_api)
    try:
        task = asyncio.create_task(scheduler.run_due())
        await scheduler.wait_for("network_retry", 1)
        second = BotApiServer()
        await second.start(port=port)  # the network is back
        try:
            second.add_user(609)
            assert await task == 1
            assert len(reminder_calls(second, 609)) == 1
            assert scheduler.stats["uncertain"] == 0
        finally:
            await second.stop()
    finally:
        await bot_api.shutdown()
        await store.close()


async def test_operator_learns_when_the_push_could_not_be_delivered(server, tmp_path):
    async with running_bot(
        server,
        tmp_path / "db",
        admin_ids=frozenset({OPERATOR}),
        clock=FixedClock(local(2026, 9, 28, 11)),
    ) as bot:
        await submit(bot.merchant(610))
        server.block(610, notify=False)
        [done] = await bot.merchant(OPERATOR).send("/setstatus 610 rejected 资料不全")
        assert template(done) == "operator_done" and data(done)["delivered"] is False
        assert data(done)["reason"] == "blocked"
        assert (await bot.store.load_merchant(610)).data["status"] == "rejected"
        assert await bot.store.is_unreachable(610)


async def test_mute_and_snooze_from_the_reminder_itself(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(611)
        await submit(m)
        [settings] = await m.send("/reminders")
        assert template(settings) == "reminders"
        assert {"window_open", "overdue"} <= {r["kind"] for r in data(settings)["upcoming"]}
        clock.at = local(2026, 10, 8, 10, 0).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("sent", 1)
        message = server.last_bot_message(611)
        later = callback(message, "rem_later")
        mark = server.mark()
        assert await m.press_data(message.message_id, later) == []  # the reminder stays readable
        # the same reminder comes again tomorrow
        assert notices(server, mark) == [notice("snoozed", day="2026-10-09", time="10:00")]
        assert server.last_bot_message(611).text == message.text
        [after] = await m.send("/reminders")
        clock.at = local(2026, 10, 9, 10, 0).astimezone(UTC)
        bot.scheduler.wake()
        await bot.scheduler.wait_for("sent", 2)
        assert len(reminder_calls(server, 611)) == 2
        [muted] = await press(m, "rem_mute", on=after)
        assert template(muted) == "reminders" and data(muted)["muted"]
        assert all(r["state"] != "pending" for r in await bot.store.reminders_of(611))
        clock.at = local(2026, 10, 14, 10, 0).astimezone(UTC)  # overdue would be due now
        assert await bot.scheduler.run_due() == 0
    assert_clean(server)


async def member_update_handled(server, bot, action) -> None:
    """Do `action` (block/unblock), then wait until the bot handled its my_chat_member update."""
    mark = server.mark()
    action()
    call = await server.wait_for(
        lambda c: c.method == "getUpdates" and any("my_chat_member" in u for u in (c.result or ())),
        since=mark,
    )
    update = next(u for u in call.result if "my_chat_member" in u)
    await bot.tracker.wait(update["update_id"])


async def test_blocking_and_unblocking_the_bot_pauses_and_resumes_reminders(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        await submit(bot.merchant(612))
        await member_update_handled(server, bot, lambda: server.block(612))  # kicked
        assert await bot.store.is_unreachable(612)
        clock.at = local(2026, 10, 8, 10, 1).astimezone(UTC)
        assert await bot.scheduler.run_due() == 0  # paused: not even tried
        assert [c for c in server.calls if c.error_code == 403] == []
        await member_update_handled(server, bot, lambda: server.unblock(612))  # member again
        await bot.scheduler.wait_for("sent", 1)  # resumed without a message from them
        assert len(reminder_calls(server, 612)) == 1
        assert not await bot.store.is_unreachable(612)


async def test_weekly_operation_checks_keep_coming_without_a_word_from_the_merchant(
    server, tmp_path
):
    clock = FixedClock(local(2026, 10, 1, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        await submit(bot.merchant(613), "2026-09-20")
        await bot.merchant(OPERATOR).send("/setstatus 613 joined")  # joined 10-01
        for week in (1, 2, 3):  # 10-08, 10-15, 10-22 at 10:00
            clock.at = local(2026, 10, 1 + 7 * week, 10, 1).astimezone(UTC)
            bot.scheduler.wake()
            await bot.scheduler.wait_for("sent", week)
        assert kinds(reminder_calls(server, 613)).count("operation_check") == 3


async def test_the_scheduler_stops_even_when_a_call_on_its_way_swallows_the_cancellation(
    server, tmp_path
):
    """A library that catches the cancellation of a call and returns (the suite once hung on
    PostgreSQL with the scheduler "cancelling" yet asleep): stop() still ends the loop."""
    async with running_bot(server, tmp_path / "db") as bot:
        entered, never = asyncio.Event(), asyncio.Event()

        async def swallowing_next_due():
            entered.set()
            try:
                await never.wait()
            except asyncio.CancelledError:
                return None  # swallowed, as a careless library would
            return None

        bot.store.next_due = swallowing_next_due
        bot.scheduler.wake()
        await asyncio.wait_for(entered.wait(), 5)
        stopping = asyncio.ensure_future(bot.scheduler.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)
        assert done, "the scheduler did not stop"
        del bot.store.next_due
        await bot.scheduler.start()


async def test_the_scheduler_stops_when_woken_at_the_moment_it_is_stopped(server, tmp_path):
    """A wake-up (a plan changed) in the same instant as stop(): the scheduler must still
    stop. On Python 3.11, asyncio.wait_for swallowed that cancellation and the bot's shutdown
    waited for ever (seen in the suite as a hang in a test's teardown)."""
    async with running_bot(server, tmp_path / "db") as bot:
        for _ in range(20):
            await asyncio.sleep(0.01)  # the scheduler asleep, waiting to be woken
            bot.scheduler.wake()
            stopping = asyncio.ensure_future(bot.scheduler.stop())
            done, _ = await asyncio.wait({stopping}, timeout=5)
            assert done, "the scheduler did not stop"
            await bot.scheduler.start()
