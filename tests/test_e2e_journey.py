"""End to end over HTTP: route choice, the application form, submission, status, progress,
interruptions, a restart mid-form, and the merchant's own data."""

from __future__ import annotations

import json

from tests.harness import running_bot
from tests.test_e2e_foundation import assert_clean


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
    assert "全托管" in choice.text and "托管公司代运营" in choice.text
    [chosen] = await m.press("全托管")
    assert chosen.edited and "已选择" in chosen.text
    [prompt] = await m.press("继续")
    assert "第 1/4 项：店铺名称" in prompt.text
    [summary] = await fill_form(m)
    assert "申请信息汇总" in summary.text
    assert "¥50,000" in summary.text and "13800138000" in summary.text
    [howto] = await m.press("确认无误")
    assert "申请加入全托管" in howto.text
    [recorded] = await m.press("我已提交")
    assert "已记录提交日期" in recorded.text and "预计结果" in recorded.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["status"] == "submitted" and stored.data["submitted_on"]
    history = await bot.store.status_history(m.user_id)
    assert [h["new"] for h in history] == ["submitted"]
    [status] = await m.send("/status")
    assert "已提交" in status.text and "预计结果" in status.text
    [progress] = await m.send("/progress")
    assert "✅ 1. 选择路线" in progress.text and "✅ 5. 提交申请" in progress.text
    assert "⏳ 6. 等待审核" in progress.text
    assert_clean(server)


async def test_route_a_submission_with_an_earlier_date_shows_the_worked_example(bot, server):
    m = bot.merchant(2002)
    await m.send("/start")
    await m.send("/apply")
    await m.press("托管公司")
    await m.press("继续")
    await fill_form(m, ("<b>A&B</b> 店", "女装", "¥50,000", "name@example.com"))
    [howto] = await m.press("确认无误")
    assert "托管公司" in howto.text and "合同" in howto.text
    [bad] = await m.send("/submitted 2026/13/01")
    assert "/submitted 2026-09-28" in bad.text
    [future] = await m.send("/submitted 2999-01-01")
    assert "不能晚于今天" in future.text
    [ok] = await m.send("/submitted 2026-09-28")
    assert "10月8日（周四）" in ok.text and "10月13日（周二）" in ok.text
    [howto] = await m.send("/apply")
    assert "9月28日（周一）" in howto.text
    [summary] = await m.press("查看汇总")
    assert "<b>A&B</b> 店" in summary.text  # shown literally, escaped on the wire
    assert_clean(server)


async def test_bad_input_is_refused_politely_and_loses_nothing(bot, server):
    m = bot.merchant(2003)
    await m.send("/apply")
    await m.press("全托管")
    await m.press("继续")
    await m.send("星河")
    await m.send("家居")
    for bad in ("五块钱", "0", "5万到10万", "9" * 20):
        [reply] = await m.send(bad)
        assert "❗" in reply.text and "预计月销售额" in reply.text, bad
    [reply] = await m.send("x" * 4000)
    assert "❗" in reply.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["application"]["fields"] == {"shop_name": "星河", "scope": "家居"}
    assert_clean(server)


async def test_question_and_command_mid_form_then_resume_at_the_same_field(bot, server):
    m = bot.merchant(2004)
    await m.send("/apply")
    await m.press("全托管")
    await m.press("继续")
    await m.send("星河")
    [answer] = await m.send("审核要多久")
    assert "工作日" in answer.text and "继续填写" in answer.labels[0]
    [guide] = await m.send("/ship")
    assert "第 1 步" in guide.text and any("继续填写" in label for label in guide.labels)
    [prompt] = await m.press("继续填写", guide)
    assert "第 2/4 项：经营范围" in prompt.text
    [nxt] = await m.send("家居")
    assert "第 3/4 项" in nxt.text
    [left] = await m.send("/cancel")
    assert "保存" in left.text
    [back] = await m.send("/apply")
    assert "第 3/4 项" in back.text
    assert_clean(server)


async def test_restart_in_the_middle_of_the_form(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db) as bot:
        m = bot.merchant(2005)
        await m.send("/apply")
        await m.press("全托管")
        await m.press("继续")
        await m.send("星河")
    async with running_bot(server, db) as bot:
        m = bot.merchant(2005)
        [reply] = await m.send("家居收纳")
        assert "第 3/4 项" in reply.text
        [welcome] = await m.send("/start")
        assert "欢迎回来" in welcome.text and "继续" in welcome.labels[0]
        [prompt] = await m.press("继续", welcome)
        assert "第 3/4 项" in prompt.text
        stored = await bot.store.load_merchant(2005)
        assert stored.data["application"]["fields"]["scope"] == "家居收纳"
    assert_clean(server)


async def test_mydata_export_and_deletedata(bot, server):
    m = bot.merchant(2006)
    await m.send("/apply")
    await m.press("全托管")
    await m.press("继续")
    await fill_form(m)
    await m.press("确认无误")
    await m.press("我已提交")
    shown = await m.send("/mydata")
    readable = shown[0]
    assert "星河家居" in readable.text and "速卖通全托管" in readable.text
    [doc] = [s for s in shown if s.document]
    sent = [c for c in server.calls if c.method == "sendDocument"][-1]
    message = server.last_bot_message(m.user_id)
    export = json.loads(bytes(message.document["content"]).decode("utf-8"))
    assert export["merchant"]["state"]["application"]["fields"]["shop_name"] == "星河家居"
    assert export["status_history"][0]["new"] == "submitted"
    assert sent.ok and doc.document.endswith(".json")
    [confirm] = await m.send("/deletedata")
    assert any("确认" in label for label in confirm.labels)
    assert await bot.store.export_merchant(m.user_id) is not None
    [gone] = await m.press("确认")
    assert "已全部删除" in gone.text
    assert await bot.store.export_merchant(m.user_id) is None
    assert await bot.store.status_history(m.user_id) == []
    [again] = await m.send("/start")
    assert "欢迎回来" not in again.text
    assert_clean(server)
