"""Issue 8, end to end over HTTP against the local Bot API server, plus a content-wide check:

1. uploads: a file sent while an item's screen is open belongs to that item; several files
   sent with no item open all wait and each is sorted; an empty file is refused politely;
2. the fallback for what the bot does not understand apologises once per input;
3. no doubled full-width colons ("掌控：店铺仍归你：…") in any screen or button label.
"""

from __future__ import annotations

import re

from bot import documents
from bot.content_check import adapter_screens, walk
from devserver.client import Shown, html_to_plain
from flows.core import Button
from tests.contentkit import data, has, press, template
from tests.harness import contents
from tests.test_documents import JPEG, PDF, PNG, ZIP
from tests.test_e2e_docs import (
    doc,
    docs_state,
    open_platform_checklist,
    pending,
    progress,
    refused,
    stored,
)
from tests.test_e2e_foundation import assert_clean

# --- helpers ------------------------------------------------------------------------------

# A sentence that apologises or admits not understanding. Counted per sentence, so that
# "抱歉，这条消息我没看懂 🙏" is one apology, and a title plus a line saying it again are two.
APOLOGY = re.compile(r"抱歉|对不起|不好意思|没看懂|没太看懂|没理解|没听懂|sorry", re.IGNORECASE)
SENTENCE = re.compile(r"[^。！？!?\n]+")

# Two full-width colons in one line with at most 12 characters between them: a label or lead-in
# ending in "：" glued to a value that has its own "X：" lead-in ("推迟一天：下一步：…").
DOUBLED = re.compile(r"：[^\n：]{0,12}：")


def apologies(shown: list[Shown]) -> int:
    """How many apologising sentences the merchant read in these messages (texts and labels)."""
    texts = [m.text for m in shown] + [label for m in shown for label in m.labels]
    return sum(1 for t in texts for s in SENTENCE.findall(t) if APOLOGY.search(s))


def doubled(text: str) -> list[str]:
    """Every doubled-colon stretch in a text."""
    return [m.group(0) for line in text.split("\n") for m in DOUBLED.finditer(line)]


def no_doubled_colons(shown: list[Shown]) -> None:
    for message in shown:
        assert doubled(message.text) == [], message.text
        for label in message.labels:
            assert doubled(label) == [], label


# --- 1a. a file sent while an item's screen is open -------------------------------------------


async def test_a_file_sent_on_an_item_screen_is_saved_to_that_item(bot, server):
    merchant = bot.merchant(8101)
    checklist = await open_platform_checklist(merchant)
    # 营业执照: open the item (no 上传文件 press) and send a PDF document
    [item] = await press(merchant, "dc_item_*", "license", on=checklist)
    assert item.edited and template(item) == "docs_item" and data(item)["takes_files"]
    assert data(item)["item"]["key"] == "license"
    mark = server.mark()
    [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert stored(saved) == (doc("platform", "license"), "application/pdf")
    assert progress(saved) == (1, 4)
    assert [c.method for c in server.calls[mark:] if c.method == "getFile"] == ["getFile"]
    # 税务登记证: a photo, after marking the item (the item screen stays open)
    [item] = await press(merchant, "dc_item_*", "tax", on=saved)
    [marked] = await press(merchant, "dc_mark", on=item)
    assert marked.edited and template(marked) == "docs_item" and data(marked)["status"] == "marked"
    [saved] = await merchant.send_photo(JPEG)
    assert stored(saved) == (doc("platform", "tax"), "image/jpeg") and "JPG" in saved.text
    rows = await documents.list_documents(bot.store, merchant.user_id)
    assert [(r["item"], r["mime"]) for r in rows] == [
        ("license", "application/pdf"),
        ("tax", "image/jpeg"),
    ]
    # once saved, the checklist is open: the next file is asked about, not filed again
    [which] = await merchant.send_document(PNG, "x.png", "image/png")
    assert template(which) == "docs_which"
    assert len(await documents.list_documents(bot.store, merchant.user_id)) == 2
    # an item marked 不需要 does not take a file
    [item] = await press(merchant, "dc_item_*", "industry_permit", on=saved)
    assert template(item) == "docs_item" and not data(item)["takes_files"]
    [which] = await merchant.send_document(PDF, "许可证.pdf", "application/pdf")
    assert template(which) == "docs_which"
    assert_clean(server)


async def test_the_upload_prompt_and_its_way_back_keep_the_item(bot, server):
    merchant = bot.merchant(8102)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [checklist] = await merchant.send("/docs")
    await press(merchant, "dc_item_*", "shop_info", on=checklist)
    [send] = await press(merchant, "dc_upload")
    assert template(send) == "docs_send" and data(send)["item"] == doc("agency", "shop_info")
    [item] = await press(merchant, "dc_cancel_upload", on=send)  # back on the item: its screen
    assert template(item) == "docs_item" and data(item)["item"]["key"] == "shop_info"
    [saved] = await merchant.send_document(PDF, "店铺.pdf", "application/pdf")
    assert stored(saved)[0] == doc("agency", "shop_info")
    # leaving for the checklist: the next file is asked about
    await press(merchant, "dc_item_*", "product_info", on=saved)
    [listed] = await press(merchant, "dc_back_list")
    assert progress(listed) == (1, 4)
    [which] = await merchant.send_photo(JPEG)
    assert template(which) == "docs_which"
    assert_clean(server)


# --- 1b. several files with no item open ------------------------------------------------------


async def test_two_unsorted_files_are_both_kept_and_each_is_sorted(bot, server):
    merchant = bot.merchant(8201)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [checklist] = await merchant.send("/docs")
    mark = server.mark()
    [first] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert template(first) == "docs_which" and "执照.pdf" in first.text
    [second] = await merchant.send_photo(JPEG)
    assert template(second) == "docs_which" and data(second)["kind"] == "photo"
    assert data(second)["others"] == 1  # the first is still waiting, not replaced
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []  # nothing fetched yet
    waiting = (await docs_state(bot, 8201))["pending"]
    assert [w["file_name"] for w in waiting] == ["执照.pdf", "photo.jpg"]
    # the second first, on its own message
    [saved] = await press(merchant, "dc_item_*", "legal_id", on=second)
    assert saved.edited and saved.message_id == second.message_id
    assert stored(saved) == (doc("agency", "legal_id"), "image/jpeg") and "JPG" in saved.text
    assert "执照.pdf" in saved.text and has(saved, "dc_sort_file")
    # the first one's question, sent earlier, still works
    [saved] = await press(merchant, "dc_item_*", "license", on=first)
    assert saved.message_id == first.message_id
    assert stored(saved) == (doc("agency", "license"), "application/pdf") and "PDF" in saved.text
    assert progress(saved) == (2, 4) and not has(saved, "dc_sort_file")
    rows = await documents.list_documents(bot.store, 8201)
    assert [(r["item"], r["original_name"]) for r in rows] == [
        ("legal_id", "photo.jpg"),
        ("license", "执照.pdf"),
    ]
    assert (bot.runtime.files_dir / rows[1]["path"]).read_bytes() == PDF
    assert "pending" not in await docs_state(bot, 8201)
    # pressing a question of a file already sorted changes nothing
    [again] = await press(merchant, "dc_item_*", "product_info", on=first)
    assert progress(again) == (2, 4)
    assert len(await documents.list_documents(bot.store, 8201)) == 2
    assert_clean(server)


async def test_three_files_sorted_from_the_checklist_and_one_discarded(bot, server):
    merchant = bot.merchant(8202)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    for content, name in ((PDF, "a.pdf"), (PNG, "b.png"), (PDF, "c.pdf")):
        await merchant.send_document(content, name, "application/pdf")
    [checklist] = await merchant.send("/docs")
    assert pending(checklist) == 3
    [which] = await press(merchant, "dc_sort_file", on=checklist)
    assert template(which) == "docs_which" and "a.pdf" in which.text
    assert data(which)["others"] == 2
    [saved] = await press(merchant, "dc_item_*", "shop_info", on=which)
    assert stored(saved)[0] == doc("agency", "shop_info") and pending(saved) == 2
    [which] = await press(merchant, "dc_sort_file", on=saved)
    assert "b.png" in which.text
    [listed] = await press(merchant, "dc_discard", on=which)
    assert pending(listed) == 1 and "c.pdf" in listed.text
    [which] = await press(merchant, "dc_sort_file", on=listed)
    [saved] = await press(merchant, "dc_item_*", "product_info", on=which)
    assert stored(saved)[0] == doc("agency", "product_info") and pending(saved) == 0
    rows = await documents.list_documents(bot.store, 8202)
    assert [(r["item"], r["original_name"]) for r in rows] == [
        ("shop_info", "a.pdf"),
        ("product_info", "c.pdf"),
    ]
    assert_clean(server)


# --- 1c. empty files --------------------------------------------------------------------------


async def test_an_empty_file_is_told_it_is_empty_and_nothing_changes(bot, server):
    merchant = bot.merchant(8301)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [checklist] = await merchant.send("/docs")
    # with the item open
    await press(merchant, "dc_item_*", "license", on=checklist)
    before = await docs_state(bot, 8301)
    mark = server.mark()
    [empty] = await merchant.send_document(b"", "执照.pdf", "application/pdf")
    assert refused(empty) == ("empty", doc("agency", "license"))
    assert apologies([empty]) <= 1
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert await docs_state(bot, 8301) == before
    # the item is still open: a real file afterwards is saved to it
    [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert stored(saved)[0] == doc("agency", "license")
    # with no item open: refused, not queued for sorting
    before = await docs_state(bot, 8301)
    [empty] = await merchant.send_document(b"", "空白.pdf", "application/pdf")
    assert refused(empty) == ("empty", "")  # the checklist as a whole is unchanged
    assert await docs_state(bot, 8301) == before and "pending" not in before
    assert len(await documents.list_documents(bot.store, 8301)) == 1
    assert_clean(server)


# --- 2. the fallback apologises once ----------------------------------------------------------


def field(shown) -> str:
    """The application field a message asks for."""
    assert template(shown) == "apply_prompt", shown.text
    return data(shown)["field"]["key"]


async def test_the_fallback_apologises_once_alone_mid_form_and_after_a_wrong_file(bot, server):
    merchant = bot.merchant(8401)
    # alone
    shown = await merchant.send("asdfgh")
    [fallback] = shown
    assert template(fallback) == "faq" and data(fallback)["topic"] == "unknown"
    assert apologies(shown) == 1
    assert has(fallback, "menu_docs")  # with the menu
    # in the middle of the application form: an invalid amount gets one apology
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [prompt] = await merchant.send("/apply")
    assert field(prompt) == "shop_name"
    await merchant.send("星河家居")
    [prompt] = await merchant.send("家居收纳")
    assert field(prompt) == "monthly_sales"
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and field(shown[0]) == "monthly_sales"
    # a question in the middle of the form: answered, no apology, the form waits
    shown = await merchant.send("怎么发货")
    assert apologies(shown) == 0 and has(shown[-1], "resume")
    [back] = await press(merchant, "resume", on=shown[-1])
    assert field(back) == "monthly_sales"
    # on a yes/no question (the platform's document questions): the fallback, once
    await merchant.send("/cancel")
    await merchant.send("/route")
    await press(merchant, "route_platform")
    [question] = await merchant.send("/docs")
    assert template(question) == "docs_question"
    assert data(question)["item"] == doc("platform", "brand_auth")
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and len(shown) == 1
    # after a file of a wrong type, on an item screen: refused without apologising twice,
    # and the next unknown text apologises once
    [checklist] = await press(merchant, "dc_later", on=question)
    await press(merchant, "dc_item_*", "license", on=checklist)
    shown = await merchant.send_document(ZIP, "执照.pdf", "application/pdf")
    [wrong] = shown
    assert refused(wrong)[0] == "type" and apologies(shown) <= 1
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and len(shown) == 1
    # a wrong file with no item open: asked which item, then refused; once at most each time
    await press(merchant, "dc_back_list", on=wrong)
    shown = await merchant.send_document(ZIP, "资料.zip", "application/zip")
    assert template(shown[0]) == "docs_which"
    assert apologies(shown) == 0
    shown = await press(merchant, "dc_item_*", "license", on=shown[0])
    assert refused(shown[0])[0] == "type" and apologies(shown) <= 1
    assert_clean(server)


def test_the_unknown_card_apologises_exactly_once():
    content = contents().default
    for route in (None, "agency", "platform"):
        text = html_to_plain(content.render_text("faq", {"topic": "unknown", "route": route}))
        sentences = [s for s in SENTENCE.findall(text) if APOLOGY.search(s)]
        assert len(sentences) == 1, text


# --- 3. no doubled colons ---------------------------------------------------------------------


def _every_rendered_line() -> list[tuple[str, str]]:
    """(where, text) for every screen text and button label the content check can reach."""
    content = contents().default
    found: list[tuple[str, str]] = []
    screens = [(path, s) for path, s in walk(content) if not isinstance(s, Exception)]
    screens += list(adapter_screens(content))
    for path, screen in screens:
        where = f"{screen.template} ({path})"
        found.append((where, html_to_plain(content.render_text(screen.template, screen.data))))
        for row in screen.buttons:
            for button in row:
                found.append((f"{where} [{button.label}]", content.label(button)))
    # Labels filled with content values the walk may not reach (e.g. every reminder's title,
    # some only after approval): rendered with each possible value.
    titles: list[str] = []
    for reminder in content.catalog["statuses"]["reminders"].values():
        title = reminder["title"]
        titles += list(title.values()) if isinstance(title, dict) else [title]
    for title in titles:
        button = Button.of("rem_snooze", "rsz", "k", title=title)
        found.append((f"rem_snooze {title}", content.label(button)))
    return found


def test_no_screen_or_label_glues_two_colons_together():
    lines = _every_rendered_line()
    assert len(lines) > 1000  # the walk really ran
    hits = sorted({(where.split(" (")[0], hit) for where, text in lines for hit in doubled(text)})
    assert hits == [], hits


def test_the_doubling_check_catches_what_it_is_meant_to():
    assert doubled("掌控：店铺仍归你：运营交给托管公司")
    assert doubled("⏰ 推迟一天：下一步：签协议…")
    assert doubled("🔎 核查：国家企业信用信息公示系统：输入公司全称")
    assert not doubled("掌控：店铺仍归你。运营交给托管公司")
    assert not doubled("例如：5万、50000、5w、¥50,000。")
    assert not doubled("状态：审核中\n备注：请补充")  # two lines, two labels: fine


async def test_route_comparison_and_snooze_labels_over_http_have_single_colons(bot, server):
    merchant = bot.merchant(8501)
    shown = await merchant.send("/route")
    if has(shown[-1], "route_detail"):
        shown += await press(merchant, "route_detail", on=shown[-1])
    assert any(template(m) == "route_detail" for m in shown)
    no_doubled_colons(shown)
    await press(merchant, "route_platform", on=shown[-1])
    await merchant.send("/submitted 2026-09-28")
    [status] = await merchant.send("/status")
    [confirm] = await press(merchant, "rep_approved", on=status)
    shown = [confirm, *await press(merchant, "report_yes", on=confirm)]
    shown += await merchant.send("/reminders")
    assert has(shown[-1], "rem_snooze")
    no_doubled_colons(shown)
    assert_clean(server)
