"""End to end over HTTP: route choice, the application form, submission, status, progress,
interruptions, a restart mid-form, and the merchant's own data."""

from __future__ import annotations

import json

from tests.contentkit import CONTENT, data, day, has, keys, money, press, template
from tests.harness import running_bot
from tests.test_e2e_foundation import assert_clean

APPLICATION = CONTENT.data["application"]
ROUTES = CONTENT.data["routes"]["routes"]


def form_item(shown) -> tuple[int, int, str]:
    """(item number, items, field key) of an application form question."""
    assert template(shown) == "apply_prompt", shown.text
    return data(shown)["index"], data(shown)["total"], data(shown)["field"]["key"]


def stages(progress) -> list[tuple[str, str]]:
    """(stage, state) of each step on the progress screen."""
    assert template(progress) == "progress", progress.text
    return [(s["key"], s["state"]) for s in data(progress)["stages"]]


async def fill_form(merchant, values=("星河家居", "家居收纳、厨房小工具", "5万", "13800138000")):
    """Type every field of the form; returns the last screens."""
    shown = []
    for value in values:
        shown = await merchant.send(value)
    return shown


async def test_route_b_from_start_to_recorded_submission(bot, server):
    m = bot.merchant()
    await m.send("/start")
    [choice] = await m.send("/apply")
    assert template(choice) == "route_choice"
    assert ROUTES["platform"]["name"] in choice.text and ROUTES["agency"]["name"] in choice.text
    [chosen] = await press(m, "route_platform")
    assert chosen.edited and template(chosen) == "route_set"
    [prompt] = await press(m, "continue_apply")
    assert form_item(prompt) == (1, 4, "shop_name")
    [summary] = await fill_form(m)
    assert template(summary) == "apply_summary"
    assert money(50_000) in summary.text and "13800138000" in summary.text
    [howto] = await press(m, "apply_confirm")
    assert template(howto) == "apply_howto"
    assert all(step in howto.text for step in APPLICATION["submit_steps"]["platform"])
    [recorded] = await press(m, "apply_submitted")
    assert template(recorded) == "submitted" and data(recorded)["window"]
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["status"] == "submitted" and stored.data["submitted_on"]
    history = await bot.store.status_history(m.user_id)
    assert [h["new"] for h in history] == ["submitted"]
    [status] = await m.send("/status")
    assert template(status) == "status" and data(status)["status"] == "submitted"
    assert data(status)["window"]
    [progress] = await m.send("/progress")
    steps = stages(progress)
    assert steps[0] == ("route", "done") and steps[4] == ("submit", "done")
    assert steps[5] == ("review", "doing")
    assert_clean(server)


async def test_route_a_submission_with_an_earlier_date_shows_the_worked_example(bot, server):
    m = bot.merchant(2002)
    await m.send("/start")
    await m.send("/apply")
    await press(m, "route_agency")
    await press(m, "continue_apply")
    await fill_form(m, ("<b>A&B</b> 店", "女装", "¥50,000", "name@example.com"))
    [howto] = await press(m, "apply_confirm")
    assert template(howto) == "apply_howto"
    assert all(step in howto.text for step in APPLICATION["submit_steps"]["agency"])
    [bad] = await m.send("/submitted 2026/13/01")
    assert template(bad) == "submitted_error" and "/submitted 2026-09-28" in bad.text
    [future] = await m.send("/submitted 2999-01-01")
    assert template(future) == "submitted_error" and data(future)["error"] == "future"
    [ok] = await m.send("/submitted 2026-09-28")
    assert template(ok) == "submitted"
    assert day("2026-10-08") in ok.text and day("2026-10-13") in ok.text
    [howto] = await m.send("/apply")
    assert template(howto) == "apply_howto" and day("2026-09-28") in howto.text
    [summary] = await press(m, "apply_summary")
    assert "<b>A&B</b> 店" in summary.text  # shown literally, escaped on the wire
    assert_clean(server)


async def test_bad_input_is_refused_politely_and_loses_nothing(bot, server):
    m = bot.merchant(2003)
    await m.send("/apply")
    await press(m, "route_platform")
    await press(m, "continue_apply")
    await m.send("星河")
    await m.send("家居")
    for bad in ("五块钱", "0", "5万到10万", "9" * 20):
        [reply] = await m.send(bad)
        assert form_item(reply) == (3, 4, "monthly_sales") and data(reply)["error"], bad
    [reply] = await m.send("x" * 4000)
    assert form_item(reply)[2] == "monthly_sales" and data(reply)["error"]
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["application"]["fields"] == {"shop_name": "星河", "scope": "家居"}
    assert_clean(server)


async def test_question_and_command_mid_form_then_resume_at_the_same_field(bot, server):
    m = bot.merchant(2004)
    await m.send("/apply")
    await press(m, "route_platform")
    await press(m, "continue_apply")
    await m.send("星河")
    [answer] = await m.send("审核要多久")
    assert template(answer) == "faq" and data(answer)["topic"] == "review_time"
    assert keys(answer)[0] == "resume"
    [guide] = await m.send("/ship")
    assert template(guide) == "ship_step" and data(guide)["step"] == 1
    assert has(guide, "resume")
    [prompt] = await press(m, "resume", on=guide)
    assert form_item(prompt) == (2, 4, "scope")
    [nxt] = await m.send("家居")
    assert form_item(nxt)[:2] == (3, 4)
    [left] = await m.send("/cancel")
    assert template(left) == "cancelled"
    [back] = await m.send("/apply")
    assert form_item(back)[:2] == (3, 4)
    assert_clean(server)


async def test_restart_in_the_middle_of_the_form(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db) as bot:
        m = bot.merchant(2005)
        await m.send("/apply")
        await press(m, "route_platform")
        await press(m, "continue_apply")
        await m.send("星河")
    async with running_bot(server, db) as bot:
        m = bot.merchant(2005)
        [reply] = await m.send("家居收纳")
        assert form_item(reply)[:2] == (3, 4)
        [welcome] = await m.send("/start")
        assert template(welcome) == "welcome_back" and keys(welcome)[0] == "resume"
        [prompt] = await press(m, "resume", on=welcome)
        assert form_item(prompt)[:2] == (3, 4)
        stored = await bot.store.load_merchant(2005)
        assert stored.data["application"]["fields"]["scope"] == "家居收纳"
    assert_clean(server)


async def test_mydata_export_and_deletedata(bot, server):
    m = bot.merchant(2006)
    await m.send("/apply")
    await press(m, "route_platform")
    await press(m, "continue_apply")
    await fill_form(m)
    await press(m, "apply_confirm")
    await press(m, "apply_submitted")
    shown = await m.send("/mydata")
    readable = shown[0]
    assert template(readable) == "mydata"
    assert "星河家居" in readable.text and ROUTES["platform"]["name"] in readable.text
    [doc] = [s for s in shown if s.document]
    sent = [c for c in server.calls if c.method == "sendDocument"][-1]
    message = server.last_bot_message(m.user_id)
    export = json.loads(bytes(message.document["content"]).decode("utf-8"))
    assert export["merchant"]["state"]["application"]["fields"]["shop_name"] == "星河家居"
    assert export["status_history"][0]["new"] == "submitted"
    assert sent.ok and doc.document.endswith(".json")
    [confirm] = await m.send("/deletedata")
    assert template(confirm) == "delete_confirm" and has(confirm, "delete_confirm")
    assert await bot.store.export_merchant(m.user_id) is not None
    [gone] = await press(m, "delete_confirm")
    assert template(gone) == "deleted"
    assert await bot.store.export_merchant(m.user_id) is None
    assert await bot.store.status_history(m.user_id) == []
    [again] = await m.send("/start")
    assert template(again) == "welcome"
    assert_clean(server)
