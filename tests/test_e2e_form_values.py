"""End to end over HTTP (issue 8): what merchants really type in the application form and the
fee-date prompt, and the operator screens' counts, times and status words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from flows import apply, operator
from flows.core import Context
from tests.contentkit import CONTENT, data, day, money, press, template
from tests.harness import contents, running_bot
from tests.test_e2e_foundation import assert_clean

SH = ZoneInfo("Asia/Shanghai")
OPERATOR = 900
APPLICATION = CONTENT.data["application"]
FIELDS = {f["key"]: f for f in APPLICATION["fields"]}
ERRORS = APPLICATION["errors"]
KINDS = APPLICATION["contact_kinds"]
STATUSES = CONTENT.data["statuses"]["statuses"]


def local(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def form_item(shown) -> tuple[int, int, str]:
    """(item number, items, field key) of an application form question."""
    assert template(shown) == "apply_prompt", shown.text
    return data(shown)["index"], data(shown)["total"], data(shown)["field"]["key"]


async def open_form(m, route: str = "platform") -> None:
    """Choose a route from /apply and stand at the first field."""
    await m.send("/apply")
    await press(m, f"route_{route}")
    [prompt] = await press(m, "continue_apply")
    assert form_item(prompt) == (1, 4, "shop_name")


async def edit(m, key: str, summary):
    """Press 修改<field> on the summary."""
    return await press(m, "apply_edit", on=summary, label=FIELDS[key]["label"])


async def fields_of(bot, m) -> dict:
    return (await bot.store.load_merchant(m.user_id)).data["application"]["fields"]


async def test_monthly_sales_takes_only_an_amount(bot, server):
    m = bot.merchant(3101)
    await open_form(m)
    await m.send("星河家居")
    [prompt] = await m.send("家居收纳")
    assert form_item(prompt) == (3, 4, "monthly_sales")
    refusals = {
        "微信 abc123": "format_money",  # was saved as ¥123
        "abc123": "format_money",
        "5万 微信": "format_money",
        "+86 138 0013 8000": "money_phone",  # a phone, not a range
        "13800138000": "money_phone",
        "0.01": "too_small",
        "0.5": "too_small",
        "5万到10万": "ambiguous",
        "0": "not_positive",
        "5000 USD": "currency",
    }
    for text, expected in refusals.items():
        [reply] = await m.send(text)
        assert form_item(reply) == (3, 4, "monthly_sales"), text
        assert data(reply)["error"] == expected, (text, reply.text)
        assert ERRORS[expected] in reply.text, (text, reply.text)
        assert FIELDS["monthly_sales"]["example"] in reply.text, text
        assert "monthly_sales" not in await fields_of(bot, m), text
    [nxt] = await m.send("一百二十万")
    assert form_item(nxt) == (4, 4, "contact")
    assert (await fields_of(bot, m))["monthly_sales"] == 1_200_000
    [summary] = await press(m, "apply_summary", on=nxt)
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
        [prompt] = await edit(m, "monthly_sales", summary)
        assert form_item(prompt) == (3, 4, "monthly_sales")
        [summary] = await m.send(text)
        assert template(summary) == "apply_summary", text
        assert data(summary)["values"]["monthly_sales"] == value, text
        assert money(value) in summary.text, (text, summary.text)
        assert (await fields_of(bot, m))["monthly_sales"] == value
    assert_clean(server)


async def test_contact_takes_a_wechat_id_and_phones(bot, server):
    m = bot.merchant(3102)
    await open_form(m)
    for value in ("星河家居", "家居收纳", "5万"):
        [prompt] = await m.send(value)
    assert form_item(prompt) == (4, 4, "contact")
    assert FIELDS["contact"]["prompt"] in prompt.text
    [bad] = await m.send("微信 ab")
    assert data(bad)["error"] == "format_wechat" and ERRORS["format_wechat"] in bad.text
    [bad] = await m.send("hello")
    assert data(bad)["error"] == "format_contact" and ERRORS["format_contact"] in bad.text
    assert "contact" not in await fields_of(bot, m)
    [summary] = await m.send("微信：wxid_abc")
    assert template(summary) == "apply_summary" and f"{KINDS['wechat']} wxid_abc" in summary.text
    assert (await fields_of(bot, m))["contact"] == {"kind": "wechat", "value": "wxid_abc"}
    for text, kind, value in [
        ("微信 abc123", "wechat", "abc123"),
        ("vx: shop-888", "wechat", "shop-888"),
        ("wx abc_123", "wechat", "abc_123"),
        ("微信号 Zhang_San88", "wechat", "Zhang_San88"),
        ("微信 13800138000", "wechat", "13800138000"),
        ("+86 138 0013 8000", "phone", "13800138000"),
        ("138-0013-8000", "phone", "13800138000"),
        ("(0571) 1234 5678", "phone", "0571-12345678"),
        ("name@example.com", "email", "name@example.com"),
    ]:
        [prompt] = await edit(m, "contact", summary)
        assert form_item(prompt) == (4, 4, "contact") and data(prompt)["current"] is not None
        [summary] = await m.send(text)
        assert template(summary) == "apply_summary", (text, summary.text)
        assert f"{KINDS[kind]} {value}" in summary.text, (text, summary.text)
        assert (await fields_of(bot, m))["contact"] == {"kind": kind, "value": value}
    [done] = await press(m, "apply_confirm", on=summary)
    assert template(done) == "apply_howto"
    assert_clean(server)


async def test_fee_date_prompt_has_its_own_example_and_past_message(server, tmp_path):
    clock = FixedClock(local(2026, 11, 27, 11))
    async with running_bot(server, tmp_path / "db", clock=clock) as bot:
        m = bot.merchant(3103)
        await m.send("/route")
        await press(m, "route_agency")
        await m.send("/reminders")
        [prompt] = await press(m, "rem_fee")
        assert template(prompt) == "fee_prompt" and "/submitted" not in prompt.text
        [bad] = await m.send("下个月中")
        assert template(bad) == "fee_prompt" and data(bad)["error"] == "format_date"
        assert "/submitted" not in bad.text
        assert data(bad)["example"] == "2026-12-15" and "2026-12-15" in bad.text
        [past] = await m.send("2026-09-01")
        assert data(past)["error"] == "past" and day("2026-11-27") in past.text
        assert "/submitted" not in past.text
        [past] = await m.send("11月1日")
        assert data(past)["error"] == "past"
        [bad] = await m.send("2026-02-30")
        assert data(bad)["error"] == "invalid_date"
        assert "fee_date" not in (await bot.store.load_merchant(3103)).data.get("reminders", {})
        [saved] = await m.send("12月15日")
        assert template(saved) == "reminders" and data(saved)["fee_date"] == "2026-12-15"
        assert day("2026-12-15") in saved.text
        stored = await bot.store.load_merchant(3103)
        assert stored.data["reminders"]["fee_date"] == "2026-12-15"
        # a day of next year, written without the year
        await m.send("/reminders")
        await press(m, "rem_fee")
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
        await press(op, "route_platform")  # an operator trying the bot is still no merchant
        merchant = bot.merchant(3104)
        await merchant.send("/route")
        await press(merchant, "route_platform")
        await merchant.send("/submitted 2026-09-28")
        await bot.merchant(3105).send("/start")
        [stats] = await op.send("/stats")
        assert template(stats) == "stats" and data(stats)["total"] == 2, stats.text
        assert data(stats)["route"]["platform"] == 1
        assert CONTENT.data["routes"]["routes"]["platform"]["name"] in stats.text
        [card] = await op.send("/merchant 3104")
        assert template(card) == "merchant_card" and data(card)["zone"] == "Asia/Shanghai"
        assert "UTC" not in card.text
        assert "2026-09-28 11:00" in card.text  # stored as 03:00 UTC
        assert "2026-10-08 10:00" in card.text  # the first reminder, 10:00 local
        history = await bot.store.status_history(3104)
        assert history[-1]["at"].startswith("2026-09-28T03:00")
        words = [  # as operators type them
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
            assert template(done) == "operator_done", (word, done.text)
            assert data(done)["status"] == code, word
            assert (await bot.store.load_merchant(3104)).data["status"] == code, word
        [refused] = await op.send("/setstatus 3104 完成了吗")
        assert template(refused) == "operator_usage" and data(refused)["error"] == "bad_status"
        for info in STATUSES.values():  # the usage lists a common word for each status
            assert not info.get("aliases") or info["aliases"][0] in refused.text
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
