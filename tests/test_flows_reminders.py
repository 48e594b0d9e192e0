"""Unit tests of the reminder plan and the status flows (pure: no clock, no I/O)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows import reminders as rem
from flows.core import (
    Command,
    Context,
    MerchantState,
    OperatorOrder,
    Press,
    StatusChange,
    Text,
)
from flows.status import deadline_in, status_aliases
from tests import flowkit
from tests.harness import contents

SH = ZoneInfo("Asia/Shanghai")
CATALOG = contents().default.catalog


def at(y, mo, d, h=10, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def plan(data, now=None):
    return {p.kind: p for p in rem.plan(data, CATALOG, SH, now or at(2026, 9, 28, 11))}


def test_review_chain_at_ten_local_on_the_worked_example():
    p = plan({"route": "platform", "status": "submitted", "submitted_on": "2026-09-28"})
    assert p["window_open"].due == at(2026, 10, 8)
    # last expected day Tue 10-13: overdue on the next working day
    assert p["overdue"].due == at(2026, 10, 14)
    assert p["window_open"].chain == p["overdue"].chain == "review"
    assert all(":" not in x.key for x in p.values())


def test_no_reminders_without_route_or_submission_and_none_when_muted():
    assert plan({"status": "submitted", "submitted_on": "2026-09-28"}) == {}
    assert plan({"route": "platform"}) == {}
    muted = {
        "route": "platform",
        "status": "submitted",
        "submitted_on": "2026-09-28",
        "reminders": {"muted": True},
    }
    assert plan(muted) == {}


@pytest.mark.parametrize(
    ("status", "kinds"),
    [
        ("submitted", {"window_open", "overdue"}),
        ("reviewing", {"window_open", "overdue"}),
        ("need_more", {"need_more_deadline"}),  # the window waits for the merchant
        ("approved", {"agreement"}),
        ("rejected", set()),
        ("joined", {"operation_check"}),
    ],
)
def test_each_status_plans_what_it_should(status, kinds):
    data = {
        "route": "platform",
        "status": status,
        "submitted_on": "2026-09-28",
        "status_on": "2026-10-09",
        "need_more": {"deadline": "2026-10-20"},
    }
    assert set(plan(data)) == kinds


def test_need_more_deadline_the_day_before_at_ten():
    data = {
        "route": "agency",
        "status": "need_more",
        "submitted_on": "2026-09-28",
        "need_more": {"deadline": "2026-10-20"},
    }
    assert plan(data)["need_more_deadline"].due == at(2026, 10, 19)


def test_fee_date_only_on_the_agency_route():
    data = {"route": "agency", "reminders": {"fee_date": "2026-12-15"}}
    assert plan(data)["fee_due"].due == at(2026, 12, 15)
    assert "fee_due" not in plan({**data, "route": "platform"})


def test_operation_checks_are_weekly_and_only_the_latest_past_and_next_are_planned():
    data = {"route": "platform", "status": "joined", "status_on": "2026-10-01"}
    keys = sorted(p.key for p in rem.plan(data, CATALOG, SH, at(2026, 11, 20)))
    # joined 10-01: weekly on 10-08, 10-15, … 11-19 (latest past), 11-26 (next)
    assert keys == ["operation_check/2026-11-19", "operation_check/2026-11-26"]
    data["reminders"] = {"interval_days": 14}
    keys = sorted(p.key for p in rem.plan(data, CATALOG, SH, at(2026, 10, 2)))
    assert keys == ["operation_check/2026-10-15"]


def test_a_snoozed_reminder_replaces_its_original_with_a_new_key():
    data = {
        "route": "platform",
        "status": "submitted",
        "submitted_on": "2026-09-28",
        "reminders": {"snoozed": {"window_open/2026-09-28": "2026-10-09T10:00+08:00"}},
    }
    p = plan(data)
    assert p["window_open"].due == at(2026, 10, 9)
    assert p["window_open"].key != "window_open/2026-09-28"
    assert p["window_open"].chain == "review"


def test_quiet_hours_edges():
    assert rem.in_quiet_hours(at(2026, 1, 1, 21, 0), SH)
    assert rem.in_quiet_hours(at(2026, 1, 1, 8, 59), SH)
    assert not rem.in_quiet_hours(at(2026, 1, 1, 9, 0), SH)
    assert not rem.in_quiet_hours(at(2026, 1, 1, 20, 59), SH)
    assert rem.quiet_end(at(2026, 1, 1, 3), SH) == at(2026, 1, 1, 9)


def test_status_aliases_accept_codes_and_chinese_words():
    aliases = status_aliases(CATALOG)
    for code, word in [
        ("submitted", "已提交"),
        ("reviewing", "审核中"),
        ("need_more", "需补充材料"),
        ("approved", "审核通过"),
        ("rejected", "未通过"),
        ("joined", "已入驻"),
    ]:
        assert aliases[code] == code and aliases[word] == code


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("请于 2026-10-20 前补充", "2026-10-20"),
        ("截止2026年10月20日", "2026-10-20"),
        ("10月20日前补充品牌授权书", "2026-10-20"),
        ("9月1日前", "2026-09-01"),  # 27 days ago is nearer than next September: passed
        ("没有日期", None),
        ("2026-02-30", None),
    ],
)
def test_deadline_from_an_operator_note(note, expected):
    day = deadline_in(note, at(2026, 9, 28).date())
    assert (day.isoformat() if day else None) == expected


def run(state, *events, now=None, operator=False):
    ctx = flowkit.context(now or at(2026, 9, 28, 11), operator=operator)
    return flowkit.run(state, *events, ctx=ctx)


def submitted() -> MerchantState:
    return MerchantState(
        5,
        created=False,
        data={"route": "platform", "status": "submitted", "submitted_on": "2026-09-28"},
    )


def test_reminders_screen_mute_unmute_and_snooze():
    out = run(submitted(), Command("reminders"))
    screen = out.screens[0]
    assert [u["kind"] for u in screen.data["upcoming"]] == ["window_open", "overdue"]
    actions = [(b.action, b.args) for row in screen.buttons for b in row]
    assert ("rsz", ("window_open/2026-09-28",)) in actions and ("rmute", ("1",)) in actions
    out = run(submitted(), Press("rmute", ("1",)))
    assert out.state.data["reminders"]["muted"] is True and out.screens[0].data["upcoming"] == []
    out = run(submitted(), Press("rmute", ("1",)), Press("rmute", ("0",)))
    assert len(out.screens[0].data["upcoming"]) == 2
    out = run(submitted(), Press("rsz", ("window_open/2026-09-28",)))
    assert out.notice == "snoozed"
    first = out.screens[0].data["upcoming"][0]
    assert first["due"].startswith("2026-10-09T10:00")


@pytest.mark.parametrize(
    "press",
    [
        Press("rsz", ("nope/1",)),
        Press("rsz"),
        Press("rmute", ("x",)),
        Press("rint", ("3",)),
        Press("rep", ("hacked",)),
        Press("repok", ("approved", "x")),
    ],
)
def test_forged_reminder_and_report_buttons(press):
    out = run(MerchantState(5, created=False, data={}), press)
    assert out.screens
    if press.action != "repok":
        assert out.notice == "stale"
    assert out.state.data.get("status") is None


def test_fee_date_input_refuses_the_past_and_bad_formats():
    state = MerchantState(5, created=False, data={"route": "agency"})
    out = run(state, Press("rfee"), Text("2026-09-01"))
    assert out.screens[0].data["error"] == "past"
    out = run(state, Press("rfee"), Text("下个月中"))
    assert out.screens[0].data["error"] == "format_date"
    out = run(state, Press("rfee"), Text("2026-12-15"))
    assert out.state.data["reminders"]["fee_date"] == "2026-12-15"
    assert "input" not in out.state.data


def test_operator_commands_need_an_operator():
    for command in (Command("setstatus", "5 approved"), Command("merchant", "5"), Command("stats")):
        out = run(MerchantState(6, created=False), command)
        assert out.screens[0].template == "operator_refused" and not out.effects
        out = run(MerchantState(6, created=False), command, operator=True)
        assert out.effect(OperatorOrder) is not None


def test_status_change_records_history_and_pushes_next_steps():
    from flows.core import Outcome
    from flows.status import change_status

    ctx = Context(CATALOG, at(2026, 10, 9, 15))
    out = change_status(Outcome(submitted().copy()), ctx, "need_more", "10月20日前补充", "op")
    assert out.state.data["need_more"]["deadline"] == "2026-10-20"
    assert out.records == [StatusChange("submitted", "need_more", "op", "10月20日前补充")]
    assert out.screens[0].template == "status_push"
    plan_kinds = {p.kind for p in rem.plan(out.state.data, CATALOG, SH, ctx.now)}
    assert "need_more_deadline" in plan_kinds
    out2 = change_status(Outcome(out.state.copy()), ctx, "approved", "", "op")
    assert "need_more" not in out2.state.data
    assert {p.kind for p in rem.plan(out2.state.data, CATALOG, SH, ctx.now)} == {"agreement"}
