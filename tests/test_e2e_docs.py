"""End to end: the document checklist and uploads, over HTTP against the local Bot API server."""

from __future__ import annotations

import hashlib
import json

from bot import documents
from tests.harness import contents, running_bot
from tests.test_documents import JPEG, PDF, PNG, TEXT, ZIP

MB = 1024 * 1024
STALE = contents().default.notice("stale")


def assert_clean(server) -> None:
    """Nothing the strict server refused, and no button press left unanswered."""
    refused = [c for c in server.calls if not c.ok]
    assert refused == [], [(c.method, c.description) for c in refused]
    assert server.pending_callback_queries() == []


async def docs_state(bot, user_id: int) -> dict:
    """The merchant's saved docs record, straight from the database."""
    return (await bot.store.load_merchant(user_id)).data.get("docs", {})


async def open_platform_checklist(merchant):
    """/docs with no route: choose 全托管, continue, answer brand yes / permit no."""
    [choice] = await merchant.send("/docs")
    assert any("全托管" in label for label in choice.labels)
    [chosen] = await merchant.press("全托管")
    [question] = await merchant.press("准备资料", chosen)
    assert question.edited and "品牌授权书" in question.text
    [question] = await merchant.press("是，需要授权")
    assert "行业许可证" in question.text
    [checklist] = await merchant.press("不需要")
    return checklist


async def test_checklist_uploads_refusals_replacement_and_progress(bot, server):
    merchant = bot.merchant()
    files = bot.runtime.files_dir
    checklist = await open_platform_checklist(merchant)
    assert "资料 0/4" in checklist.text and "▱▱▱▱" in checklist.text
    assert any("行业许可证" in label and "不需要" in label for label in checklist.labels)
    assert any("主菜单" in label for label in checklist.labels)

    # 营业执照 as a PDF document, through the item screen
    [item] = await merchant.press("营业执照")
    assert item.edited and "为什么需要" in item.text and "20 MB" in item.text
    [send] = await merchant.press("上传文件")
    assert "请现在发送「营业执照」" in send.text
    [saved] = await merchant.send_document(PDF, "营业执照.pdf", "application/pdf")
    assert "已保存到「营业执照」" in saved.text and "资料 1/4" in saved.text
    assert "▰▱▱▱" in saved.text and "PDF" in saved.text

    # 税务登记证 as a photo (JPEG)
    await merchant.press("税务登记证", saved)
    await merchant.press("上传文件")
    [saved] = await merchant.send_photo(JPEG)
    assert "已保存到「税务登记证」" in saved.text and "JPG" in saved.text
    assert "资料 2/4" in saved.text

    # 品牌授权书 as a PNG
    await merchant.press("品牌授权书", saved)
    await merchant.press("上传文件")
    [saved] = await merchant.send_document(PNG, "授权书.png", "image/png")
    assert "PNG" in saved.text and "资料 3/4" in saved.text
    rows = await documents.list_documents(bot.store, merchant.user_id)
    assert [(r["item"], r["mime"]) for r in rows] == [
        ("license", "application/pdf"),
        ("tax", "image/jpeg"),
        ("brand_auth", "image/png"),
    ]
    assert (files / rows[0]["path"]).read_bytes() == PDF
    assert rows[1]["sha256"] == hashlib.sha256(JPEG).hexdigest()

    # disguised files named .pdf are refused by content and change nothing
    await merchant.press("店铺信息", saved)
    await merchant.press("上传文件")
    before = await docs_state(bot, merchant.user_id)
    [refused] = await merchant.send_document(ZIP, "店铺信息.pdf", "application/pdf")
    assert "格式不支持" in refused.text and "ZIP" in refused.text and "PDF" in refused.text
    [refused] = await merchant.send_document(TEXT, "店铺信息.pdf", "application/pdf")
    assert "格式不支持" in refused.text and "认不出" in refused.text
    assert await docs_state(bot, merchant.user_id) == before
    assert len(await documents.list_documents(bot.store, merchant.user_id)) == 3

    # an oversized file is refused before any download
    mark = server.mark()
    [refused] = await merchant.send_document(b"%PDF" + bytes(21 * MB), "big.pdf", "application/pdf")
    assert "文件太大" in refused.text and "20 MB" in refused.text
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert await docs_state(bot, merchant.user_id) == before

    # replacing the license keeps the old version
    [item] = await merchant.press("查看这一项", refused)
    await merchant.press("返回清单", item)
    await merchant.press("营业执照")
    await merchant.press("重新上传")
    new_pdf = PDF.replace(b"1.4", b"1.7")
    [saved] = await merchant.send_document(new_pdf, "营业执照-新.pdf", "application/pdf")
    assert "替换" in saved.text and "资料 3/4" in saved.text
    license_rows = [
        r
        for r in await documents.list_documents(bot.store, merchant.user_id)
        if r["item"] == "license"
    ]
    assert [r["replaced_at"] is None for r in license_rows] == [False, True]
    assert all((files / r["path"]).exists() for r in license_rows)
    [item] = await merchant.press("营业执照", saved)
    assert "营业执照-新.pdf" in item.text and "1 个旧版本" in item.text
    state = await docs_state(bot, merchant.user_id)
    assert state["items"]["license"]["history"][0]["name"] == "营业执照.pdf"

    # marking the last item completes the list
    [back] = await merchant.press("返回清单", item)
    await merchant.press("店铺信息", back)
    [marked] = await merchant.press("标记为已准备")
    assert "已标记为准备好" in marked.text
    [done] = await merchant.press("返回清单")
    assert "资料 4/4" in done.text and "▰▰▰▰" in done.text and "都准备好了" in done.text
    assert any("填写申请" in label for label in done.labels)
    answers = [
        c for c in server.calls if c.method == "answerCallbackQuery" and c.params.get("text")
    ]
    assert any("已标记" in c.params["text"] for c in answers)
    assert_clean(server)


async def test_a_file_sent_without_choosing_an_item_asks_which_one(bot, server):
    merchant = bot.merchant(2002)
    await merchant.send("/route")
    await merchant.press("托管公司")
    [which] = await merchant.send_photo(JPEG)
    assert "这是哪一项资料" in which.text and "照片" in which.text
    assert [label for label in which.labels if "身份证" in label]
    [saved] = await merchant.press("法定代表人身份证复印件", which)
    assert saved.edited and saved.message_id == which.message_id
    assert "已保存到「法定代表人身份证复印件」" in saved.text and "资料 1/4" in saved.text
    # a second file, discarded: nothing is fetched, nothing stored
    [which] = await merchant.send_document(PDF, "x.pdf", "application/pdf")
    mark = server.mark()
    [checklist] = await merchant.press("不保存", which)
    assert "资料 1/4" in checklist.text
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert len(await documents.list_documents(bot.store, 2002)) == 1
    assert "pending" not in await docs_state(bot, 2002)
    assert_clean(server)


async def test_stale_and_forged_docs_buttons_answer_with_the_checklist(bot, server):
    merchant = bot.merchant(3003)
    await merchant.send("/route")
    await merchant.press("托管公司")
    [checklist] = await merchant.send("/docs")
    mark = server.mark()
    for data in (
        "dci:industry_permit",
        "dcm:license:7",
        "dcu:nope",
        "dcp:license",
        "dcq:brand:y:l",
    ):
        await merchant.press_data(checklist.message_id, data)
        # the pressed message shows the current checklist (unchanged: it already did)
        current = server.last_bot_message(merchant.user_id)
        assert "资料 0/4" in current.plain_text and current.reply_markup, data
    answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
    assert len(answers) == 5 and all(c.params.get("text") == STALE for c in answers)
    assert server.pending_callback_queries() == []
    assert await docs_state(bot, 3003) == {}


async def test_files_and_progress_survive_a_restart_and_mydata_rows_are_listed(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db) as bot:
        merchant = bot.merchant(4004)
        await merchant.send("/route")
        await merchant.press("托管公司")
        [checklist] = await merchant.send("/docs")
        await merchant.press("营业执照复印件", checklist)
        await merchant.press("上传文件")
        [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
        assert "资料 1/4" in saved.text
    async with running_bot(server, db) as bot:
        merchant = bot.merchant(4004)
        [checklist] = await merchant.send("/docs")
        assert "资料 1/4" in checklist.text
        # a button from before the restart still works
        [item] = await merchant.press_data(saved.message_id, saved.button("营业执照复印件"))
        assert "执照.pdf" in item.text
        rows = await documents.list_documents(bot.store, 4004)
        assert len(rows) == 1 and json.dumps(rows, ensure_ascii=False)
        assert (bot.runtime.files_dir / rows[0]["path"]).exists()
    assert_clean(server)
