"""End to end: the second round of back-and-forth paths, found by walking the playground as a
merchant (route switches after a result, snoozes near a deadline, a rejection on /progress,
dates typed the way merchants type them) — the real Application over HTTP."""

from __future__ import annotations

from datetime import UTC

from bot.clock import FixedClock
from tests.contentkit import callback, data, day, has, keys, notice, notices, press, template
from tests.harness import running_bot
from tests.test_e2e_back_and_forth import (
    OPERATOR,
    PLATFORM_ONLY,
    REMINDERS,
    STATUSES,
    choose_platform,
    local,
    move_to,
    pending,
    reminder_of,
    reminders_to,
    routes_in,
)
from tests.test_e2e_foundation import assert_clean
from tests.test_e2e_journey import stages


async def choose(m, route):
    await m.send("/route")
    return await press(m, f"route_{route}")


async def test_switching_route_after_a_result_keeps_it_with_its_route(server, tmp_path):
    clock = FixedClock(local(2026, 11, 27, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(901), bot.merchant(OPERATOR)
        await choose(m, "agency")
        await m.send("/submitted")
        await op.send("/setstatus 901 approved")
        assert await pending(bot, 901) == ["agreement/2026-11-27"]
        [switched] = await choose(m, "platform")
        assert template(switched) == "route_set" and data(switched)["parked"] == "approved"
        assert STATUSES["statuses"]["approved"]["name"] in switched.text
        state = (await bot.store.load_merchant(901)).data
        assert "status" not in state and state["reviews"]["agency"]["status"] == "approved"
        assert await pending(bot, 901) == []  # route A's payment reminder is not route B's
        [progress] = await m.send("/progress")
        assert stages(progress)[4] == ("submit", "todo")
        [back] = await choose(m, "agency")
        assert template(back) == "route_set" and data(back)["restored"] == "approved"
        assert (await bot.store.load_merchant(901)).data["status"] == "approved"
        assert await move_to(bot, clock, local(2026, 11, 30, 10)) == 1
        [sent] = reminders_to(server, 901)
        assert reminder_of(sent)[0] == "agreement"
        assert REMINDERS["agreement"]["body"]["agency"] in sent.params["text"]
        assert REMINDERS["agreement"]["body"]["platform"] not in sent.params["text"]
    assert_clean(server)


async def test_a_deadline_reminder_is_never_snoozed_past_the_deadline(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(902), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send("/setstatus 902 need_more 请于 2026-12-20 前补充品牌授权书")
        assert await move_to(bot, clock, local(2026, 12, 19, 10)) == 1
        [reminder] = reminders_to(server, 902)
        later = callback(reminder, "rem_later")
        clock.at = local(2026, 12, 19, 22).astimezone(UTC)
        mark = server.mark()
        await m.press_data(reminder.result["message_id"], later)
        assert notices(server, mark) == [notice("snoozed", day="2026-12-20", time="09:00")]
        clock.at = local(2026, 12, 20, 9, 30).astimezone(UTC)
        assert await bot.scheduler.run_due() == 1
        [screen] = await m.send("/reminders")
        assert not has(screen, "rem_snooze")  # nothing left to put off
        last = reminders_to(server, 902)[-1]
        again = callback(last, "rem_later")
        mark = server.mark()
        await m.press_data(last.result["message_id"], again)
        assert notices(server, mark) == [notice("snooze_too_late")]
        [status] = await m.send("/status")
        assert template(status) == "status" and data(status)["deadline"] == "2026-12-20"
        assert data(status)["today"] == "2026-12-20"  # the deadline is today
        clock.at = local(2026, 12, 21, 11).astimezone(UTC)
        [late] = await m.send("/status")
        assert data(late)["deadline"] < data(late)["today"]  # passed: no reminder promised
    assert_clean(server)


async def test_after_a_rejection_progress_points_to_improving_and_resubmitting(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(903), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        rejected = STATUSES["statuses"]["rejected"]["name"]  # as an operator types it
        await op.send(f"/setstatus 903 {rejected} 店铺评分不足")
        [progress] = await m.send("/progress")
        assert template(progress) == "progress" and data(progress)["status"] == "rejected"
        assert data(progress)["next"] == "qualify"  # improving first, not waiting for review
        assert has(progress, "go_qualify_platform")
        [start] = await m.send("/start")
        assert has(start, "go_qualify_platform")
        [howto] = await m.send("/apply")
        clock.at = local(2026, 12, 4, 11).astimezone(UTC)
        [again] = await m.send("/submitted")
        assert template(again) == "submitted" and data(again)["restarted_from"] == "rejected"
        [status] = await m.send("/status")
        assert "店铺评分不足" not in status.text  # the old note belongs to the old round
        assert howto is not None
    assert_clean(server)


async def test_route_a_is_told_to_watch_the_agency_not_the_station_mail(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(904)
        await choose(m, "agency")
        [shown] = await m.send("/submitted 11月27日")
        assert template(shown) == "submitted" and data(shown)["window"]["phase"] == "open"
        [status] = await m.send("/status")
        [faq] = await m.send("审核要多久")
        assert template(faq) == "faq"
        for message in (shown, status, faq):
            assert set(routes_in(data(message))) == {"agency"}, data(message)
            for line in PLATFORM_ONLY:
                assert line not in message.text, (line, message.text)
    assert_clean(server)


async def test_a_date_before_any_route_is_kept_whichever_way_the_route_is_chosen(bot, server):
    m = bot.merchant(905)
    await m.send("/submitted 2026-11-30")
    [recorded] = await choose(m, "platform")
    assert template(recorded) == "submitted" and day("2026-11-30") in recorded.text
    [status] = await m.send("/status")
    assert data(status)["submitted_on"] == "2026-11-30"
    assert_clean(server)


async def test_dates_are_read_the_way_merchants_write_them(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(906)
        await choose_platform(m)
        for text, expected in (
            ("12月1日", "2026-12-01"),
            ("11-30", "2026-11-30"),
            ("昨天", "2026-12-01"),
        ):
            [shown] = await m.send(f"/submitted {text}")
            assert template(shown) == "submitted", text
            assert data(shown)["window"]["submitted"] == expected, text
            assert day(expected) in shown.text, text
        [old] = await m.send("/submitted 2020-01-05")
        assert template(old) == "submitted_error" and data(old)["error"] == "too_old"
        assert (await bot.store.load_merchant(906)).data["submitted_on"] == "2026-12-01"
    assert_clean(server)


async def test_an_overdue_date_names_the_day_of_its_reminder(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 7, 20))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(907)
        await choose_platform(m)
        [shown] = await m.send("/submitted 2026-11-25")  # window 11-30 … 12-04: overdue 12-07
        assert template(shown) == "submitted"
        assert str(data(shown)["upcoming"]["overdue"]).startswith("2026-12-07")
        assert day("2026-12-07") in shown.text
    assert_clean(server)


async def test_small_things_after_the_walk(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(908), bot.merchant(OPERATOR)
        # one 继续填写 on /progress while the form is open
        await choose(m, "agency")
        await m.send("/apply")
        await m.send("星河店")
        [progress] = await m.send("/progress")
        assert keys(progress).count("resume") == 1
        # the agency fee date is not shown on route B
        await m.send("/cancel")
        await m.send("/reminders")
        await press(m, "rem_fee")
        await m.send("2026-12-15")
        await choose(m, "platform")
        [listing] = await m.send("/reminders")
        assert template(listing) == "reminders" and day("2026-12-15") not in listing.text
        # a joined route-B merchant is pointed to the warehouse guide
        await m.send("/submitted")
        await op.send("/setstatus 908 joined")
        push = server.last_bot_message(908)
        assert has(push, "warehouse_guide")
        [guide] = await press(m, "warehouse_guide", on=push)
        assert template(guide) == "ship_step" and data(guide)["guide"] == "warehouse"
        [thanks] = await m.send("谢谢")
        assert template(thanks) == "faq" and data(thanks)["topic"] == "thanks"
    assert_clean(server)


async def test_a_small_file_is_shown_in_bytes_not_as_one_kilobyte(bot, server):
    from tests.test_documents import PDF
    from tests.test_e2e_uploads_fallback import open_platform_checklist

    m = bot.merchant(909)
    await open_platform_checklist(m)
    [which] = await m.send_document(PDF, "执照.pdf", "application/pdf")
    assert template(which) == "docs_which" and data(which)["size"] == len(PDF) < 1024
    assert str(len(PDF)) in which.text and "1 KB" not in which.text
    assert_clean(server)
