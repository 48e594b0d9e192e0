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
from tests.harness import contents
from tests.test_documents import JPEG, PDF, PNG, ZIP
from tests.test_e2e_docs import docs_state, open_platform_checklist
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
    [item] = await merchant.press("营业执照", checklist)
    assert item.edited and "直接发来的照片或文件会存到「营业执照」" in item.text
    mark = server.mark()
    [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert "已保存到「营业执照」" in saved.text and "资料 1/4" in saved.text
    assert "这是哪一项资料" not in saved.text
    assert [c.method for c in server.calls[mark:] if c.method == "getFile"] == ["getFile"]
    # 税务登记证: a photo, after marking the item (the item screen stays open)
    [item] = await merchant.press("税务登记证", saved)
    [marked] = await merchant.press("标记为已准备", item)
    assert marked.edited and "已标记为准备好" in marked.text
    [saved] = await merchant.send_photo(JPEG)
    assert "已保存到「税务登记证」" in saved.text and "JPG" in saved.text
    rows = await documents.list_documents(bot.store, merchant.user_id)
    assert [(r["item"], r["mime"]) for r in rows] == [
        ("license", "application/pdf"),
        ("tax", "image/jpeg"),
    ]
    # once saved, the checklist is open: the next file is asked about, not filed again
    [which] = await merchant.send_document(PNG, "x.png", "image/png")
    assert "这是哪一项资料" in which.text
    assert len(await documents.list_documents(bot.store, merchant.user_id)) == 2
    # an item marked 不需要 does not take a file
    [item] = await merchant.press("行业许可证", saved)
    assert "直接发来" not in item.text
    [which] = await merchant.send_document(PDF, "许可证.pdf", "application/pdf")
    assert "这是哪一项资料" in which.text
    assert_clean(server)


async def test_the_upload_prompt_and_its_way_back_keep_the_item(bot, server):
    merchant = bot.merchant(8102)
    await merchant.send("/route")
    await merchant.press("托管公司")
    [checklist] = await merchant.send("/docs")
    await merchant.press("店铺信息", checklist)
    [send] = await merchant.press("上传文件")
    assert "请现在发送「店铺信息」" in send.text
    [item] = await merchant.press("返回这一项", send)  # back on the item: still its screen
    assert "店铺信息" in item.text
    [saved] = await merchant.send_document(PDF, "店铺.pdf", "application/pdf")
    assert "已保存到「店铺信息」" in saved.text
    # leaving for the checklist: the next file is asked about
    await merchant.press("产品信息", saved)
    [listed] = await merchant.press("返回清单")
    assert "资料 1/4" in listed.text
    [which] = await merchant.send_photo(JPEG)
    assert "这是哪一项资料" in which.text
    assert_clean(server)


# --- 1b. several files with no item open ------------------------------------------------------


async def test_two_unsorted_files_are_both_kept_and_each_is_sorted(bot, server):
    merchant = bot.merchant(8201)
    await merchant.send("/route")
    await merchant.press("托管公司")
    [checklist] = await merchant.send("/docs")
    mark = server.mark()
    [first] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert "这是哪一项资料" in first.text and "执照.pdf" in first.text
    [second] = await merchant.send_photo(JPEG)
    assert "这是哪一项资料" in second.text and "照片" in second.text
    assert "1 个文件也还在等你归类" in second.text and "不会被这个替换" in second.text
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []  # nothing fetched yet
    waiting = (await docs_state(bot, 8201))["pending"]
    assert [w["file_name"] for w in waiting] == ["执照.pdf", "photo.jpg"]
    # the second first, on its own message
    [saved] = await merchant.press("法定代表人身份证复印件", second)
    assert saved.edited and saved.message_id == second.message_id
    assert "已保存到「法定代表人身份证复印件」" in saved.text and "JPG" in saved.text
    assert "执照.pdf" in saved.text and any("归类" in label for label in saved.labels)
    # the first one's question, sent earlier, still works
    [saved] = await merchant.press("营业执照复印件", first)
    assert saved.message_id == first.message_id
    assert "已保存到「营业执照复印件」" in saved.text and "PDF" in saved.text
    assert "资料 2/4" in saved.text and not any("归类" in label for label in saved.labels)
    rows = await documents.list_documents(bot.store, 8201)
    assert [(r["item"], r["original_name"]) for r in rows] == [
        ("legal_id", "photo.jpg"),
        ("license", "执照.pdf"),
    ]
    assert (bot.runtime.files_dir / rows[1]["path"]).read_bytes() == PDF
    assert "pending" not in await docs_state(bot, 8201)
    # pressing a question of a file already sorted changes nothing
    [again] = await merchant.press("产品信息", first)
    assert "资料 2/4" in again.text
    assert len(await documents.list_documents(bot.store, 8201)) == 2
    assert_clean(server)


async def test_three_files_sorted_from_the_checklist_and_one_discarded(bot, server):
    merchant = bot.merchant(8202)
    await merchant.send("/route")
    await merchant.press("托管公司")
    for content, name in ((PDF, "a.pdf"), (PNG, "b.png"), (PDF, "c.pdf")):
        await merchant.send_document(content, name, "application/pdf")
    [checklist] = await merchant.send("/docs")
    assert "3 个文件还没有归到哪一项" in checklist.text
    [which] = await merchant.press("归类", checklist)
    assert "a.pdf" in which.text and "2 个文件也还在等你归类" in which.text
    [saved] = await merchant.press("店铺信息", which)
    assert "已保存到「店铺信息」" in saved.text and "2 个文件还没有归到哪一项" in saved.text
    [which] = await merchant.press("归类", saved)
    assert "b.png" in which.text
    [listed] = await merchant.press("不保存", which)
    assert "c.pdf" in listed.text and "还没有归到哪一项" in listed.text
    [which] = await merchant.press("归类", listed)
    [saved] = await merchant.press("产品信息", which)
    assert "已保存到「产品信息」" in saved.text and "还没有归到" not in saved.text
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
    await merchant.press("托管公司")
    [checklist] = await merchant.send("/docs")
    # with the item open
    await merchant.press("营业执照复印件", checklist)
    before = await docs_state(bot, 8301)
    mark = server.mark()
    [empty] = await merchant.send_document(b"", "执照.pdf", "application/pdf")
    assert "这个文件是空的" in empty.text and "0 字节" in empty.text
    assert "「营业执照复印件」没有任何变化" in empty.text
    assert apologies([empty]) <= 1
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert await docs_state(bot, 8301) == before
    # the item is still open: a real file afterwards is saved to it
    [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
    assert "已保存到「营业执照复印件」" in saved.text
    # with no item open: refused, not queued for sorting
    before = await docs_state(bot, 8301)
    [empty] = await merchant.send_document(b"", "空白.pdf", "application/pdf")
    assert "这个文件是空的" in empty.text and "资料清单没有任何变化" in empty.text
    assert await docs_state(bot, 8301) == before and "pending" not in before
    assert len(await documents.list_documents(bot.store, 8301)) == 1
    assert_clean(server)


# --- 2. the fallback apologises once ----------------------------------------------------------


async def test_the_fallback_apologises_once_alone_mid_form_and_after_a_wrong_file(bot, server):
    merchant = bot.merchant(8401)
    # alone
    shown = await merchant.send("asdfgh")
    [fallback] = shown
    assert "没看懂" in fallback.text and apologies(shown) == 1
    assert any("资料" in label for label in fallback.labels)  # with the menu
    # in the middle of the application form: an invalid amount gets one apology
    await merchant.send("/route")
    await merchant.press("托管公司")
    [prompt] = await merchant.send("/apply")
    assert "店铺名称" in prompt.text
    await merchant.send("星河家居")
    [prompt] = await merchant.send("家居收纳")
    assert "预计月销售额" in prompt.text
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and "预计月销售额" in shown[0].text
    # a question in the middle of the form: answered, no apology, the form waits
    shown = await merchant.send("怎么发货")
    assert apologies(shown) == 0 and any("继续填写" in label for label in shown[-1].labels)
    [back] = await merchant.press("继续填写", shown[-1])
    assert "预计月销售额" in back.text
    # on a yes/no question (the platform's document questions): the fallback, once
    await merchant.send("/cancel")
    await merchant.send("/route")
    await merchant.press("全托管")
    [question] = await merchant.send("/docs")
    assert "品牌授权书" in question.text
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and len(shown) == 1
    # after a file of a wrong type, on an item screen: refused without apologising twice,
    # and the next unknown text apologises once
    [checklist] = await merchant.press("稍后回答", question)
    await merchant.press("营业执照", checklist)
    shown = await merchant.send_document(ZIP, "执照.pdf", "application/pdf")
    [refused] = shown
    assert "格式不支持" in refused.text and apologies(shown) <= 1
    shown = await merchant.send("asdfgh")
    assert apologies(shown) == 1 and len(shown) == 1
    # a wrong file with no item open: asked which item, then refused; once at most each time
    await merchant.press("返回清单", refused)
    shown = await merchant.send_document(ZIP, "资料.zip", "application/zip")
    assert "这是哪一项资料" in shown[0].text
    assert apologies(shown) == 0
    shown = await merchant.press("营业执照", shown[0])
    assert "格式不支持" in shown[0].text and apologies(shown) <= 1
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
    if any("详细对比" in label for label in shown[-1].labels):
        shown += await merchant.press("详细对比", shown[-1])
    assert any("店铺仍归你。" in m.text for m in shown)
    no_doubled_colons(shown)
    await merchant.press("全托管", shown[-1])
    await merchant.send("/submitted 2026-09-28")
    [status] = await merchant.send("/status")
    [confirm] = await merchant.press("已通过", status)
    shown = [confirm, *await merchant.press("确认", confirm)]
    shown += await merchant.send("/reminders")
    assert any("推迟" in label for label in shown[-1].labels)
    no_doubled_colons(shown)
    assert_clean(server)
