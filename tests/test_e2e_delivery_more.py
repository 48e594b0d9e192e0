"""End to end: the second round of delivery edges, found by reviewing the exactly-once design —
a database that refuses one insert, a gateway timeout, kept replies through an outage at start,
the weekly check after a refused one, company names with question words, a double-tapped
snooze, a playground started again on the same data."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from bot import inbox, presenter
from bot.clock import FixedClock
from bot.runtime import Runtime
from devserver.server import BotApiServer
from flows import router
from flows.core import Context, MerchantState, Press
from tests.contentkit import data, label, press, rendered, template
from tests.harness import contents, open_store, running_bot
from tests.test_cli import run_cli
from tests.test_e2e_back_and_forth import (
    OPERATOR,
    SH,
    choose_platform,
    local,
    move_to,
    reminders_to,
)
from tests.test_e2e_foundation import assert_clean


async def test_an_update_the_database_could_not_record_is_fetched_again(bot, server, monkeypatch):
    real = bot.store.receive_update
    failures = []

    async def locked_once(*args, **kwargs):
        if not failures:
            failures.append(args[0])
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(bot.store, "receive_update", locked_once)
    m = bot.merchant(951)
    [answer] = await m.send("/start")  # refused once, fetched again, answered
    assert template(answer) == "welcome" and failures
    [menu] = await m.send("/menu")  # polling goes on
    assert menu.labels
    assert_clean(server)


async def test_a_gateway_timeout_is_not_resent_blindly(bot, server):
    m = bot.merchant(952)
    await m.send("/start")
    server.fail("sendMessage", status=504, description="Gateway Timeout", times=1)
    since = server.mark()
    update = server.user_sends_text(952, "怎么发货")
    await bot.tracker.wait(update["update_id"])
    tries = [c for c in server.calls[since:] if c.method == "sendMessage"]
    assert len(tries) == 1 and not tries[0].ok  # maybe it went out: not sent a second time
    row = await bot.store.db.execute_fetchall(
        "SELECT state FROM updates WHERE update_id = ?", (update["update_id"],)
    )
    assert [r[0] for r in row] == ["failed"]


async def test_kept_replies_wait_through_an_outage_at_start(tmp_path, monkeypatch):
    monkeypatch.setattr(presenter, "REPLY_RETRY_SECONDS", 0.5)
    store = await open_store(tmp_path / "db")
    now = datetime(2026, 12, 2, 3, tzinfo=UTC)
    await store.receive_update(7, 953, "{}", now)
    kept = presenter.Rendered(953, "补发的回复", None).kept()
    async with store.transaction() as db:
        from bot.updatelog import mark_applied

        await mark_applied(db, 7, [kept])
    runtime = Runtime(store=store, contents=contents(), clock=FixedClock(now), timezone=SH)
    async with BotApiServer() as server:
        server.add_user(953)
        from telegram import Bot

        async with Bot(server.token, base_url=server.base_url) as bot:
            queue = inbox.DurableQueue(store, runtime.clock)
            server.fail("sendMessage", status=502)  # the Bot API is away at start
            assert await inbox.recover(bot, runtime, queue, runtime.clock) == (0, 0)
            [(state, replies)] = await store.db.execute_fetchall(
                "SELECT state, replies FROM updates WHERE update_id = 7"
            )
            assert state == "applied" and json.loads(replies) == [kept]  # kept for later
            server.heal("sendMessage")  # back
            assert await inbox.recover(bot, runtime, queue, runtime.clock) == (0, 1)
            assert server.last_bot_message(953).text == "补发的回复"
    await store.close()


async def test_the_weekly_check_goes_on_after_one_that_was_refused(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(954), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send("/setstatus 954 joined")
        server.fail("sendMessage", status=400, description="Bad Request: refused", times=1)
        assert await move_to(bot, clock, local(2026, 12, 9, 10)) == 0  # refused for good
        keys = {r["key"]: r["state"] for r in await bot.store.reminders_of(954)}
        assert keys["operation_check/2026-12-09"] == "failed"
        assert keys["operation_check/2026-12-16"] == "pending"  # the next one is planned
        assert await move_to(bot, clock, local(2026, 12, 16, 10)) == 1
        assert data(reminders_to(server, 954)[-1])["kind"] == "operation_check"
    refused = [c.description for c in server.calls if not c.ok]
    assert refused == ["Bad Request: refused"]


async def test_a_company_name_with_a_question_word_is_saved(bot, server):
    m = bot.merchant(955)
    await m.send("/route")
    await press(m, "route_agency")
    await m.send("/agency")
    await press(m, "ag_add")
    [saved] = await m.send("哪吒保底代运营")
    assert template(saved) == "agency_question"  # saved as the name, not taken as a question
    names = [c["name"] for c in (await bot.store.load_merchant(955)).data["agency"]["candidates"]]
    assert names == ["哪吒保底代运营"]
    assert_clean(server)


def test_a_double_tapped_snooze_moves_the_reminder_once():
    ctx = Context(contents().default.catalog, local(2026, 12, 7, 10, 5))
    state = MerchantState(
        956,
        created=False,
        data={"route": "platform", "status": "submitted", "submitted_on": "2026-12-02"},
    )
    once = router.handle(state, Press("rsz", ("window_open/2026-12-02", "m")), ctx)
    twice = router.handle(once.state, Press("rsz", ("window_open/2026-12-02", "m")), ctx)
    first = once.state.data["reminders"]["snoozed"]
    assert first == twice.state.data["reminders"]["snoozed"]
    assert first == {"window_open/2026-12-02": "2026-12-08T10:05+08:00"}


def test_the_playground_started_again_on_its_data_answers(tmp_path):
    data = str(tmp_path / "pg")
    platform = "#" + label("route_platform")
    first = run_cli("chat", "--data", data, stdin=f"/start\n/route\n{platform}\n")
    assert first.returncode == 0, first.stderr
    again = run_cli("chat", "--data", data, stdin="/start\n")
    assert again.returncode == 0, again.stderr
    assert rendered("welcome_back") in again.stdout  # from another process: its text
