"""Unit tests of the document checklist flow (flows/docs.py): pure, no I/O."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import callbacks
from bot.telegram_html import visible_length
from flows import checklist as shared
from flows import docs, router, uploads
from flows.core import (
    Command,
    Context,
    Event,
    MerchantState,
    Outcome,
    Press,
    Rejected,
    Screen,
    Stored,
    Upload,
)
from tests import flowkit
from tests.flowkit import actions, render, state_with
from tests.flowkit import label_keys as labels
from tests.harness import contents

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MB = 1024 * 1024
CATALOG = contents().default.catalog
AGENCY = [i["key"] for i in CATALOG["documents"]["routes"]["agency"]]
PLATFORM = [i["key"] for i in CATALOG["documents"]["routes"]["platform"]]
NAMES = {i["key"]: i["name"] for i in CATALOG["documents"]["routes"]["agency"]}
NAMES_P = {i["key"]: i["name"] for i in CATALOG["documents"]["routes"]["platform"]}


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(CATALOG, NOW)


def run(state: MerchantState, event: Event, ctx: Context) -> Outcome:
    """One event through the router (as the adapter does)."""
    return flowkit.run(state, event, ctx=ctx)


def upload(size: int | None = 1000, name: str = "a.pdf", kind: str = "document") -> Upload:
    return Upload("FILEID", name, size, kind, "application/pdf" if kind == "document" else None)


def stored(item: str, n: int = 1, mime: str = "application/pdf") -> Stored:
    return Stored(item, f"7/{n:032x}.pdf", f"{n:064x}", 1000 * n, mime)


def platform_answered(brand: bool = True, permit: bool = False, **extra: object) -> MerchantState:
    return state_with(
        route="platform", docs={"conditions": {"brand": brand, "permit": permit}}, **extra
    )


# --- opening the topic -------------------------------------------------------------------


def test_without_a_route_the_route_choice_comes_first(ctx):
    out = run(MerchantState(7), Command("docs"), ctx)
    [screen] = out.screens
    assert screen.template == "route_choice" and not screen.edit
    assert ("setroute", ("agency", "docs")) in actions(screen)
    out = run(MerchantState(7), Press("docs"), ctx)
    assert out.screens[0].template == "route_choice" and out.screens[0].edit


def test_agency_checklist_has_its_four_items_and_no_questions(ctx):
    out = run(state_with(route="agency"), Command("docs"), ctx)
    [screen] = out.screens
    assert screen.template == "docs_checklist" and not screen.edit
    assert [i["key"] for i in screen.data["items"]] == AGENCY
    assert screen.data["ready"] == 0 and screen.data["needed"] == len(AGENCY) == 4
    assert actions(screen) == [("dci", (k,)) for k in AGENCY] + [("menu", ())]
    assert set(labels(screen)[:4]) == {"dc_item_todo"}
    assert run(state_with(route="agency"), Press("docs"), ctx).screens[0].edit


def test_platform_asks_both_conditions_first_then_shows_the_checklist(ctx):
    state = state_with(route="platform")
    out = run(state, Command("docs"), ctx)
    [q1] = out.screens
    assert q1.template == "docs_question" and q1.data["condition"] == "brand"
    assert ("dcq", ("brand", "y", "l")) in actions(q1) and ("dcq", ("brand", "n", "l")) in actions(
        q1
    )
    assert ("dcl", ()) in actions(q1) and ("menu", ()) in actions(q1)  # a way on and a way back
    out = run(out.state, Press("dcq", ("brand", "y", "l")), ctx)
    [q2] = out.screens
    assert q2.template == "docs_question" and q2.data["condition"] == "permit" and q2.edit
    out = run(out.state, Press("dcq", ("permit", "n", "l")), ctx)
    [checklist] = out.screens
    assert checklist.template == "docs_checklist"
    assert out.state.data["docs"]["conditions"] == {"brand": True, "permit": False}
    statuses = {i["key"]: i["status"] for i in checklist.data["items"]}
    assert statuses["industry_permit"] == "skip" and statuses["brand_auth"] == "todo"
    assert checklist.data["needed"] == 4  # 不需要 is not counted
    assert "dc_item_skip" in labels(checklist)
    # answered questions are not asked again
    again = run(out.state, Command("docs"), ctx)
    assert again.screens[0].template == "docs_checklist"


def test_skipping_the_questions_shows_them_as_open_items(ctx):
    out = run(state_with(route="platform"), Press("dcl"), ctx)
    [screen] = out.screens
    statuses = {i["key"]: i["status"] for i in screen.data["items"]}
    assert statuses["brand_auth"] == statuses["industry_permit"] == "ask"
    assert screen.data["needed"] == 5  # unanswered counts as needed
    # opening an unanswered item asks its question, then comes back to the item
    [question] = run(out.state, Press("dci", ("brand_auth",)), ctx).screens
    assert question.template == "docs_question" and ("dcq", ("brand", "n", "i")) in actions(
        question
    )
    after = run(out.state, Press("dcq", ("brand", "n", "i")), ctx)
    assert after.screens[0].template == "docs_item"
    assert after.screens[0].data["item"]["key"] == "brand_auth"
    assert after.screens[0].data["status"] == "skip"


def test_a_no_can_be_changed_later(ctx):
    state = platform_answered(brand=True, permit=False)
    [item] = run(state, Press("dci", ("industry_permit",)), ctx).screens
    assert item.data["status"] == "skip"
    assert ("dcc", ("permit",)) in actions(item) and ("dcl", ()) in actions(item)
    assert not any(a in ("dcm", "dcu") for a, _ in actions(item))  # not needed: nothing to do
    [question] = run(state, Press("dcc", ("permit",)), ctx).screens
    assert question.data["answer"] is False
    out = run(state, Press("dcq", ("permit", "y", "i")), ctx)
    assert out.state.data["docs"]["conditions"]["permit"] is True
    assert out.screens[0].data["status"] == "todo"
    assert docs.summary(out.state.data, CATALOG)["needed"] == 5


# --- marking and progress ----------------------------------------------------------------


def test_marking_and_unmarking_an_item(ctx):
    state = state_with(route="agency")
    out = run(state, Press("dcm", ("license", "1")), ctx)
    assert out.notice == "dc_marked"
    assert out.state.data["docs"]["items"]["license"] == {"marked": True}
    [item] = out.screens
    assert item.template == "docs_item" and item.edit and item.data["status"] == "marked"
    assert ("dcm", ("license", "0")) in actions(item)
    twice = run(out.state, Press("dcm", ("license", "1")), ctx)  # a double press: still marked
    assert twice.state.data == out.state.data
    undone = run(out.state, Press("dcm", ("license", "0")), ctx)
    assert undone.notice == "dc_unmarked"
    assert not undone.state.data["docs"]["items"]["license"].get("marked")
    assert ("dcm", ("license", "1")) in actions(undone.screens[0])


def test_progress_counts_needed_items_that_are_ready(ctx):
    state = platform_answered(brand=True, permit=True)
    for key in ("license", "tax", "brand_auth"):
        state = run(state, Press("dcm", (key, "1")), ctx).state
    [checklist] = run(state, Press("dcl"), ctx).screens
    assert (checklist.data["ready"], checklist.data["needed"]) == (3, 5)
    text = render(checklist)
    assert "资料 3/5" in text and "▰▰▰▱▱" in text
    summary = docs.summary(state.data, CATALOG)
    assert summary == {
        "done": False,
        "started": True,
        "ready": 3,
        "needed": 5,
        "missing": [NAMES_P["industry_permit"], NAMES_P["shop_info"]],
    }
    # answering "no" for the permit takes it out of the count
    state = run(state, Press("dcq", ("permit", "n", "l")), ctx).state
    state = run(state, Press("dcm", ("shop_info", "1")), ctx).state
    summary = docs.summary(state.data, CATALOG)
    assert summary["done"] and (summary["ready"], summary["needed"]) == (4, 4)
    [done] = run(state, Press("dcl"), ctx).screens
    assert done.data["done"] and ("apply", ()) in actions(done)


def test_summary_before_anything(ctx):
    assert docs.summary({}, CATALOG) == {
        "done": False,
        "started": False,
        "ready": 0,
        "needed": 0,
        "missing": [],
    }
    fresh = docs.summary({"route": "agency"}, CATALOG)
    assert fresh["needed"] == 4 and not fresh["started"] and len(fresh["missing"]) == 4
    unanswered = docs.summary({"route": "platform"}, CATALOG)
    assert unanswered["needed"] == 5 and NAMES_P["brand_auth"] in unanswered["missing"]


def test_the_same_item_key_is_shared_between_routes(ctx):
    state = state_with(route="agency")
    state = run(state, Press("dcm", ("license", "1")), ctx).state
    state.data["route"] = "platform"
    assert docs.summary(state.data, CATALOG)["ready"] == 1
    # an item of the other route is not reachable from this one
    out = run(state, Press("dci", ("legal_id",)), ctx)
    assert out.notice == "stale" and out.screens[0].template == "docs_checklist"


# --- files ----------------------------------------------------------------------------


def test_upload_button_sets_the_target_and_the_next_file_is_fetched_for_it(ctx):
    state = state_with(route="agency")
    out = run(state, Press("dcu", ("legal_id",)), ctx)
    [send] = out.screens
    assert send.template == "docs_send" and send.edit
    assert out.state.data["docs"]["target"]["item"] == "legal_id"
    assert ("dci", ("legal_id",)) in actions(send) and ("dcl", ()) in actions(send)
    event = upload(3 * MB, "身份证.pdf")
    first = run(out.state, event, ctx)
    assert first.download == event and first.download_item == "legal_id"
    assert first.screens == []  # nothing shown until the adapter has the file
    second = run(first.state, stored("legal_id"), ctx)
    record = second.state.data["docs"]["items"]["legal_id"]
    assert record["file"]["name"] == "身份证.pdf"
    assert record["file"]["sha256"] == f"{1:064x}" and record["file"]["size"] == 1000
    assert record["file"]["at"] == NOW.isoformat(timespec="seconds")
    assert "target" not in second.state.data["docs"] and "incoming" not in second.state.data["docs"]
    [confirm] = second.screens
    assert confirm.template == "docs_checklist" and not confirm.edit
    assert confirm.data["ready"] == 1 and confirm.data["stored"]["replaced"] is False
    assert ("dci", ("legal_id",)) in actions(confirm)
    assert "dc_item_file" in labels(confirm)
    text = render(confirm)
    assert NAMES["legal_id"] in text and "资料 1/4" in text


def test_a_new_upload_replaces_the_file_and_keeps_the_old_one_in_history(ctx):
    state = state_with(route="agency")
    for n in (1, 2, 3):
        state = run(state, Press("dcu", ("license",)), ctx).state
        state = run(state, upload(name=f"v{n}.pdf"), ctx).state
        out = run(state, stored("license", n), ctx)
        state = out.state
    record = state.data["docs"]["items"]["license"]
    assert record["file"]["name"] == "v3.pdf"
    assert [h["name"] for h in record["history"]] == ["v1.pdf", "v2.pdf"]
    assert out.screens[0].data["stored"] == {
        "item": NAMES["license"],
        "file": record["file"],
        "replaced": True,
        "versions": 2,
    }
    [item] = run(state, Press("dci", ("license",)), ctx).screens
    assert item.data["status"] == "file" and item.data["versions"] == 2
    assert "dc_reupload" in labels(item) and "dc_mark" not in labels(item)
    assert "3 KB" in render(item) and "2 个旧版本" in render(item)


@pytest.mark.parametrize("target", [True, False])
def test_an_oversized_file_is_refused_at_once_and_changes_nothing(ctx, target):
    state = state_with(route="agency")
    if target:
        state = run(state, Press("dcu", ("license",)), ctx).state
    out = run(state, upload(20 * MB + 1, "big.pdf"), ctx)
    assert out.download is None
    assert out.state.data == state.data
    [refused] = out.screens
    assert refused.template == "docs_refused" and refused.data["reason"] == "size"
    # rounded up: one byte over reads as more than the limit
    assert "最多 20 MB" in render(refused) and "20.1 MB" in render(refused)
    # exactly 20 MB is still accepted
    assert run(state, upload(20 * MB), ctx).download is not None or not target


@pytest.mark.parametrize(
    ("reason", "detail", "words"),
    [
        ("type", "zip", ("ZIP", "PDF", "JPG", "PNG")),
        ("type", "", ("PDF",)),
        ("size", "", ("20 MB",)),
        ("download", "", ("再发",)),
    ],
)
def test_a_rejected_file_is_explained_and_nothing_changes(ctx, reason, detail, words):
    state = run(state_with(route="agency"), Press("dcm", ("license", "1")), ctx).state
    state = run(state, Press("dcu", ("product_info",)), ctx).state
    first = run(state, upload(), ctx)
    out = run(first.state, Rejected("product_info", reason, detail), ctx)
    assert out.state.data == state.data  # the target stays: the merchant can send again
    [refused] = out.screens
    assert refused.template == "docs_refused" and not refused.edit
    assert ("dci", ("product_info",)) in actions(refused) and ("dcl", ()) in actions(refused)
    text = render(refused)
    assert NAMES["product_info"] in text
    for word in words:
        assert word in text


def test_a_file_without_a_target_asks_which_item_it_is(ctx):
    state = platform_answered(brand=False, permit=True)
    photo = upload(250_000, "photo.jpg", kind="photo")
    out = run(state, photo, ctx)
    assert out.download is None
    [which] = out.screens
    assert which.template == "docs_which" and not which.edit
    picks = [args for action, args in actions(which) if action == "dcp"]
    pid = shared.pending_id("FILEID")
    assert picks == [
        (key, pid) for key in ("license", "tax", "industry_permit", "shop_info")
    ]  # 不需要 is not offered
    assert ("dcn", (pid,)) in actions(which) and ("dcl", ()) in actions(which)
    [pending] = out.state.data["docs"]["pending"]
    assert pending["file_id"] == "FILEID" and pending["size"] == 250_000
    # the checklist offers to sort it later
    assert ("dcw", ()) in actions(run(out.state, Press("dcl"), ctx).screens[0])
    assert run(out.state, Press("dcw"), ctx).screens[0].template == "docs_which"
    # picking an item fetches the pending file
    picked = run(out.state, Press("dcp", ("tax", pid)), ctx)
    assert picked.download == photo and picked.download_item == "tax"
    assert "pending" not in picked.state.data["docs"]
    done = run(picked.state, stored("tax", mime="image/jpeg"), ctx)
    assert done.screens[0].edit  # replaces the question that was pressed
    assert done.state.data["docs"]["items"]["tax"]["file"]["mime"] == "image/jpeg"


def test_the_pending_file_can_be_discarded(ctx):
    state = run(state_with(route="agency"), upload(), ctx).state
    out = run(state, Press("dcn"), ctx)
    assert out.notice == "dc_discarded" and "pending" not in out.state.data["docs"]
    assert out.screens[0].template == "docs_checklist"
    again = run(out.state, Press("dcn"), ctx)
    assert again.notice == "stale"


def test_an_old_target_is_not_used(ctx):
    state = run(state_with(route="agency"), Press("dcu", ("license",)), ctx).state
    later = Context(CATALOG, NOW + shared.TARGET_TTL + timedelta(minutes=1))
    out = run(state, upload(), later)
    assert out.download is None and out.screens[0].template == "docs_which"
    # leaving the item also drops the target
    state = run(state, Press("dcl"), ctx).state
    assert run(state, upload(), ctx).screens[0].template == "docs_which"


def test_a_file_before_a_route_is_kept_until_a_route_is_chosen(ctx):
    out = run(MerchantState(7), upload(name="执照.pdf"), ctx)
    assert out.screens[0].template == "route_choice"
    assert out.state.data["docs"]["pending"][0]["file_name"] == "执照.pdf"
    state = run(out.state, Press("setroute", ("agency", "docs")), ctx).state
    [checklist] = run(state, Press("docs"), ctx).screens
    assert checklist.data["pending"]["name"] == "执照.pdf" and ("dcw", ()) in actions(checklist)


# --- a file while an item is open; several unsorted files; empty files -------------------


def test_a_file_sent_while_an_item_screen_is_open_belongs_to_that_item(ctx):
    state = state_with(route="agency")
    opened = run(state, Press("dci", ("legal_id",)), ctx)
    [item] = opened.screens
    assert item.template == "docs_item" and item.data["takes_files"]
    assert NAMES["legal_id"] in render(item) and "直接发来的照片或文件" in render(item)
    first = run(opened.state, upload(name="身份证.pdf"), ctx)
    assert first.download is not None and first.download_item == "legal_id"
    assert first.screens == []  # no "which item?" question
    done = run(first.state, stored("legal_id"), ctx)
    assert done.state.data["docs"]["items"]["legal_id"]["file"]["name"] == "身份证.pdf"
    assert "target" not in done.state.data["docs"]  # the item screen is no longer open
    # marking from the item screen keeps it open: the next file is still for it
    marked = run(state, Press("dcm", ("shop_info", "1")), ctx)
    assert run(marked.state, upload(), ctx).download_item == "shop_info"
    # the item shown after answering its question takes files too
    answered = run(
        platform_answered(brand=True, permit=False),
        Press("dcq", ("brand", "y", "i")),
        ctx,
    )
    assert answered.screens[0].template == "docs_item"
    assert run(answered.state, upload(), ctx).download_item == "brand_auth"


def test_items_that_cannot_take_a_file_do_not_capture_one(ctx):
    # an item marked not needed: its screen says so and a file asks which item
    state = platform_answered(brand=True, permit=False)
    skipped = run(state, Press("dci", ("industry_permit",)), ctx)
    assert skipped.screens[0].data["takes_files"] is False
    assert "直接发来的照片或文件" not in render(skipped.screens[0])
    assert run(skipped.state, upload(), ctx).screens[0].template == "docs_which"
    # an item whose question is not answered yet shows the question, not the item
    asked = run(state_with(route="platform"), Press("dci", ("brand_auth",)), ctx)
    assert asked.screens[0].template == "docs_question"
    assert run(asked.state, upload(), ctx).screens[0].template == "docs_which"
    # leaving the item for the checklist: the next file is asked about
    opened = run(state_with(route="agency"), Press("dci", ("license",)), ctx).state
    listed = run(opened, Press("dcl"), ctx).state
    assert run(listed, upload(), ctx).screens[0].template == "docs_which"


def test_a_second_unsorted_file_waits_beside_the_first_and_each_is_sorted(ctx):
    state = state_with(route="agency")
    a = Upload("FILE-A", "a.pdf", 1000, "document", "application/pdf")
    b = Upload("FILE-B", "b.jpg", 2000, "photo", "image/jpeg")
    ida, idb = shared.pending_id("FILE-A"), shared.pending_id("FILE-B")
    first = run(state, a, ctx)
    [which_a] = first.screens
    assert which_a.data["others"] == 0 and ("dcp", ("license", ida)) in actions(which_a)
    second = run(first.state, b, ctx)
    [which_b] = second.screens
    assert which_b.template == "docs_which" and which_b.data["others"] == 1
    assert ("dcp", ("license", idb)) in actions(which_b) and ("dcn", (idb,)) in actions(which_b)
    assert "1 个文件也还在等你归类" in render(which_b)
    waiting = second.state.data["docs"]["pending"]
    assert [e["file_id"] for e in waiting] == ["FILE-A", "FILE-B"]  # nothing replaced
    # the checklist tells there are two
    [checklist] = run(second.state, Press("dcl"), ctx).screens
    assert checklist.data["pending"]["count"] == 2 and "2 个文件" in render(checklist)
    # sorting the second (its own buttons) leaves the first waiting
    picked = run(second.state, Press("dcp", ("legal_id", idb)), ctx)
    assert picked.download == b and picked.download_item == "legal_id"
    saved = run(picked.state, stored("legal_id", mime="image/jpeg"), ctx)
    assert [e["file_id"] for e in saved.state.data["docs"]["pending"]] == ["FILE-A"]
    [after] = saved.screens
    assert after.data["stored"] and after.data["pending"]["count"] == 1
    assert ("dcw", ()) in actions(after)
    # the first file's question (sent earlier) still works
    picked = run(saved.state, Press("dcp", ("license", ida)), ctx)
    assert picked.download == a and picked.download_item == "license"
    assert "pending" not in picked.state.data["docs"]
    # a question for a file already sorted is stale
    again = run(picked.state, Press("dcp", ("license", idb)), ctx)
    assert again.notice == "stale" and again.download is None


def test_discarding_one_waiting_file_keeps_the_others(ctx):
    state = state_with(route="agency")
    for n in range(3):
        state = run(state, Upload(f"F{n}", f"{n}.pdf", 10, "document"), ctx).state
    out = run(state, Press("dcn", (shared.pending_id("F1"),)), ctx)
    assert out.notice == "dc_discarded"
    assert [e["file_id"] for e in out.state.data["docs"]["pending"]] == ["F0", "F2"]
    # 归类 on the checklist shows the oldest one first
    [which] = run(out.state, Press("dcw"), ctx).screens
    assert which.data["name"] == "0.pdf" and which.data["others"] == 1
    [which] = run(out.state, Press("dcw", (shared.pending_id("F2"),)), ctx).screens
    assert which.data["name"] == "2.pdf"


def test_the_same_file_sent_twice_waits_once(ctx):
    state = run(state_with(route="agency"), upload(), ctx).state
    out = run(state, upload(), ctx)
    assert len(out.state.data["docs"]["pending"]) == 1
    assert out.screens[0].template == "docs_which" and out.screens[0].data["others"] == 0


def test_buttons_and_state_from_before_several_files_could_wait_still_work(ctx):
    legacy = {"file_id": "OLD", "file_name": "old.pdf", "size": 10, "kind": "document"}
    state = state_with(route="agency", docs={"pending": dict(legacy)})
    [checklist] = run(state, Command("docs"), ctx).screens
    assert checklist.data["pending"]["name"] == "old.pdf"
    # a which-screen sent by the older version had dcp:<key> and dcn, without an id
    picked = run(state, Press("dcp", ("license",)), ctx)
    assert picked.download is not None and picked.download.file_id == "OLD"
    assert "pending" not in picked.state.data["docs"]
    assert run(state, Press("dcn"), ctx).notice == "dc_discarded"
    # a new file joins the old one instead of replacing it
    out = run(state, upload(), ctx)
    assert [e["file_id"] for e in out.state.data["docs"]["pending"]] == ["OLD", "FILEID"]


def test_too_many_waiting_files_refuses_the_new_one_and_keeps_the_rest(ctx):
    state = state_with(route="agency")
    for n in range(uploads.MAX_PENDING):
        state = run(state, Upload(f"F{n}", f"{n}.pdf", 10, "document"), ctx).state
    out = run(state, Upload("ONE-MORE", "x.pdf", 10, "document"), ctx)
    assert out.state.data == state.data and out.download is None
    [refused] = out.screens
    assert refused.template == "docs_refused" and refused.data["reason"] == "queue"
    assert ("dcw", ()) in actions(refused)
    text = render(refused)
    assert f"{uploads.MAX_PENDING} 个文件" in text and "不会丢" in text


@pytest.mark.parametrize("where", ["item", "checklist", "no route"])
def test_an_empty_file_is_refused_politely_and_changes_nothing(ctx, where):
    state = {
        "item": run(state_with(route="agency"), Press("dci", ("license",)), ctx).state,
        "checklist": run(state_with(route="agency"), upload(), ctx).state,  # one waiting
        "no route": MerchantState(7),
    }[where]
    for event in (upload(0, "空.pdf"), upload(0, "photo.jpg", kind="photo")):
        out = run(state, event, ctx)
        assert out.download is None and out.state.data == state.data
        [refused] = out.screens
        assert refused.template == "docs_refused" and refused.data["reason"] == "empty"
        text = render(refused)
        assert "空的" in text and "0 字节" in text and "没有任何变化" in text
        if where == "item":
            assert NAMES["license"] in text and ("dci", ("license",)) in actions(refused)


def test_an_empty_file_found_by_the_adapter_is_explained(ctx):
    state = run(state_with(route="agency"), Press("dci", ("license",)), ctx).state
    first = run(state, upload(None), ctx)  # the size was not announced
    assert first.download_item == "license"
    out = run(first.state, Rejected("license", "empty"), ctx)
    assert out.state.data == state.data
    assert out.screens[0].data["reason"] == "empty" and "空的" in render(out.screens[0])


# --- forged and outdated buttons ---------------------------------------------------------


@pytest.mark.parametrize(
    "press",
    [
        Press("dci", ()),
        Press("dci", ("nope",)),
        Press("dci", ("legal_id", "extra", "args")),
        Press("dcm", ("license",)),
        Press("dcm", ("license", "2")),
        Press("dcm", ("industry_permit", "1")),  # not needed
        Press("dcu", ("industry_permit",)),
        Press("dcu", ("../../etc",)),
        Press("dcq", ("brand", "y")),
        Press("dcq", ("brand", "maybe", "l")),
        Press("dcq", ("brand", "y", "")),
        Press("dcq", ("nope", "y", "l")),
        Press("dcc", ("nope",)),
        Press("dcc", ()),
        Press("dcp", ("license",)),  # no pending file
        Press("dcw", ()),
        Press("dcn", ()),
    ],
)
def test_forged_or_outdated_buttons_get_a_notice_and_the_checklist(ctx, press):
    state = platform_answered(brand=True, permit=False)
    out = run(state, press, ctx)
    assert out.notice == "stale", press
    assert out.download is None
    [screen] = out.screens
    assert screen.template == "docs_checklist" and screen.edit and screen.buttons
    assert out.state.data == state.data


def test_docs_buttons_without_a_route_show_the_route_choice(ctx):
    out = run(MerchantState(7, created=False), Press("dci", ("license",)), ctx)
    assert out.notice == "stale" and out.screens[0].template == "route_choice"


def test_the_route_set_screen_continues_to_the_checklist(ctx):
    out = run(MerchantState(7), Press("setroute", ("agency", "docs")), ctx)
    assert ("docs", ()) in actions(out.screens[0])
    assert run(out.state, Press("docs"), ctx).screens[0].template == "docs_checklist"


# --- every screen the topic can show -----------------------------------------------------


def _walk(ctx: Context) -> list[tuple[str, Screen]]:
    """Every docs screen reachable from both routes, carrying the state along the presses."""
    seeds: list[tuple[str, MerchantState, Event]] = []
    for chosen in ("agency", "platform"):
        base = state_with(route=chosen)
        seeds.append((chosen, base, Command("docs")))
        seeds.append((chosen, base, upload()))
        seeds.append((chosen, base, upload(25 * MB)))
        for reason, detail in (
            ("type", "exe"),
            ("type", ""),
            ("size", "30000000"),
            ("download", ""),
        ):
            seeds.append((chosen, base, Rejected("license", reason, detail)))
        seeds.append((chosen, base, stored("license")))
        seeds.append((chosen, base, upload(0)))
        seeds.append((chosen, base, Rejected("license", "empty", "")))
        two = run(run(base, upload(), ctx).state, Upload("F2", "b.png", 9, "photo"), ctx).state
        seeds.append((chosen, two, Press("dcl")))
        full = base
        for n in range(uploads.MAX_PENDING):
            full = run(full, Upload(f"F{n}", f"{n}.pdf", 10, "document"), ctx).state
        seeds.append((chosen, full, upload()))
    seen: set[str] = set()
    shown: list[tuple[str, Screen]] = []
    queue = list(seeds)
    while queue and len(shown) < 3000:
        path, state, event = queue.pop(0)
        out = run(state, event, ctx)
        if out.download is not None:
            out = run(out.state, stored(out.download_item or "", len(shown)), ctx)
        for screen in out.screens:
            shown.append((path, screen))
            for button in (b for row in screen.buttons for b in row):
                key = json.dumps([button.action, button.args, out.state.data], sort_keys=True)
                if (
                    button.action in router.ACTIONS
                    and key not in seen
                    and (button.action.startswith("dc") or button.action == "docs")
                ):
                    seen.add(key)
                    queue.append(
                        (
                            f"{path} → {button.action}:{','.join(button.args)}",
                            out.state,
                            Press(button.action, button.args),
                        )
                    )
    return shown


def test_every_reachable_docs_screen_renders_within_telegram_limits(ctx):
    content = contents().default
    shown = _walk(ctx)
    templates = {screen.template for _, screen in shown}
    expected = {p.stem for p in (content.root / "zh-CN" / "templates").glob("docs_*.j2")}
    assert expected <= templates, expected - templates
    assert any(screen.data.get("stored") for _, screen in shown)  # the saved-file header
    for path, screen in shown:
        text = content.render_text(screen.template, screen.data)
        assert 0 < visible_length(text) <= 4096, path
        assert screen.buttons, f"{path}: a screen without a way back"
        for button in (b for row in screen.buttons for b in row):
            data = callbacks.encode(button)  # refuses > 64 bytes
            assert data.isascii(), (path, data)
            label = content.label(button)
            assert 0 < len(label) <= 40, (path, label)


@pytest.mark.parametrize("module", [docs, uploads, shared])
def test_the_flow_holds_no_chinese_text(module):
    source = Path(module.__file__).read_text("utf-8")
    assert not re.search(r"[\u4e00-\u9fff]", source)
