"""End to end over HTTP (issue 8): what merchants really type in the application form and the
fee-date prompt, and the operator screens' counts, times and status words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from flows import apply, operator
from flows.core import Context
from tests.harness import contents, running_bot
from tests.test_e2e_foundation import assert_clean

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900


def local(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


async def open_form(m, route: str = "全托管") -> None:
    """Choose a route from /apply and stand at the first field."""
    await m.send("/apply")
    await m.press(route)
    [prompt] = await m.press("继续")
    assert "第 1/4 项" in prompt.text


async def fields_of(bot, m) -> dict:
    return (await bot.store.load_merchant(m.user_id)).data["application"]["fields"]


async def test_monthly_sales_takes_only_an_amount(bot, server):
    m = bot.merchant(3101)
    await open_form(m)
    await m.send("星河家居")
    [prompt] = await m.send("家居收纳")
    assert "第 3/4 项：预计月销售额" in prompt.text
    refusals = {
        "微信 abc123": "只填一个金额",  # was saved as ¥123
        "abc123": "只填一个金额",
        "5万 微信": "只填一个金额",
        "+86 138 0013 8000": "电话号码",  # a phone, not a range
        "13800138000": "电话号码",
        "0.01": "不到 1 元",
        "0.5": "不到 1 元",
        "5万到10万": "不要填范围",
        "0": "大于 0",
        "5000 USD": "人民币",
    }
    for text, expected in refusals.items():
        [reply] = await m.send(text)
        assert "❗" in reply.text and expected in reply.text, (text, reply.text)
        assert "预计月销售额" in reply.text and "例如：" in reply.text, text
        assert "monthly_sales" not in await fields_of(bot, m), text
    [nxt] = await m.send("一百二十万")
    assert "第 4/4 项：联系方式" in nxt.text
    assert (await fields_of(bot, m))["monthly_sales"] == 1_200_000
    [summary] = await m.press("查看汇总", nxt)
    for text, value in [
        ("五万", 50_000),
        ("十万", 100_000),
        ("0.5万", 5_000),
        ("3.5w", 35_000),
        ("两万", 20_000),
        ("二十五万", 250_000),
        ("5万元", 50_000),
        ("¥50,000", 50_000),
    ]:
        [prompt] = await m.press("预计月销售额", summary)
        assert "第 3/4 项：预计月销售额" in prompt.text
        [summary] = await m.send(text)
        assert "申请信息汇总" in summary.text, text
        assert f"¥{value:,}" in summary.text, (text, summary.text)
        assert (await fields_of(bot, m))["monthly_sales"] == value
    assert_clean(server)


async def test_contact_takes_a_wechat_id_and_phones(bot, server):
    m = bot.merchant(3102)
    await open_form(m)
    for value in ("星河家居", "家居收纳", "5万"):
        [prompt] = await m.send(value)
    assert "第 4/4 项：联系方式" in prompt.text and "微信号" in prompt.text
    [bad] = await m.send("微信 ab")
    assert "❗" in bad.text and "没认出这个微信号" in bad.text and "微信 abc123" in bad.text
    [bad] = await m.send("hello")
    assert "❗" in bad.text and "微信号" in bad.text
    assert "contact" not in await fields_of(bot, m)
    [summary] = await m.send("微信：wxid_abc")
    assert "申请信息汇总" in summary.text and "联系方式：微信 wxid_abc" in summary.text
    assert (await fields_of(bot, m))["contact"] == {"kind": "wechat", "value": "wxid_abc"}
    for text, kind, value, shown in [
        ("微信 abc123", "wechat", "abc123", "微信 abc123"),
        ("vx: shop-888", "wechat", "shop-888", "微信 shop-888"),
        ("wx abc_123", "wechat", "abc_123", "微信 abc_123"),
        ("微信号 Zhang_San88", "wechat", "Zhang_San88", "微信 Zhang_San88"),
        ("微信 13800138000", "wechat", "13800138000", "微信 13800138000"),
        ("+86 138 0013 8000", "phone", "13800138000", "电话 13800138000"),
        ("138-0013-8000", "phone", "13800138000", "电话 13800138000"),
        ("(0571) 1234 5678", "phone", "0571-12345678", "电话 0571-12345678"),
        ("name@example.com", "email", "name@example.com", "邮箱 name@example.com"),
    ]:
        [prompt] = await m.press("联系方式", summary)
        assert "现在填的是" in prompt.text
        [summary] = await m.send(text)
        assert f"联系方式：{shown}" in summary.text, (text, summary.text)
        assert (await fields_of(bot, m))["contact"] == {"kind": kind, "value": value}
    [done] = await m.press("确认无误", summary)
    assert "怎么提交" in done.text
    assert_clean(server)


async def test_fee_date_prompt_has_its_own_example_and_past_message(server, tmp_path):
    clock = FixedClock(local(2026, 11, 27, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(3103)
        await m.send("/route")
        await m.press("托管公司")
        await m.send("/reminders")
        [prompt] = await m.press("付款日")
        assert "托管费付款日" in prompt.text and "/submitted" not in prompt.text
        [bad] = await m.send("明天")
        assert "❗" in bad.text and "/submitted" not in bad.text
        assert "例如：12月15日，或 2026-12-15" in bad.text
        [past] = await m.send("2026-09-01")
        assert "已经过去" in past.text and "今天是 11月27日" in past.text
        assert "/submitted" not in past.text
        [past] = await m.send("11月1日")
        assert "已经过去" in past.text
        [bad] = await m.send("2026-02-30")
        assert "没有这一天" in bad.text
        assert "fee_date" not in (await bot.store.load_merchant(3103)).data.get("reminders", {})
        [saved] = await m.send("12月15日")
        assert "托管费付款日：12月15日" in saved.text
        stored = await bot.store.load_merchant(3103)
        assert stored.data["reminders"]["fee_date"] == "2026-12-15"
        # a day of next year, written without the year
        await m.send("/reminders")
        await m.press("付款日")
        [saved] = await m.send("1月5日")
        assert (await bot.store.load_merchant(3103)).data["reminders"]["fee_date"] == "2027-01-05"
    assert_clean(server)


async def test_operator_stats_times_and_status_words(server, tmp_path):
    clock = FixedClock(local(2026, 9, 28, 11))  # 03:00 UTC
    async with running_bot(
        server, tmp_path / "db", clock=clock, admin_ids=frozenset({OPERATOR})
    ) as bot:
        op = bot.merchant(OPERATOR)
        await op.send("/start")
        await op.send("/route")
        await op.press("全托管")  # an operator trying the bot is still no merchant
        merchant = bot.merchant(3104)
        await merchant.send("/route")
        await merchant.press("全托管")
        await merchant.send("/submitted 2026-09-28")
        await bot.merchant(3105).send("/start")
        [stats] = await op.send("/stats")
        assert "共 2 位商家" in stats.text, stats.text
        assert "速卖通全托管：1" in stats.text
        [card] = await op.send("/merchant 3104")
        assert "北京时间" in card.text and "UTC" not in card.text
        assert "2026-09-28 11:00" in card.text  # stored as 03:00 UTC
        assert "2026-10-08 10:00" in card.text  # the first reminder, 10:00 local
        history = await bot.store.status_history(3104)
        assert history[-1]["at"].startswith("2026-09-28T03:00")
        words = [
            ("通过", "approved"),
            ("已通过", "approved"),
            ("✅ 已通过", "approved"),
            ("未通过", "rejected"),
            ("没通过", "rejected"),
            ("被拒", "rejected"),
            ("拒绝", "rejected"),
            ("需补充", "need_more"),
            ("补充材料", "need_more"),
            ("审核中", "reviewing"),
            ("已提交", "submitted"),
            ("已入驻", "joined"),
            ("入驻", "joined"),
            ("审核通过", "approved"),
            ("need_more", "need_more"),
        ]
        for word, code in words:
            [done] = await op.send(f"/setstatus 3104 {word}")
            assert "已把用户" in done.text, (word, done.text)
            assert (await bot.store.load_merchant(3104)).data["status"] == code, word
        [refused] = await op.send("/setstatus 3104 完成了吗")
        assert "不认识状态" in refused.text and "没通过" in refused.text
        assert (await bot.store.load_merchant(3104)).data["status"] == "need_more"
        [card] = await op.send("/merchant 3104")
        assert card.text.count("2026-09-28 11:00") >= 2  # every change at 11:00 Beijing
    assert_clean(server)


# --- the content behind these screens ----------------------------------------------------


def test_every_status_word_a_merchant_sees_is_accepted_by_setstatus():
    content = contents().default
    ctx = Context(content.catalog, local(2026, 9, 28, 11), is_operator=True)
    labels = content.data["ui"]["labels"]
    for code in ("approved", "need_more", "rejected", "joined"):
        label = labels[f"rep_{code}"]  # "✅ 已通过" on the merchant's status screen
        assert operator.status_of(ctx, label) == code, label
        assert operator.status_of(ctx, label.split()[-1]) == code, label
    seen: dict[str, str] = {}
    for code, info in content.data["statuses"]["statuses"].items():
        for word in [info["name"], *(info.get("aliases") or [])]:
            assert seen.setdefault(word, code) == code, f"{word} means two statuses"
            assert operator.status_of(ctx, word) == code, word


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-09-28T03:00:00+00:00", "2026-09-28 11:00"),
        ("2026-09-28T16:30:00+00:00", "2026-09-29 00:30"),  # the next day in Beijing
        ("2026-09-28T03:00:00", "2026-09-28 11:00"),  # no offset: stored UTC
        (None, ""),
        ("garbage-text-here", "garbage-text-her"),
    ],
)
def test_operator_times_are_shown_in_the_bot_zone(stored, expected):
    assert operator.local_time(stored, SH) == expected


def test_every_contact_kind_has_a_label():
    kinds = contents().default.data["application"]["contact_kinds"]
    assert set(apply.CONTACT_KINDS) <= set(kinds)
    assert kinds["wechat"] == "微信"
