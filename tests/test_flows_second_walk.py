"""Defects found in the second playground walk (2026-12-02), each fixed and kept fixed here."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flows import router
from flows.core import Command, OperatorOrder, Upload
from flows.status import deadline_in
from tests.flowkit import Session, actions, context, state_with, text_of

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


NOW = at(2026, 12, 2, 12, 28)
SUBMITTED = {"route": "platform", "submitted_on": "2026-11-25", "status": "submitted"}


# --- 1: an old 未通过 / 需补充 button must not overwrite the operator's result -----------------


def test_an_old_result_button_after_the_operators_approval_is_stale():
    s = Session(context(NOW), **SUBMITTED)
    s.do(Command("status"))
    offered = [args[0] for action, args in actions(s.screen) if action == "rep"]
    assert offered == ["approved", "need_more", "rejected"]
    # meanwhile the operator records the approval
    s.state.data["status"] = "approved"
    s.state.data["status_on"] = "2026-12-02"
    for old in ("rejected", "need_more"):
        out = s.press("rep", old)
        assert out.notice == "stale" and s.screen.template == "status", old
        out = s.press("repok", old)
        assert out.notice == "stale" and not out.records, old
    assert s.state.data["status"] == "approved"
    # what the screen offers now still works
    s.press("rep", "joined")
    assert s.screen.template == "report_confirm"
    out = s.press("repok", "joined")
    assert s.state.data["status"] == "joined" and out.records


def test_a_confirmation_pressed_twice_shows_the_status_not_a_stale_notice():
    s = Session(context(NOW), **SUBMITTED)
    s.press("rep", "approved")
    s.press("repok", "approved")
    out = s.press("repok", "approved")
    assert out.notice != "stale" and s.screen.template == "status" and not out.records


# --- 5: a file just over 20 MB must not read "20.0 MB, at most 20 MB" -------------------------


def test_a_file_just_over_the_limit_reads_as_more_than_the_limit():
    s = Session(context(NOW), route="platform")
    s.do(Upload("f1", "big.pdf", 21_000_009, "document", "application/pdf"))
    assert s.screen.template == "docs_refused"
    shown = text_of(s.screen)
    assert "20.1 MB" in shown and "最多 20 MB" in shown
    s.do(Upload("f2", "big.pdf", 20 * 1024 * 1024 + 1, "document", "application/pdf"))
    assert "20.1 MB" in text_of(s.screen)


# --- 2 and 3: a need_more deadline that has passed is said so, never moved to next year ------


def test_a_month_day_deadline_is_read_in_the_nearest_year():
    today = NOW.date()
    assert deadline_in("请于12月1日前补充", today) == date(2026, 12, 1)  # yesterday: passed
    assert deadline_in("请于12月20日前补充", today) == date(2026, 12, 20)
    assert deadline_in("请于1月5日前补充", today) == date(2027, 1, 5)
    assert deadline_in("请于2月29日前补充", date(2027, 12, 1)) == date(2028, 2, 29)
    assert deadline_in("请于2月30日前补充", today) is None


def test_a_deadline_already_passed_is_said_so_to_the_merchant_and_the_operator():
    for note in ("请于2026-12-01前补充", "请于12月1日前补充"):
        outcome = router.apply_order(
            state_with(10001, **SUBMITTED),
            OperatorOrder("setstatus", 10001, "need_more", note, "operator:999"),
            context(NOW),
        )
        [push] = outcome.screens
        assert push.data["deadline"] == "2026-12-01"
        shown = text_of(push)
        assert "已经过了" in shown and "到期前我会提醒你" not in shown
        # its reminder's moment has passed too: the store records it skipped, never sent
        assert all(p.due < NOW for p in outcome.plan or () if p.kind == "need_more_deadline")
        done = text_of(router.done_screen(10001, "need_more", note, True, "", NOW.date()))
        assert "已经过了" in done and "不会收到到期提醒" in done
    ahead = text_of(router.done_screen(10001, "need_more", "12月20日前", True, "", NOW.date()))
    assert "到期前会提醒商家" in ahead
    none = text_of(router.done_screen(10001, "need_more", "补营业执照", True, "", NOW.date()))
    assert "没有写补充期限" in none


# --- 4: a payment date of today after the reminder time; 明天 understood -----------------------


def test_a_fee_date_of_today_after_ten_says_no_reminder_will_come_and_tomorrow_is_read():
    s = Session(context(NOW), route="agency")  # 12:28, after the 10:00 reminder time
    s.press("rfee")
    s.send("今天")
    assert s.screen.template == "reminders" and s.screen.data["fee_missed"]
    assert "不会再单独提醒" in text_of(s.screen)
    morning = Session(context(at(2026, 12, 2, 9, 30)), route="agency")
    morning.press("rfee")
    morning.send("今天")
    assert not morning.screen.data["fee_missed"]  # the reminder comes at 10:00
    for word, day in (("明天", "2026-12-03"), ("后天", "2026-12-04")):
        s.press("rfee")
        s.send(word)
        assert s.state.data["reminders"]["fee_date"] == day, word
        assert not s.screen.data["fee_missed"]


# --- 7: a question typed into the company-name prompt is answered, not added -----------------


def test_a_question_typed_as_a_company_name_is_answered_not_added():
    s = Session(context(NOW), route="agency")
    s.press("agadd")
    for question in ("怎么发货", "如何选托管公司", "多久能审核完"):
        s.send(question)
        assert not s.state.data.get("agency", {}).get("candidates"), question
        assert s.state.data["input"]["kind"] == "agency_name"  # the prompt stays open
    # names with a question word inside are still names
    for name in ("哪吒保底代运营", "快发货家居代运营"):
        s.send(name)
        names = [c["name"] for c in s.state.data["agency"]["candidates"]]
        assert name in names, name
        s.press("agadd")


# --- 6: a question asked mid-questionnaire is answered with a way back to the question --------


def test_a_question_typed_mid_questionnaire_offers_to_continue_it():
    for route, start, answer in (("agency", None, "aga"), ("platform", ("sc",), "sca")):
        s = Session(context(NOW), route=route)
        if start is None:
            s.press("agadd")
            s.send("星河代运营")  # added: question 1 is on screen
        else:
            s.press(*start)
            s.press("scn")
        question = s.screen
        [first] = [args for action, args in actions(question) if action == answer][:1]
        s.press(answer, *first)  # answered: question 2 on screen
        second = s.screen
        s.send("怎么发货")
        assert s.screen.template != second.template  # the shipping guide
        [[again]] = [row for row in s.screen.buttons if row[0].label == "resume_question"]
        s.press(again.action, *again.args)
        assert s.screen.template == second.template and s.screen.data == second.data, route
        # having moved on, a later question is answered without it
        s.do(Command("status"))
        s.send("审核要多久")
        assert not [b for row in s.screen.buttons for b in row if b.label == "resume_question"]


# --- operators: /stats with no merchants, /merchant history in words --------------------------


def test_stats_without_merchants_has_no_empty_headings_and_history_reads_in_chinese():
    empty = {"total": 0, "route": {}, "status": {}, "unreachable": 0, "pending_reminders": 0}
    shown = text_of(router.stats_screen(empty))
    assert "共 0 位商家" in shown and "按路线" not in shown and "待发提醒：0 条" in shown
    some = {**empty, "total": 2, "route": {"platform": 2}, "status": {"submitted": 2}}
    assert "按路线" in text_of(router.stats_screen(some))
    history = [
        {"at": "2026-12-01T02:00:00+00:00", "by": "merchant", "old": None, "new": "submitted"}
        | {"note": ""},
        {"at": "2026-12-02T02:00:00+00:00", "by": "operator:999", "old": "submitted"}
        | {"new": "approved", "note": ""},
    ]
    state = state_with(10001, **{**SUBMITTED, "status": "approved"})
    extra = {"reminders": [], "unreachable": False}
    card = text_of(router.merchant_card(state, history, context(NOW), extra))
    assert "operator" not in card and "submitted" not in card and "approved" not in card
    assert "运营 999" in card and "商家自己" in card and "审核通过" in card


# --- route A's company-name prompt does not survive a switch to route B -----------------------


def test_the_company_name_prompt_is_closed_by_switching_to_route_b():
    s = Session(context(NOW), route="agency")
    s.press("agadd")
    assert s.state.data["input"]["kind"] == "agency_name"
    s.press("setroute", "platform")
    assert "suspended" not in s.state.data and "input" not in s.state.data
    assert not [b for row in s.screen.buttons for b in row if b.action == "resume"]
    out = s.press("resume")  # an older 继续填写 button
    assert out.notice == "stale"
    s.send("星河代运营")
    assert not (s.state.data.get("agency") or {}).get("candidates")
