"""End to end: a merchant who goes back and forth (mute and unmute, corrects a date, is rejected
and resubmits, asks for a snooze at night, types a shop name that sounds like a question) still
gets every reminder once and on time, in their own route's words — the real Application and
scheduler over HTTP against the local Bot API server, the bot's clock moved instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import yaml

from bot.clock import FixedClock
from bot.content import CONTENT_ROOT, by_route
from tests.contentkit import (
    CONTENT,
    callback,
    data,
    day,
    has,
    keys,
    label,
    notice,
    notices,
    press,
    rendered,
    template,
)
from tests.harness import running_bot
from tests.test_cli import run_cli
from tests.test_e2e_foundation import assert_clean
from tests.test_e2e_reminders import reminder_calls

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900
STATUSES = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "statuses.yaml").read_text("utf-8"))
REMINDERS = STATUSES["reminders"]
STAGES = CONTENT.data["ui"]["stages"]
STEPS = STATUSES["statuses"]["approved"]["steps"]


def local(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def reminders_to(server, chat_id):
    """The reminders (⏰ title, not the /reminders settings screen) sent to one chat."""
    return reminder_calls(server, chat_id)


def reminder_of(call) -> tuple[str, dict]:
    """(kind, facts) of a reminder the bot sent."""
    assert template(call) == "reminder", call.params["text"]
    return data(call)["kind"], data(call)["data"]


def form_item(shown) -> tuple[int, int]:
    """(item number, items) of an application form question."""
    assert template(shown) == "apply_prompt", shown.text
    return data(shown)["index"], data(shown)["total"]


async def move_to(bot, clock, moment: datetime) -> int:
    """Move the bot's clock and run one scheduler pass; how many reminders went out."""
    clock.at = moment.astimezone(UTC)
    return await bot.scheduler.run_due()


async def choose_platform(m):
    await m.send("/route")
    await press(m, "route_platform")


async def pending(bot, user_id):
    return sorted(
        r["key"] for r in await bot.store.reminders_of(user_id) if r["state"] == "pending"
    )


# --- reminders that can be trusted whatever the history -------------------------------------


async def test_mute_then_unmute_brings_the_reminders_back(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 8, 30))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(701)
        await choose_platform(m)
        await m.send("/submitted")  # Wed 12-02: window 12-07 … 12-11
        await m.send("/reminders")
        await press(m, "rem_mute")
        assert await pending(bot, 701) == []
        [back] = await press(m, "rem_unmute")
        assert template(back) == "reminders" and not data(back)["muted"]
        assert day("2026-12-07") in back.text
        assert await pending(bot, 701) == ["overdue/2026-12-02", "window_open/2026-12-02"]
        assert await move_to(bot, clock, local(2026, 12, 7, 13, 30)) == 1
        [sent] = reminders_to(server, 701)
        assert reminder_of(sent)[0] == "window_open"
    assert_clean(server)


async def test_correcting_the_date_and_back_keeps_one_reminder_per_moment(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(702)
        await choose_platform(m)
        await m.send("/submitted")
        [moved] = await m.send("/submitted 2026-11-30")
        assert template(moved) == "submitted" and data(moved)["previous"] == "2026-12-02"
        assert day("2026-12-02") in moved.text
        assert await pending(bot, 702) == ["overdue/2026-11-30", "window_open/2026-11-30"]
        await m.send("/submitted")
        assert await pending(bot, 702) == ["overdue/2026-12-02", "window_open/2026-12-02"]
        assert await move_to(bot, clock, local(2026, 12, 7, 10)) == 1
        assert await move_to(bot, clock, local(2026, 12, 7, 18)) == 0  # never twice
        assert await move_to(bot, clock, local(2026, 12, 14, 10)) == 1  # overdue: 12-11 + 1
        assert len(reminders_to(server, 702)) == 2
    assert_clean(server)


async def test_rejected_then_resubmitted_starts_a_new_review_cycle(server, tmp_path):
    clock = FixedClock(local(2026, 11, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(703), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send("/setstatus 703 rejected 店铺评分不够")
        [status] = await m.send("/status")
        assert template(status) == "status" and data(status)["status"] == "rejected"
        assert STATUSES["statuses"]["rejected"]["name"] in status.text
        assert "店铺评分不够" in status.text
        [none] = await m.send("/reminders")
        assert template(none) == "reminders" and data(none)["status"] == "rejected"
        assert not data(none)["upcoming"] and not data(none)["muted"]
        clock.at = local(2026, 11, 20, 11).astimezone(UTC)
        [again] = await m.send("/submitted")
        assert template(again) == "submitted" and data(again)["restarted_from"] == "rejected"
        assert STATUSES["statuses"]["rejected"]["name"] in again.text
        assert "window_open" in data(again)["upcoming"] and not data(again)["muted"]
        state = (await bot.store.load_merchant(703)).data
        assert state["status"] == "submitted" and state["cycle"] == 2
        [progress] = await m.send("/progress")
        assert template(progress) == "progress"
        assert [(s["key"], s["state"]) for s in data(progress)["stages"]][5] == ("review", "doing")
        [listing] = await m.send("/reminders")
        assert day("2026-11-25") in listing.text  # Fri 11-20: 3rd working day is Wed 11-25
        history = [(h["old"], h["new"]) for h in await bot.store.status_history(703)]
        assert history == [
            (None, "submitted"),
            ("submitted", "rejected"),
            ("rejected", "submitted"),
        ]
        assert await move_to(bot, clock, local(2026, 11, 25, 10)) == 1
        assert reminder_of(reminders_to(server, 703)[-1])[0] == "window_open"
    assert_clean(server)


async def test_need_more_shows_the_note_and_deadline_and_resubmission_restarts(server, tmp_path):
    clock = FixedClock(local(2026, 11, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(704), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        server.block(704, notify=False)  # the push fails: /status must still tell everything
        [done] = await op.send("/setstatus 704 need_more 请于 2026-11-10 前补充品牌授权书")
        assert template(done) == "operator_done" and data(done)["delivered"] is False
        server.unblock(704, notify=False)
        [status] = await m.send("/status")
        assert template(status) == "status" and data(status)["deadline"] == "2026-11-10"
        assert "品牌授权书" in status.text and day("2026-11-10") in status.text
        assert not data(status)["window"]  # the window waits while materials are missing
        assert await pending(bot, 704) == ["need_more_deadline/2026-11-10"]
        assert await move_to(bot, clock, local(2026, 11, 9, 10)) == 1
        [deadline] = reminders_to(server, 704)
        kind, facts = reminder_of(deadline)
        assert kind == "need_more_deadline" and "first" not in facts and "last" not in facts
        [again] = await m.send("/submitted")
        assert template(again) == "submitted" and data(again)["restarted_from"] == "need_more"
        assert STATUSES["statuses"]["need_more"]["name"] in again.text
        state = (await bot.store.load_merchant(704)).data
        assert state["status"] == "submitted" and "need_more" not in state
        assert await pending(bot, 704) == ["overdue/2026-11-09#2", "window_open/2026-11-09#2"]
    refused = [(c.chat_id, c.error_code) for c in server.calls if not c.ok]
    assert refused == [(704, 403)]  # only the push to the blocked chat
    assert server.pending_callback_queries() == []


async def test_a_reminder_delivered_late_is_worded_for_the_day_it_arrives(server, tmp_path):
    db = tmp_path / "db"
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, db, clock=clock) as bot:
        m = bot.merchant(705)
        await choose_platform(m)
        await m.send("/submitted")
    clock.at = local(2026, 12, 9, 11).astimezone(UTC)  # down from 12-02 to 12-09
    async with running_bot(server, db, clock=clock) as bot:
        await bot.scheduler.wait_for("sent", 1)
        [late] = reminders_to(server, 705)
        kind, facts = reminder_of(late)
        assert kind == "window_open" and facts["first"] == "2026-12-07"
        assert facts["today"] == "2026-12-09"  # worded as already begun, from 12-07
        assert day("2026-12-07") in late.params["text"]
    assert_clean(server)


async def test_snooze_at_night_goes_to_the_next_morning_and_keeps_the_reminder(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(706)
        await choose_platform(m)
        await m.send("/submitted")
        assert await move_to(bot, clock, local(2026, 12, 7, 10)) == 1
        [reminder] = reminders_to(server, 706)
        clock.at = local(2026, 12, 7, 22, 15).astimezone(UTC)  # read it late in the evening
        later = callback(reminder, "rem_later")
        mark = server.mark()
        assert await m.press_data(reminder.result["message_id"], later) == []
        # 22:15 + one day is in the quiet hours: that morning instead, 10:00 on 12-08
        # (never a whole day skipped)
        assert notices(server, mark) == [notice("snoozed", day="2026-12-08", time="10:00")]
        assert not [c for c in server.calls[mark:] if c.method == "editMessageText"]
        [listing] = await m.send("/reminders")
        assert template(listing) == "reminders"
        [upcoming] = [r for r in data(listing)["upcoming"] if r["kind"] == "window_open"]
        assert upcoming["due"].startswith("2026-12-08T10:00")
        assert f"{day('2026-12-08')} 10:00" in listing.text
        assert await move_to(bot, clock, local(2026, 12, 8, 9, 59)) == 0
        assert await move_to(bot, clock, local(2026, 12, 8, 10, 0)) == 1
        kind, facts = reminder_of(reminders_to(server, 706)[-1])
        assert kind == "window_open" and facts["snoozed"]
        assert facts["first"] == "2026-12-07" and facts["today"] == "2026-12-08"
    assert_clean(server)


async def test_an_operator_push_at_night_arrives_silently(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 22, 30))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(707), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        mark = server.mark()
        await op.send("/setstatus 707 reviewing")
        [night] = [c for c in server.calls[mark:] if c.method == "sendMessage" and c.chat_id == 707]
        assert night.params.get("disable_notification") is True
        clock.at = local(2026, 12, 3, 10).astimezone(UTC)
        mark = server.mark()
        await op.send("/setstatus 707 approved")
        [day] = [c for c in server.calls[mark:] if c.method == "sendMessage" and c.chat_id == 707]
        assert not day.params.get("disable_notification")
    assert_clean(server)


# --- each route hears its own next steps -----------------------------------------------------


def route_only(route: str, value: object = STATUSES) -> set[str]:
    """The lines content writes for one route only: a per-route value ({agency: …, platform: …})
    whose `route` lines the other route's do not have."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "agency" in value and "platform" in value:
            other = value["platform" if route == "agency" else "agency"]
            others = other if isinstance(other, list) else [other]
            own = value[route] if isinstance(value[route], list) else [value[route]]
            found |= {x for x in own if isinstance(x, str) and x not in others}
        for v in value.values():
            found |= route_only(route, v)
    elif isinstance(value, list):
        for v in value:
            found |= route_only(route, v)
    return found


def routes_in(value: object) -> list[object]:
    """Every `route` a screen's data names (the route whose words the template chose)."""
    if isinstance(value, dict):
        own = [value["route"]] if "route" in value else []
        return own + [r for v in value.values() for r in routes_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in routes_in(v)]
    return []


# What only one route's merchants may read: per-route lines of the statuses, the FAQ answers
# and the application's steps.
WORDED = [STATUSES, CONTENT.data["faq"], CONTENT.data["application"]]
PLATFORM_ONLY = route_only("platform", WORDED)
AGENCY_ONLY = route_only("agency", WORDED)


async def test_route_a_never_hears_the_platform_s_steps(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(708), bot.merchant(OPERATOR)
        await m.send("/route")
        await press(m, "route_agency")
        shown = [await m.send("/submitted"), await m.send("/status")]
        assert await move_to(bot, clock, local(2026, 12, 7, 10)) == 1
        assert await move_to(bot, clock, local(2026, 12, 14, 10)) == 1
        await op.send("/setstatus 708 approved")
        push = server.last_bot_message(708)
        assert template(push) == "status_push" and data(push)["status"] == "approved"
        assert all(step in push.text for step in STEPS["agency"])
        shown.append(await m.send("/status"))
        assert await move_to(bot, clock, local(2026, 12, 16, 10)) == 1
        sent = [*reminders_to(server, 708), push, *(s for batch in shown for s in batch)]
        for message in sent:
            assert set(routes_in(data(message))) == {"agency"}, data(message)
            text = message.params["text"] if hasattr(message, "params") else message.text
            for line in PLATFORM_ONLY:
                assert line not in text, (line, text)
        last = reminders_to(server, 708)[-1]
        assert reminder_of(last)[0] == "agreement"
        assert REMINDERS["agreement"]["title"]["agency"] in last.params["text"]
        assert REMINDERS["agreement"]["body"]["agency"] in last.params["text"]
    assert_clean(server)


async def test_route_b_approval_lists_email_agreement_deposit_and_logistics_rules(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(709), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send(f"/setstatus 709 {STATUSES['statuses']['approved']['aliases'][0]}")
        push = server.last_bot_message(709)
        assert template(push) == "status_push" and data(push)["status"] == "approved"
        assert data(push)["route"] == "platform"
        for step in STEPS["platform"]:
            assert step in push.text, step
        for line in AGENCY_ONLY:
            assert line not in push.text, line
    assert_clean(server)


async def test_route_b_menu_and_next_step_say_self_check(bot, server):
    m = bot.merchant(710)
    await choose_platform(m)
    [menu] = await m.send("/menu")
    assert has(menu, "menu_agency_platform") and not has(menu, "menu_agency")
    assert label("menu_agency_platform") in menu.labels
    [progress] = await m.send("/progress")
    assert template(progress) == "progress" and data(progress)["next"] == "qualify"
    assert STAGES["qualify"]["platform"] in progress.text
    assert has(progress, "go_qualify_platform")
    [start] = await m.send("/start")
    assert has(start, "go_qualify_platform")
    assert_clean(server)


async def test_the_next_step_line_and_its_button_name_the_same_thing(bot, server):
    m = bot.merchant(711)
    await m.send("/route")
    await press(m, "route_agency")
    [progress] = await m.send("/progress")
    assert data(progress)["next"] == "qualify" and data(progress)["route"] == "agency"
    name = STAGES["qualify"]["agency"]
    assert name in progress.text and name in label("go_qualify_agency")
    assert has(progress, "go_qualify_agency") and label("go_qualify_agency") in progress.labels
    assert_clean(server)


# --- what a merchant types into a form is kept ------------------------------------------------


async def test_a_shop_name_that_sounds_like_a_question_is_saved(bot, server):
    m = bot.merchant(712)
    await choose_platform(m)
    await m.send("/apply")
    [next_field] = await m.send("快发货家居店")
    assert form_item(next_field) == (2, 4)
    state = (await bot.store.load_merchant(712)).data
    assert state["application"]["fields"]["shop_name"] == "快发货家居店"
    # the one-tap way to ask instead, and back to the same field
    [guide] = await press(m, "ask_instead")
    assert template(guide) == "ship_step"
    [prompt] = await press(m, "resume")
    assert form_item(prompt) == (2, 4)
    [scope] = await m.send("诚信可靠五金店")
    assert form_item(scope) == (3, 4)
    # a clear question still leaves the field, which stays open
    [answer] = await m.send("怎么发货？")
    assert template(answer) == "ship_step" and has(answer, "resume")
    assert_clean(server)


async def test_a_date_sent_before_the_route_is_kept(bot, server):
    m = bot.merchant(713)
    [choice] = await m.send("/submitted 2026-11-30")
    assert template(choice) == "route_choice" and has(choice, "route_platform")
    [recorded] = await press(m, "route_platform")
    assert template(recorded) == "submitted" and day("2026-11-30") in recorded.text
    assert (await bot.store.load_merchant(713)).data["submitted_on"] == "2026-11-30"
    assert_clean(server)


async def test_a_past_date_whose_window_has_passed_says_so_once_and_promises_nothing(
    server, tmp_path
):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(714)
        await choose_platform(m)
        [shown] = await m.send("/submitted 2026-10-09")
        assert template(shown) == "submitted" and data(shown)["window"]["phase"] == "overdue"
        assert not data(shown)["upcoming"]  # no reminder promised
        lines = [x for x in shown.text.splitlines() if x.strip()]
        assert len(lines) == len(set(lines))  # each thing said once
        assert await pending(bot, 714) == []
        assert await move_to(bot, clock, local(2026, 12, 3, 10)) == 0
    assert_clean(server)


# --- smaller things ---------------------------------------------------------------------------


async def test_first_start_after_help_or_hello_or_deletion_is_a_welcome(bot, server):
    m = bot.merchant(715)
    await m.send("/help")
    [first] = await m.send("/start")
    assert template(first) == "welcome"
    await m.send("你好")
    [again] = await m.send("/start")
    assert template(again) == "welcome"
    await choose_platform(m)
    [back] = await m.send("/start")
    assert template(back) == "welcome_back"
    await m.send("/deletedata")
    await press(m, "delete_confirm")
    await m.send("/help")
    [after] = await m.send("/start")
    assert template(after) == "welcome"
    assert_clean(server)


# --- the playground ---------------------------------------------------------------------------


def test_playground_advance_delivers_in_order_and_keeps_the_clock_and_reaches_saved_merchants(
    tmp_path,
):
    data = str(tmp_path / "pg")
    platform = "#" + label("route_platform")
    first = run_cli(
        "chat", "--data", data, stdin=f"/start\n/route\n{platform}\n/submitted\n:advance 15d\n"
    )
    assert first.returncode == 0, first.stderr
    out = first.stdout
    opened = out.index(by_route(REMINDERS["window_open"]["title"], "platform") + "\n")
    overdue = out.index(by_route(REMINDERS["overdue"]["title"], "platform") + "\n")
    assert opened < overdue  # both arrive, each at its own time, in order
    stamps = [line for line in out.splitlines() if line.startswith("(bot time ")]
    assert len(stamps) == 2 and stamps[0] < stamps[1] and stamps[0].endswith("10:00)")
    # a second session with the same data: the clock stays moved, and the operator's push
    # reaches the merchant who has not typed since
    second = run_cli(
        "chat", "--data", data, stdin=":as 999\n/setstatus 10001 approved\n/reminders\n"
    )
    assert second.returncode == 0, second.stderr
    done = rendered("operator_done", target=10001, status="approved", note="", delivered=True)
    assert done in second.stdout and "（发给 10001 的消息）" in second.stdout
    moved = next(x for x in first.stdout.splitlines() if x.startswith("(clock moved"))
    assert "bot time is now" in moved
    # nothing of before is sent again
    assert by_route(REMINDERS["window_open"]["title"], "platform") not in second.stdout


async def test_a_file_sent_after_leaving_the_item_screen_is_asked_about(bot, server):
    from tests.test_documents import PDF
    from tests.test_e2e_uploads_fallback import open_platform_checklist

    m = bot.merchant(716)
    checklist = await open_platform_checklist(m)
    [item] = await press(m, "dc_item_todo", "license", on=checklist)
    assert template(item) == "docs_item" and data(item)["item"]["key"] == "license"
    await m.send("/ship")  # somewhere else: the item's screen is gone
    [which] = await m.send_document(PDF, "执照.pdf", "application/pdf")
    assert template(which) == "docs_which"
    assert_clean(server)


async def test_after_submitting_the_next_step_is_the_result_in_the_route_s_words(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(717), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")  # straight to submission, preparation skipped
        [progress] = await m.send("/progress")
        assert data(progress)["next"] == "review" and STAGES["review"] in progress.text
        assert has(progress, "go_review")
        await op.send("/setstatus 717 rejected")
        push = server.last_bot_message(717)
        assert template(push) == "status_push" and data(push)["status"] == "rejected"
        assert "menu_agency_platform" in keys(push) and "menu_agency" not in keys(push)
    assert_clean(server)
