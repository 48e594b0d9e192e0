"""End to end: the second round of back-and-forth paths, found by walking the playground as a
merchant (route switches after a result, snoozes near a deadline, a rejection on /progress,
dates typed the way merchants type them) — the real Application over HTTP."""

from __future__ import annotations

from datetime import UTC

from bot.clock import FixedClock
from tests.harness import running_bot
from tests.test_e2e_back_and_forth import (
    OPERATOR,
    choose_platform,
    local,
    move_to,
    pending,
    reminders_to,
)
from tests.test_e2e_foundation import assert_clean


async def choose(m, label):
    await m.send("/route")
    return await m.press(label)


async def test_switching_route_after_a_result_keeps_it_with_its_route(server, tmp_path):
    clock = FixedClock(local(2026, 11, 27, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(901), bot.merchant(OPERATOR)
        await choose(m, "托管公司")
        await m.send("/submitted")
        await op.send("/setstatus 901 approved")
        assert await pending(bot, 901) == ["agreement/2026-11-27"]
        [switched] = await choose(m, "全托管")
        assert "审核通过" in switched.text and "另外提交" in switched.text
        state = (await bot.store.load_merchant(901)).data
        assert "status" not in state and state["reviews"]["agency"]["status"] == "approved"
        assert await pending(bot, 901) == []  # route A's payment reminder is not route B's
        [progress] = await m.send("/progress")
        assert "⬜ 5. 提交申请" in progress.text
        [back] = await choose(m, "托管公司")
        assert "已恢复" in back.text
        assert (await bot.store.load_merchant(901)).data["status"] == "approved"
        assert await move_to(bot, clock, local(2026, 11, 30, 10)) == 1
        [sent] = reminders_to(server, 901)
        assert "按合同付款" in sent.params["text"] and "保证金" not in sent.params["text"]
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
        later = next(
            b["callback_data"]
            for row in reminder.params["reply_markup"]["inline_keyboard"]
            for b in row
            if "晚一天" in b["text"]
        )
        clock.at = local(2026, 12, 19, 22).astimezone(UTC)
        mark = server.mark()
        await m.press_data(reminder.result["message_id"], later)
        [toast] = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert "12月20日" in toast.params["text"] and "09:00" in toast.params["text"]
        clock.at = local(2026, 12, 20, 9, 30).astimezone(UTC)
        assert await bot.scheduler.run_due() == 1
        [screen] = await m.send("/reminders")
        assert not any("推迟一天" in x for x in screen.labels)  # nothing left to put off
        last = reminders_to(server, 902)[-1]
        again = next(
            b["callback_data"]
            for row in last.params["reply_markup"]["inline_keyboard"]
            for b in row
            if "晚一天" in b["text"]
        )
        mark = server.mark()
        await m.press_data(last.result["message_id"], again)
        [refused] = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert "不能再推迟" in refused.params["text"]
        [status] = await m.send("/status")
        assert "今天" in status.text
        clock.at = local(2026, 12, 21, 11).astimezone(UTC)
        [late] = await m.send("/status")
        assert "已经过了" in late.text and "到期前我会提醒你" not in late.text
    assert_clean(server)


async def test_after_a_rejection_progress_points_to_improving_and_resubmitting(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(903), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send("/setstatus 903 未通过 店铺评分不足")
        [progress] = await m.send("/progress")
        assert "等待审核" not in progress.text.split("👉")[1]
        assert "上次申请未通过" in progress.text and "▶️ 继续：资格自查" in progress.labels
        [start] = await m.send("/start")
        assert "▶️ 继续：资格自查" in start.labels
        [howto] = await m.send("/apply")
        clock.at = local(2026, 12, 4, 11).astimezone(UTC)
        [again] = await m.send("/submitted")
        assert "重新开始" in again.text
        [status] = await m.send("/status")
        assert "店铺评分不足" not in status.text  # the old note belongs to the old round
        assert howto is not None
    assert_clean(server)


async def test_route_a_is_told_to_watch_the_agency_not_the_station_mail(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(904)
        await choose(m, "托管公司")
        [shown] = await m.send("/submitted 11月27日")
        assert "正处在预计出结果的时间段" in shown.text
        [status] = await m.send("/status")
        [faq] = await m.send("审核要多久")
        for text in (shown.text, status.text, faq.text):
            assert "站内信" not in text, text
        assert "托管公司的消息" in shown.text
    assert_clean(server)


async def test_a_date_before_any_route_is_kept_whichever_way_the_route_is_chosen(bot, server):
    m = bot.merchant(905)
    await m.send("/submitted 2026-11-30")
    [recorded] = await choose(m, "全托管")
    assert "已记录提交日期" in recorded.text and "11月30日" in recorded.text
    [status] = await m.send("/status")
    assert "还没有记录提交日期" not in status.text
    assert_clean(server)


async def test_dates_are_read_the_way_merchants_write_them(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(906)
        await choose_platform(m)
        for text, expected in (("12月1日", "12月1日"), ("11-30", "11月30日"), ("昨天", "12月1日")):
            [shown] = await m.send(f"/submitted {text}")
            assert "已记录提交日期" in shown.text and expected in shown.text, text
        [old] = await m.send("/submitted 2020-01-05")
        assert "一年多以前" in old.text
        assert (await bot.store.load_merchant(906)).data["submitted_on"] == "2026-12-01"
    assert_clean(server)


async def test_an_overdue_date_names_the_day_of_its_reminder(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 7, 20))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(907)
        await choose_platform(m)
        [shown] = await m.send("/submitted 2026-11-25")  # window 11-30 … 12-04: overdue 12-07
        assert "12月7日（周一） 上午我会提醒你" in shown.text
    assert_clean(server)


async def test_small_things_after_the_walk(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(908), bot.merchant(OPERATOR)
        # one 继续填写 on /progress while the form is open
        await choose(m, "托管公司")
        await m.send("/apply")
        await m.send("星河店")
        [progress] = await m.send("/progress")
        assert progress.labels.count("▶️ 继续填写") == 1
        # the agency fee date is not shown on route B
        await m.send("/cancel")
        await m.send("/reminders")
        await m.press("付款日")
        await m.send("2026-12-15")
        await choose(m, "全托管")
        [listing] = await m.send("/reminders")
        assert "托管费付款日" not in listing.text
        # a joined route-B merchant is pointed to the warehouse guide
        await m.send("/submitted")
        await op.send("/setstatus 908 joined")
        push = server.last_bot_message(908)
        labels = [b["text"] for row in push.reply_markup["inline_keyboard"] for b in row]
        assert any("备货入仓" in x for x in labels)
        [guide] = await m.press_data(
            push.message_id,
            next(
                b["callback_data"]
                for row in push.reply_markup["inline_keyboard"]
                for b in row
                if "备货入仓" in b["text"]
            ),
        )
        assert "备货" in guide.text
        [thanks] = await m.send("谢谢")
        assert "不客气" in thanks.text and "没看懂" not in thanks.text
    assert_clean(server)


async def test_a_small_file_is_shown_in_bytes_not_as_one_kilobyte(bot, server):
    from tests.test_documents import PDF
    from tests.test_e2e_uploads_fallback import open_platform_checklist

    m = bot.merchant(909)
    await open_platform_checklist(m)
    [which] = await m.send_document(PDF, "执照.pdf", "application/pdf")
    assert f"{len(PDF)} 字节" in which.text and "1 KB" not in which.text
    assert_clean(server)
