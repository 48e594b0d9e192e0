"""Flow tests of defects found by walking the playground: a result recorded for a merchant who
never submitted, old buttons of the other route, a stale 我已提交, a resubmission dated before
the result, a snooze past the review window, the route switch's wording, a leader with no
answers, the other route's FAQ lines, and three small ones (a huge contact, 昨天 as a payment
date, the status the merchant already has). Pure flows: no I/O, no Telegram."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flows import reminders as rem
from flows import router
from flows.core import Command, MerchantState, OperatorOrder, Outcome, Press, Screen, Text
from tests.flowkit import CATALOG, Session, actions, context, run, state_with, text_of

SH = ZoneInfo("Asia/Shanghai")
CFG = CATALOG["agency"]
CRITERIA = [c["key"] for c in CFG["criteria"]]
FLAGS = [f["key"] for f in CFG["red_flags"]]
SELF_CHECK = [i["key"] for i in CFG["self_check"]]
STATUS_NAMES = {k: v["name"] for k, v in CATALOG["statuses"]["statuses"].items()}


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


NOW = at(2026, 10, 15, 11)


def order(status: str, target: int = 10003) -> OperatorOrder:
    return OperatorOrder("setstatus", target, status, "", "operator:999")


# --- A: a result for a merchant with no route, or no submission on the route ---------------


def test_a_result_for_a_merchant_without_a_route_is_refused_and_changes_nothing():
    ctx = context(NOW)
    state = MerchantState(10003, created=False, data={})  # only sent /start
    for status in ("approved", "need_more", "submitted"):
        refused = router.refused_order(state, order(status), ctx)
        assert refused is not None and refused.template == "operator_usage"
        assert refused.data["error"] == "no_route" and refused.data["given"] == "10003"
        out = router.apply_order(state, order(status), ctx)
        assert out.screens == [] and out.records == [] and not out.changed
        assert out.state.data == {}
    # the operator is told how to go on: the merchant picks a route, then submitted
    assert "/setstatus 10003 submitted" in text_of(refused)


def test_a_result_without_a_submission_on_the_route_is_refused_but_submitted_records_one():
    ctx = context(NOW)
    state = MerchantState(10003, created=False, data={"route": "platform"})
    refused = router.refused_order(state, order("approved"), ctx)
    assert refused is not None and refused.data["error"] == "no_submission"
    assert refused.data["status"] == "approved"
    assert "/setstatus 10003 submitted" in text_of(refused)
    assert STATUS_NAMES["approved"] in text_of(refused)
    out = router.apply_order(state, order("approved"), ctx)
    assert out.screens == [] and not out.changed and out.plan is None
    # 已提交 is allowed on a chosen route: it records the submission (outside the bot) today
    assert router.refused_order(state, order("submitted"), ctx) is None
    out = router.apply_order(state, order("submitted"), ctx)
    assert out.state.data["submitted_on"] == "2026-10-15"
    assert out.state.data["status"] == "submitted"
    assert out.screens[0].template == "status_push"
    submitted = MerchantState(10003, created=False, data=out.state.data)
    assert router.refused_order(submitted, order("approved"), ctx) is None
    out = router.apply_order(submitted, order("approved"), ctx)
    assert out.state.data["status"] == "approved" and out.screens


def test_a_submission_parked_on_the_other_route_does_not_count():
    ctx = context(NOW)
    data = {
        "route": "agency",
        "reviews": {"platform": {"submitted_on": "2026-10-01", "status": "submitted"}},
    }
    refused = router.refused_order(
        MerchantState(5, created=False, data=data), order("approved"), ctx
    )
    assert refused is not None and refused.data["error"] == "no_submission"


# --- B: the other route's old buttons -------------------------------------------------------


def test_old_self_check_buttons_are_stale_after_switching_to_route_a():
    s = Session(context(NOW), route="platform")
    s.press("sc")
    assert s.screen.template == "selfcheck_home"
    s.press("setroute", "agency")
    for action, args in (
        ("sc", ()),
        ("scn", ()),
        ("sce", ("0",)),
        ("scq", (SELF_CHECK[1], "r")),
        ("sca", (SELF_CHECK[1], "yes")),
    ):
        out = s.press(action, *args)
        assert out.notice == "stale", action
        assert s.screen.template == "agency_home", action  # route A's own screen
    assert "self_check" not in s.state.data  # no answer was taken


def test_old_candidate_buttons_are_stale_after_switching_to_route_b():
    cand = {"id": 1, "name": "星河代运营", "answers": {}, "flags": {}}
    s = Session(context(NOW), route="agency", agency={"candidates": [cand], "next_id": 2})
    s.press("agc", 1)
    assert s.screen.template == "agency_card"
    s.press("setroute", "platform")
    for action, args in (
        ("ag", ()),
        ("agc", ("1",)),
        ("agcmp", ()),
        ("agadd", ()),
        ("agpick", ("1",)),
        ("agq", ("1", CRITERIA[0])),
        ("aga", ("1", CRITERIA[0], "yes")),
    ):
        out = s.press(action, *args)
        assert out.notice == "stale", action
        assert s.screen.template == "selfcheck_home", action
    assert s.state.data["agency"]["candidates"][0]["answers"] == {}
    assert s.state.data["agency"].get("chosen") is None
    assert "input" not in s.state.data


# --- C: a stale 我已提交 after an edit ------------------------------------------------------


def test_a_stale_i_have_submitted_after_an_edit_shows_the_summary_to_confirm():
    s = Session(context(at(2026, 9, 28, 10)), route="platform")
    s.do(Command("apply"))
    for text in ("星河", "家居", "5万", "a@example.com"):
        s.send(text)
    s.press("apok")
    assert s.screen.template == "apply_howto"
    assert ("apsub", ()) in actions(s.screen)
    s.press("apf", 0)
    s.send("新名字")  # the answers changed: no longer confirmed
    out = s.press("apsub")  # the old 我已提交 button
    assert out.notice == "stale"
    assert s.screen.template == "apply_summary" and not s.screen.data["confirmed"]
    assert ("apok", ()) in actions(s.screen)
    assert "submitted_on" not in s.state.data and "status" not in s.state.data
    s.press("apok")
    s.press("apsub")
    assert s.state.data["submitted_on"] == "2026-09-28"


# --- D: /submitted dated before the result it answers --------------------------------------


def resubmitting(status: str) -> dict:
    return {
        "route": "platform",
        "submitted_on": "2026-09-28",
        "status": status,
        "status_on": "2026-10-09",
        "need_more": {"note": "补品牌授权书", "deadline": None} if status == "need_more" else None,
    }


def test_a_resubmission_dated_before_the_result_is_refused():
    for status in ("need_more", "rejected"):
        data = {k: v for k, v in resubmitting(status).items() if v is not None}
        for typed in ("2026-09-20", "2026-10-08", "10月1日"):
            out = run(state_with(**data), Command("submitted", typed), ctx=context(NOW))
            screen = out.screens[0]
            assert screen.template == "submitted_error", (status, typed)
            assert screen.data["error"] == "before_result"
            assert (screen.data["status"], screen.data["since"]) == (status, "2026-10-09")
            assert out.state.data == data and not out.records and not out.changed
            assert STATUS_NAMES[status] in text_of(screen)
        # on the day of the result or later it is a new review cycle
        out = run(state_with(**data), Command("submitted", "2026-10-09"), ctx=context(NOW))
        assert out.screens[0].template == "submitted"
        assert out.state.data["status"] == "submitted" and out.state.data["cycle"] == 2


def test_a_corrected_date_under_review_may_still_be_earlier():
    data = {"route": "platform", "submitted_on": "2026-09-28", "status": "submitted"}
    data["status_on"] = "2026-09-28"
    out = run(state_with(**data), Command("submitted", "2026-09-25"), ctx=context(NOW))
    assert out.screens[0].template == "submitted"
    assert out.state.data["submitted_on"] == "2026-09-25"


# --- E: the window's opening is never put off past the window's last day --------------------

UNDER_REVIEW = {"route": "platform", "status": "submitted", "submitted_on": "2026-09-28"}
KEY = "window_open/2026-09-28"  # window 2026-10-08 … 2026-10-13


def snooze(now: datetime) -> Outcome:
    return run(state_with(**UNDER_REVIEW), Press("rsz", (KEY, "m")), ctx=context(now))


def test_snoozing_the_window_opening_on_its_last_day_is_refused():
    out = snooze(at(2026, 10, 13, 11))
    assert out.notice == "snooze_last_day"
    assert not (out.state.data.get("reminders") or {}).get("snoozed")
    assert CATALOG["ui"]["notices"]["snooze_last_day"]


def test_snoozing_the_window_opening_never_goes_past_its_last_day():
    for now in (at(2026, 10, 12, 15), at(2026, 10, 13, 8)):
        out = snooze(now)
        assert out.notice == "snoozed"
        assert out.state.data["reminders"]["snoozed"][KEY] == "2026-10-13T10:00+08:00"
        assert out.notice_params["day"] == "2026-10-13"
    out = snooze(at(2026, 10, 8, 10, 5))  # on the first day: the next day, as before
    assert out.state.data["reminders"]["snoozed"][KEY] == "2026-10-09T10:05+08:00"


def test_the_window_opening_is_worded_for_the_day_it_arrives():
    planned = {p.kind: p for p in rem.plan(UNDER_REVIEW, CATALOG, SH, NOW)}["window_open"]

    def shown(day: str) -> str:
        screen = rem.reminder_screen("window_open", planned.key, planned.data, today=None)
        data = {**screen.data, "data": {**screen.data["data"], "today": day}}
        return text_of(Screen(screen.template, data, screen.buttons))

    middle, last, after = shown("2026-10-10"), shown("2026-10-13"), shown("2026-10-14")
    assert len({middle, last, after}) == 3  # the last day and after are not told "最晚 … 前后"
    assert "10月13日" in middle and "10月13日" not in last


# --- F: switching back to a route with a saved application ---------------------------------


def route_set(**data: object) -> str:
    return text_of(Screen("route_set", {"route": "platform", "previous": "agency", **data}))


def test_switching_back_says_the_restored_record_without_asking_for_a_new_submission():
    both = route_set(parked="approved", restored="submitted")
    assert STATUS_NAMES["approved"] in both and STATUS_NAMES["submitted"] in both
    assert "另外提交" not in both  # it has one already: restored
    parked_only = route_set(parked="approved", restored=None)
    assert "另外提交" in parked_only
    assert STATUS_NAMES["submitted"] not in parked_only


# --- G: no leader without answers ----------------------------------------------------------


def compare(*cands: dict) -> Screen:
    s = Session(context(NOW), route="agency", agency={"candidates": list(cands), "next_id": 9})
    s.press("agcmp")
    return s.screen


def cand(cid: int, yes: int, red: bool = False) -> dict:
    return {
        "id": cid,
        "name": f"公司{cid}",
        "answers": {k: "yes" for k in CRITERIA[:yes]},
        "flags": {FLAGS[0]: "yes"} if red else {},
    }


def test_an_unanswered_candidate_is_not_named_leader():
    screen = compare(cand(1, 8, red=True), cand(2, 0))
    assert screen.data["leader"] is None and screen.data["comparable"] == 0
    assert "公司2" not in text_of(screen).split("危险信号")[-1]  # not named after the table
    screen = compare(cand(1, 8, red=True), cand(2, 0), cand(3, 2))
    assert screen.data["leader"] == 2 and screen.data["comparable"] == 1


def test_the_no_leader_sentences_differ():
    unanswered = text_of(compare(cand(1, 8, red=True), cand(2, 0)))
    tie = text_of(compare(cand(1, 3), cand(2, 3)))
    tail = [t.rsplit("\n\n", 2)[-2] for t in (unanswered, tie)]
    assert tail[0] != tail[1]


# --- H: the FAQ in the merchant's own route's words ----------------------------------------


def faq_text(route: str | None, question: str) -> str:
    data = {"route": route} if route else {}
    out = run(state_with(**data), Text(question), ctx=context(NOW))
    return text_of(out.screens[0])


def test_faq_answers_show_only_the_merchants_route():
    answers = CATALOG["faq"]["answers"]
    for question, topic in (("多少钱", "cost"), ("保证金多少", "cost"), ("要准备什么资料", "docs")):
        own = answers[topic]["routes"]
        for chosen, other in (("agency", "platform"), ("platform", "agency")):
            text = faq_text(chosen, question)
            assert all(line in text for line in own[chosen]), (question, chosen)
            assert not any(line in text for line in own[other]), (question, chosen)
        neither = faq_text(None, question)
        assert all(line in neither for lines in own.values() for line in lines)
    assert "保证金" not in faq_text("agency", "保证金多少")


# --- I: small ones ---------------------------------------------------------------------------


def test_a_huge_wechat_id_is_too_long_not_unrecognised():
    s = Session(context(NOW), route="platform")
    s.do(Command("apply"))
    for text in ("星河", "家居", "5万"):
        s.send(text)
    s.send("wx" + "a" * 5000)
    assert s.screen.template == "apply_prompt"
    assert s.screen.data["error"] == "too_long"
    assert s.screen.data["error_details"]["length"] == 5002


def test_yesterday_as_the_fee_date_is_in_the_past_not_unreadable():
    s = Session(context(NOW), route="agency")
    s.press("rfee")
    for word in ("昨天", "前天"):
        s.send(word)
        assert s.screen.template == "fee_prompt" and s.screen.data["error"] == "past"
    s.send("今天")
    assert s.state.data["reminders"]["fee_date"] == "2026-10-15"


def test_status_does_not_offer_the_status_the_merchant_already_has():
    data = {k: v for k, v in resubmitting("need_more").items() if v is not None}
    out = run(state_with(**data), Command("status"), ctx=context(NOW))
    reports = [args[0] for action, args in actions(out.screens[0]) if action == "rep"]
    assert reports == ["approved", "rejected"]
    data["status"] = "submitted"
    out = run(state_with(**data), Command("status"), ctx=context(NOW))
    reports = [args[0] for action, args in actions(out.screens[0]) if action == "rep"]
    assert reports == ["approved", "need_more", "rejected"]
