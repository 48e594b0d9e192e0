"""End to end: a merchant who goes back and forth (mute and unmute, corrects a date, is rejected
and resubmits, asks for a snooze at night, types a shop name that sounds like a question) still
gets every reminder once and on time, in their own route's words — the real Application and
scheduler over HTTP against the local Bot API server, the bot's clock moved instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from tests.harness import running_bot
from tests.test_cli import run_cli
from tests.test_e2e_foundation import assert_clean
from tests.test_e2e_reminders import reminder_calls

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900


def local(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def reminders_to(server, chat_id):
    """The reminders (⏰ title, not the /reminders settings screen) sent to one chat."""
    return reminder_calls(server, chat_id)


async def move_to(bot, clock, moment: datetime) -> int:
    """Move the bot's clock and run one scheduler pass; how many reminders went out."""
    clock.at = moment.astimezone(UTC)
    return await bot.scheduler.run_due()


async def choose_platform(m):
    await m.send("/route")
    await m.press("全托管")


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
        await m.press("全部静音")
        assert await pending(bot, 701) == []
        [back] = await m.press("恢复提醒")
        assert "12月7日" in back.text
        assert await pending(bot, 701) == ["overdue/2026-12-02", "window_open/2026-12-02"]
        assert await move_to(bot, clock, local(2026, 12, 7, 13, 30)) == 1
        [sent] = reminders_to(server, 701)
        assert "审核结果可能快出来了" in sent.params["text"]
    assert_clean(server)


async def test_correcting_the_date_and_back_keeps_one_reminder_per_moment(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(702)
        await choose_platform(m)
        await m.send("/submitted")
        [moved] = await m.send("/submitted 2026-11-30")
        assert "原来记录的是" in moved.text
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
        assert "未通过" in status.text and "店铺评分不够" in status.text
        [none] = await m.send("/reminders")
        assert "重新提交申请后发 /submitted" in none.text
        clock.at = local(2026, 11, 20, 11).astimezone(UTC)
        [again] = await m.send("/submitted")
        assert "未通过" in again.text and "重新开始" in again.text
        assert "到了预计出结果的时候我会提醒你" in again.text
        state = (await bot.store.load_merchant(703)).data
        assert state["status"] == "submitted" and state["cycle"] == 2
        [progress] = await m.send("/progress")
        assert "⏳ 6. 等待审核" in progress.text
        [listing] = await m.send("/reminders")
        assert "11月25日" in listing.text  # Fri 11-20: 3rd working day is Wed 11-25
        history = [(h["old"], h["new"]) for h in await bot.store.status_history(703)]
        assert history == [
            (None, "submitted"),
            ("submitted", "rejected"),
            ("rejected", "submitted"),
        ]
        assert await move_to(bot, clock, local(2026, 11, 25, 10)) == 1
        assert "审核结果可能快出来了" in reminders_to(server, 703)[-1].params["text"]
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
        assert "没能推送" in done.text
        server.unblock(704, notify=False)
        [status] = await m.send("/status")
        assert "品牌授权书" in status.text and "11月10日" in status.text
        assert "预计结果" not in status.text  # the window waits while materials are missing
        assert await pending(bot, 704) == ["need_more_deadline/2026-11-10"]
        assert await move_to(bot, clock, local(2026, 11, 9, 10)) == 1
        [deadline] = reminders_to(server, 704)
        assert (
            "补充材料快到期了" in deadline.params["text"]
            and "预计出结果" not in deadline.params["text"]
        )
        [again] = await m.send("/submitted")
        assert "需补充材料" in again.text
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
        assert "从今天起" not in late.params["text"]
        assert "已经从 12月7日（周一） 开始" in late.params["text"]
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
        later = next(
            b["callback_data"]
            for row in reminder.params["reply_markup"]["inline_keyboard"]
            for b in row
            if "晚一天" in b["text"]
        )
        mark = server.mark()
        assert await m.press_data(reminder.result["message_id"], later) == []
        [toast] = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        # 22:15 + one day is in the quiet hours: that morning instead, 10:00 on 12-08
        # (never a whole day skipped)
        assert "12月8日" in toast.params["text"] and "10:00" in toast.params["text"]
        assert not [c for c in server.calls[mark:] if c.method == "editMessageText"]
        [listing] = await m.send("/reminders")
        assert "12月8日（周二） 10:00" in listing.text
        assert "（你推迟的提醒）" not in listing.text
        assert await move_to(bot, clock, local(2026, 12, 8, 9, 59)) == 0
        assert await move_to(bot, clock, local(2026, 12, 8, 10, 0)) == 1
        snoozed = reminders_to(server, 706)[-1].params["text"]
        assert "你推迟的提醒" in snoozed and "已经从 12月7日（周一） 开始" in snoozed
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


PLATFORM_ONLY = ("站内信", "保证金", "平台的指引", "以平台通知为准", "平台客服")


async def test_route_a_never_hears_the_platform_s_steps(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(708), bot.merchant(OPERATOR)
        await m.send("/route")
        await m.press("托管公司")
        shown = [await m.send("/submitted"), await m.send("/status")]
        assert await move_to(bot, clock, local(2026, 12, 7, 10)) == 1
        assert await move_to(bot, clock, local(2026, 12, 14, 10)) == 1
        await op.send("/setstatus 708 approved")
        push = server.last_bot_message(708).text
        assert "对公账户" in push and "合同" in push
        shown.append(await m.send("/status"))
        assert await move_to(bot, clock, local(2026, 12, 16, 10)) == 1
        texts = [c.params["text"] for c in reminders_to(server, 708)] + [push]
        texts += [s.text for batch in shown for s in batch]
        for text in texts:
            for word in PLATFORM_ONLY:
                assert word not in text, (word, text)
        assert "按合同付款" in reminders_to(server, 708)[-1].params["text"]
    assert_clean(server)


async def test_route_b_approval_lists_email_agreement_deposit_and_logistics_rules(server, tmp_path):
    clock = FixedClock(local(2026, 12, 2, 11))
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        m, op = bot.merchant(709), bot.merchant(OPERATOR)
        await choose_platform(m)
        await m.send("/submitted")
        await op.send("/setstatus 709 通过")
        push = server.last_bot_message(709).text
        for word in ("确认邮件", "服务协议", "保证金", "仓储物流规则"):
            assert word in push, word
        assert "对公账户" not in push and "托管公司" not in push
    assert_clean(server)


async def test_route_b_menu_and_next_step_say_self_check(bot, server):
    m = bot.merchant(710)
    await choose_platform(m)
    [menu] = await m.send("/menu")
    assert "✅ 资格自查" in menu.labels and not any("选托管公司" in x for x in menu.labels)
    [progress] = await m.send("/progress")
    assert "👉 下一步：资格自查" in progress.text
    assert "▶️ 继续：资格自查" in progress.labels
    [start] = await m.send("/start")
    assert "▶️ 继续：资格自查" in start.labels
    assert_clean(server)


async def test_the_next_step_line_and_its_button_name_the_same_thing(bot, server):
    m = bot.merchant(711)
    await m.send("/route")
    await m.press("托管公司")
    [progress] = await m.send("/progress")
    line = next(x for x in progress.text.splitlines() if x.startswith("👉 下一步："))
    name = line.removeprefix("👉 下一步：")
    assert any(label.endswith(f"：{name}") for label in progress.labels), (name, progress.labels)
    assert_clean(server)


# --- what a merchant types into a form is kept ------------------------------------------------


async def test_a_shop_name_that_sounds_like_a_question_is_saved(bot, server):
    m = bot.merchant(712)
    await choose_platform(m)
    await m.send("/apply")
    [next_field] = await m.send("快发货家居店")
    assert "第 2/4 项" in next_field.text
    state = (await bot.store.load_merchant(712)).data
    assert state["application"]["fields"]["shop_name"] == "快发货家居店"
    # the one-tap way to ask instead, and back to the same field
    [guide] = await m.press("我是想问")
    assert "发货指南" in guide.text
    [prompt] = await m.press("继续填写")
    assert "第 2/4 项" in prompt.text
    [scope] = await m.send("诚信可靠五金店")
    assert "第 3/4 项" in scope.text
    # a clear question still leaves the field, which stays open
    [answer] = await m.send("怎么发货？")
    assert "发货指南" in answer.text and "▶️ 继续填写" in answer.labels
    assert_clean(server)


async def test_a_date_sent_before_the_route_is_kept(bot, server):
    m = bot.merchant(713)
    [choice] = await m.send("/submitted 2026-11-30")
    assert any("全托管" in label for label in choice.labels)
    [recorded] = await m.press("全托管")
    assert "已记录提交日期" in recorded.text and "11月30日" in recorded.text
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
        assert shown.text.count("已经超过预计时间") == 1
        assert "我会提醒你" not in shown.text and "不再安排提醒" in shown.text
        assert await pending(bot, 714) == []
        assert await move_to(bot, clock, local(2026, 12, 3, 10)) == 0
    assert_clean(server)


# --- smaller things ---------------------------------------------------------------------------


async def test_first_start_after_help_or_hello_or_deletion_is_a_welcome(bot, server):
    m = bot.merchant(715)
    await m.send("/help")
    [first] = await m.send("/start")
    assert "欢迎回来" not in first.text
    await m.send("你好")
    [again] = await m.send("/start")
    assert "欢迎回来" not in again.text
    await choose_platform(m)
    [back] = await m.send("/start")
    assert "欢迎回来" in back.text
    await m.send("/deletedata")
    await m.press("确认删除")
    await m.send("/help")
    [after] = await m.send("/start")
    assert "欢迎回来" not in after.text
    assert_clean(server)


# --- the playground ---------------------------------------------------------------------------


def test_playground_advance_delivers_in_order_and_keeps_the_clock_and_reaches_saved_merchants(
    tmp_path,
):
    data = str(tmp_path / "pg")
    first = run_cli(
        "chat", "--data", data, stdin="/start\n/route\n#全托管\n/submitted\n:advance 15d\n"
    )
    assert first.returncode == 0, first.stderr
    out = first.stdout
    opened, overdue = out.index("审核结果可能快出来了\n"), out.index("审核比预计久了一些\n")
    assert opened < overdue  # both arrive, each at its own time, in order
    stamps = [line for line in out.splitlines() if line.startswith("(bot time ")]
    assert len(stamps) == 2 and stamps[0] < stamps[1] and stamps[0].endswith("10:00)")
    # a second session with the same data: the clock stays moved, and the operator's push
    # reaches the merchant who has not typed since
    second = run_cli(
        "chat", "--data", data, stdin=":as 999\n/setstatus 10001 approved\n/reminders\n"
    )
    assert second.returncode == 0, second.stderr
    assert "已推送给商家" in second.stdout and "（发给 10001 的消息）" in second.stdout
    moved = next(x for x in first.stdout.splitlines() if x.startswith("(clock moved"))
    assert "bot time is now" in moved
    assert "审核结果可能快出来了" not in second.stdout  # nothing of before is sent again


async def test_a_file_sent_after_leaving_the_item_screen_is_asked_about(bot, server):
    from tests.test_documents import PDF
    from tests.test_e2e_uploads_fallback import open_platform_checklist

    m = bot.merchant(716)
    checklist = await open_platform_checklist(m)
    [item] = await m.press("营业执照", checklist)
    assert "直接发来的照片或文件会存到「营业执照」" in item.text
    await m.send("/ship")  # somewhere else: the item's screen is gone
    [which] = await m.send_document(PDF, "执照.pdf", "application/pdf")
    assert "这是哪一项资料" in which.text
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
        assert "👉 下一步：等待审核" in progress.text and "▶️ 继续：等待审核" in progress.labels
        await op.send("/setstatus 717 rejected")
        push = server.last_bot_message(717)
        labels = [b["text"] for row in push.reply_markup["inline_keyboard"] for b in row]
        assert "✅ 资格自查" in labels and not any("选托管公司" in x for x in labels)
    assert_clean(server)
