"""Unit tests of the application form, submission, review window and progress (pure flows)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows.core import Command, Context, Erase, MerchantState, Press, Text
from tests import flowkit
from tests.harness import contents

TZ = ZoneInfo("Asia/Shanghai")


def ctx_at(year: int, month: int, day: int, hour: int = 10) -> Context:
    return Context(contents().default.catalog, datetime(year, month, day, hour, tzinfo=TZ))


CTX = ctx_at(2026, 9, 28)


def run(state: MerchantState, *events, ctx: Context = CTX):
    """Feed events in order, carrying the state; return the last outcome."""
    return flowkit.run(state, *events, ctx=ctx)


def on_route(route: str = "platform") -> MerchantState:
    return MerchantState(7, created=False, data={"route": route})


def test_apply_without_route_asks_for_the_route_first_then_continues():
    out = run(MerchantState(7, created=False), Command("apply"))
    assert out.screens[0].template == "route_choice"
    labels = [b.label for row in out.screens[0].buttons for b in row]
    assert "route_agency" in labels and "route_platform" in labels
    out = run(MerchantState(7, created=False), Press("setroute", ("platform", "apply")))
    assert out.state.data["route"] == "platform"
    assert [b.action for row in out.screens[0].buttons for b in row][0] == "apply"


def test_form_one_field_at_a_time_with_validation_and_summary():
    state = on_route()
    out = run(state, Command("apply"))
    assert out.screens[0].template == "apply_prompt" and out.screens[0].data["index"] == 1
    out = run(state, Command("apply"), Text("  星河   家居 "))
    assert out.state.data["application"]["fields"]["shop_name"] == "星河 家居"
    assert out.screens[0].data["field"]["key"] == "scope"
    out = run(state, Command("apply"), Text("星河"), Text("家居收纳"), Text("五块钱"))
    assert out.screens[0].data["error"] == "format_money"
    assert "monthly_sales" not in out.state.data["application"]["fields"]
    out = run(
        state, Command("apply"), Text("星河"), Text("家居收纳"), Text("5w"), Text("138 0013 8000")
    )
    fields = out.state.data["application"]["fields"]
    assert fields["monthly_sales"] == 50000
    assert fields["contact"] == {"kind": "phone", "value": "13800138000"}
    assert out.screens[0].template == "apply_summary"
    assert "input" not in out.state.data


@pytest.mark.parametrize(
    ("field_texts", "error"),
    [
        (["x" * 61], "too_long"),
        (["星河", "类" * 201], "too_long"),
        (["星河", "家居", "0"], "not_positive"),
        (["星河", "家居", "999999999999"], "too_large"),
        (["星河", "家居", "5万到10万"], "ambiguous"),
        (["星河", "家居", "5万", "12345"], "format_contact"),
        (["星河", "家居", "5万", "a@b"], "format_contact"),
    ],
)
def test_bad_input_gets_an_error_and_keeps_the_field_open(field_texts, error):
    out = run(on_route(), Command("apply"), *map(Text, field_texts))
    assert out.screens[0].template == "apply_prompt"
    assert out.screens[0].data["error"] == error
    assert out.state.data["input"]["kind"] == "apply_field"


def filled(route: str = "platform") -> MerchantState:
    out = run(
        on_route(route),
        Command("apply"),
        Text("星河"),
        Text("家居"),
        Text("5万"),
        Text("a@example.com"),
    )
    return MerchantState(7, created=False, data=out.state.data)


def test_edit_a_field_from_the_summary_then_confirm_and_submit():
    state = filled()
    out = run(state, Press("apf", ("0",)), Text("新名字"))
    assert out.screens[0].template == "apply_summary"
    assert out.state.data["application"]["fields"]["shop_name"] == "新名字"
    out = run(state, Press("apf", ("0",)), Text("新名字"), Press("apok"))
    assert out.state.data["application"]["confirmed_at"].startswith("2026-09-28")
    assert out.screens[0].template == "apply_howto"
    assert out.screens[0].data["route"] == "platform"
    out = run(state, Press("apok"), Press("apsub"))
    assert out.state.data["submitted_on"] == "2026-09-28"
    assert out.state.data["status"] == "submitted"
    window = out.screens[0].data["window"]
    assert (window["first"], window["last"]) == ("2026-10-08", "2026-10-13")
    assert out.records and out.records[0].new == "submitted"


def test_forged_form_buttons():
    for press in (Press("apf", ("9",)), Press("apf", ("x",)), Press("apf")):
        out = run(filled(), press)
        assert out.notice == "stale" and out.screens


def test_question_mid_form_is_answered_and_resume_returns_to_the_same_field():
    state = on_route()
    out = run(state, Command("apply"), Text("星河"), Text("审核要多久"))
    assert out.screens[0].template == "faq"
    assert out.screens[0].buttons[0][0].action == "resume"
    assert out.state.data["input"]["field"] == 1  # still at 经营范围
    out = run(state, Command("apply"), Text("星河"), Command("ship"))
    assert out.screens[0].template == "ship_step"
    assert out.screens[0].buttons[0][0].action == "resume"
    assert "input" not in out.state.data and out.state.data["suspended"]["field"] == 1
    # text typed while the form is suspended is not taken as a field value
    out = run(state, Command("apply"), Text("星河"), Command("ship"), Text("家居收纳"))
    assert "scope" not in out.state.data["application"]["fields"]
    out = run(state, Command("apply"), Text("星河"), Command("ship"), Press("resume"))
    assert out.screens[0].template == "apply_prompt" and out.screens[0].data["index"] == 2
    out = run(
        state, Command("apply"), Text("星河"), Command("ship"), Press("resume"), Text("家居收纳")
    )
    assert out.state.data["application"]["fields"]["scope"] == "家居收纳"


def test_cancel_leaves_the_form_and_keeps_what_was_saved():
    out = run(on_route(), Command("apply"), Text("星河"), Command("cancel"))
    assert out.screens[0].data["had_form"] is True
    assert out.state.data["application"]["fields"] == {"shop_name": "星河"}
    assert "input" not in out.state.data and "suspended" not in out.state.data
    out = run(MerchantState(7, created=False, data=out.state.data), Command("apply"))
    assert out.screens[0].data["index"] == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ("2026/09/40", "invalid_date"),
        ("2026-09-29", "future"),
        ("2019-12-31", "too_early"),
        ("yesterday", "format_date"),
        ("<b>", "format_date"),
    ],
)
def test_submitted_refuses_bad_dates_with_an_example(args, error):
    out = run(on_route(), Command("submitted", args))
    assert out.screens[0].template == "submitted_error"
    assert out.screens[0].data["error"] == error
    assert "submitted_on" not in out.state.data


def test_submitted_with_an_earlier_date_and_the_worked_examples():
    out = run(on_route(), Command("submitted", "2026-02-12"))
    w = out.screens[0].data["window"]
    assert (w["first"], w["last"], w["estimated"]) == ("2026-02-24", "2026-02-28", False)
    assert w["phase"] == "overdue"


def test_window_in_an_unpublished_year_is_marked_estimated():
    ctx = ctx_at(2027, 3, 1)
    out = run(on_route(), Command("submitted", "2027-02-26"), ctx=ctx)
    assert out.screens[0].data["window"]["estimated"] is True


def test_status_before_and_after_submission():
    out = run(on_route(), Command("status"))
    assert out.screens[0].data["submitted_on"] is None
    out = run(on_route(), Command("submitted", "2026-09-28"), Command("status"))
    assert out.screens[0].data["status"] == "submitted"
    assert out.screens[0].data["window"]["phase"] == "before"


def test_progress_marks_and_next_step():
    out = run(MerchantState(7, created=False), Command("progress"))
    stages = {s["key"]: s["state"] for s in out.screens[0].data["stages"]}
    assert stages["route"] == "todo" and out.screens[0].data["next"] == "route"
    state = filled()
    out = run(state, Command("progress"))
    stages = {s["key"]: s["state"] for s in out.screens[0].data["stages"]}
    assert stages["route"] == "done" and stages["apply"] == "doing"
    out = run(state, Press("apok"), Press("apsub"), Command("progress"))
    stages = {s["key"]: s["state"] for s in out.screens[0].data["stages"]}
    assert stages["apply"] == "done" and stages["submit"] == "done"
    assert stages["review"] == "doing"


def test_switching_route_keeps_everything():
    state = filled("agency")
    out = run(state, Press("setroute", ("platform",)))
    assert out.state.data["route"] == "platform"
    assert out.state.data["application"] == state.data["application"]


def test_returning_start_offers_to_continue():
    out = run(filled(), Command("start"))
    first = out.screens[0].buttons[0][0]
    assert out.screens[0].template == "welcome_back"
    assert first.label.startswith("go_") or first.action == "resume"


def test_deletedata_asks_first_then_erases():
    out = run(filled(), Command("deletedata"))
    assert out.screens[0].template == "delete_confirm" and not out.effects
    out = run(filled(), Press("delok"))
    assert out.effects == [Erase()] and out.state.data == {}
