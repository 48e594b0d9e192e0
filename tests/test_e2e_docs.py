"""End to end: the document checklist and uploads, over HTTP against the local Bot API server."""

from __future__ import annotations

import hashlib
import json

from bot import documents
from tests.contentkit import CONTENT, callback, data, has, notice, notices, press, template
from tests.harness import contents, running_bot
from tests.test_documents import JPEG, PDF, PNG, TEXT, ZIP

MB = 1024 * 1024
STALE = contents().default.notice("stale")
DOCS = CONTENT.data["documents"]


def assert_clean(server) -> None:
    """Nothing the strict server refused, and no button press left unanswered."""
    refused = [c for c in server.calls if not c.ok]
    assert refused == [], [(c.method, c.description) for c in refused]
    assert server.pending_callback_queries() == []


async def docs_state(bot, user_id: int) -> dict:
    """The merchant's saved docs record, straight from the database."""
    return (await bot.store.load_merchant(user_id)).data.get("docs", {})


def doc(route: str, key: str) -> str:
    """An item's name on a route's checklist (documents.yaml)."""
    [item] = [i for i in DOCS["routes"][route] if i["key"] == key]
    return item["name"]


def progress(checklist) -> tuple[int, int]:
    """(ready, needed) of the checklist a message shows."""
    assert template(checklist) == "docs_checklist", checklist.text
    return data(checklist)["ready"], data(checklist)["needed"]


def stored(saved) -> tuple[str, str]:
    """(item, file type) of the file a checklist says was just saved."""
    assert template(saved) == "docs_checklist" and data(saved)["stored"], saved.text
    return data(saved)["stored"]["item"], data(saved)["stored"]["file"]["mime"]


def pending(checklist) -> int:
    """How many files wait to be sorted, as the checklist says."""
    assert template(checklist) == "docs_checklist", checklist.text
    return (data(checklist)["pending"] or {}).get("count", 0)


def refused(shown) -> tuple[str, str]:
    """(reason, item) of a refused file."""
    assert template(shown) == "docs_refused", shown.text
    return data(shown)["reason"], data(shown)["item"]


async def open_platform_checklist(merchant):
    """/docs with no route: choose 全托管, continue, answer brand yes / permit no."""
    [choice] = await merchant.send("/docs")
    assert has(choice, "route_platform")
    [chosen] = await press(merchant, "route_platform")
    [question] = await press(merchant, "continue_docs", on=chosen)
    assert question.edited and template(question) == "docs_question"
    assert data(question)["item"] == doc("platform", "brand_auth")
    [question] = await press(merchant, "dc_answer", "y")
    assert data(question)["item"] == doc("platform", "industry_permit")
    [checklist] = await press(merchant, "dc_answer", "n")
    return checklist


async def test_checklist_uploads_refusals_replacement_and_progress(bot, server):
    merchant = bot.merchant()
    files = bot.runtime.files_dir
    checklist = await open_platform_checklist(merchant)
    assert progress(checklist) == (0, 4)
    assert has(checklist, "dc_item_skip", "industry_permit")
    assert has(checklist, "main_menu")

    # 营业执照 as a PDF document, through the item screen
    [item] = await press(merchant, "dc_item_*", "license")
    assert item.edited and template(item) == "docs_item"
    assert data(item)["item"]["why"] in item.text and DOCS["upload_rules"] in item.text
    [send] = await press(merchant, "dc_upload")
    assert template(send) == "docs_send" and data(send)["item"] == doc("platform", "license")
    [saved] = await merchant.send_document(PDF, "营业执照.pdf", "application/pdf")
    assert stored(saved) == (doc("platform", "license"), "application/pdf")
    assert progress(saved) == (1, 4) and "PDF" in saved.text

    # 税务登记证 as a photo (JPEG)
    await press(merchant, "dc_item_*", "tax", on=saved)
    await press(merchant, "dc_upload")
    [saved] = await merchant.send_photo(JPEG)
    assert stored(saved) == (doc("platform", "tax"), "image/jpeg") and "JPG" in saved.text
    assert progress(saved) == (2, 4)

    # 品牌授权书 as a PNG
    await press(merchant, "dc_item_*", "brand_auth", on=saved)
    await press(merchant, "dc_upload")
    [saved] = await merchant.send_document(PNG, "授权书.png", "image/png")
    assert stored(saved)[1] == "image/png" and "PNG" in saved.text and progress(saved) == (3, 4)
    rows = await documents.list_documents(bot.store, merchant.user_id)
    assert [(r["item"], r["mime"]) for r in rows] == [
        ("license", "application/pdf"),
        ("tax", "image/jpeg"),
        ("brand_auth", "image/png"),
    ]
    assert (files / rows[0]["path"]).read_bytes() == PDF
    assert rows[1]["sha256"] == hashlib.sha256(JPEG).hexdigest()

    # disguised files named .pdf are refused by content and change nothing
    await press(merchant, "dc_item_*", "shop_info", on=saved)
    await press(merchant, "dc_upload")
    before = await docs_state(bot, merchant.user_id)
    [wrong] = await merchant.send_document(ZIP, "店铺信息.pdf", "application/pdf")
    assert refused(wrong)[0] == "type" and data(wrong)["detail"] == "zip"
    assert "ZIP" in wrong.text and "PDF" in wrong.text
    [wrong] = await merchant.send_document(TEXT, "店铺信息.pdf", "application/pdf")
    assert refused(wrong)[0] == "type" and not data(wrong)["detail"]  # not recognised
    assert await docs_state(bot, merchant.user_id) == before
    assert len(await documents.list_documents(bot.store, merchant.user_id)) == 3

    # an oversized file is refused before any download
    mark = server.mark()
    [big] = await merchant.send_document(b"%PDF" + bytes(21 * MB), "big.pdf", "application/pdf")
    assert refused(big)[0] == "size" and data(big)["limit_mb"] == 20 and "20 MB" in big.text
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert await docs_state(bot, merchant.user_id) == before

    # replacing the license keeps the old version
    [item] = await press(merchant, "dc_view_item", on=big)
    await press(merchant, "dc_back_list", on=item)
    await press(merchant, "dc_item_*", "license")
    await press(merchant, "dc_reupload")
    new_pdf = PDF.replace(b"1.4", b"1.7")
    [saved] = await merchant.send_document(new_pdf, "营业执照-新.pdf", "application/pdf")
    assert data(saved)["stored"]["replaced"] and progress(saved) == (3, 4)
    license_rows = [
        r
        for r in await documents.list_documents(bot.store, merchant.user_id)
        if r["item"] == "license"
    ]
    assert [r["replaced_at"] is None for r in license_rows] == [False, True]
    assert all((files / r["path"]).exists() for r in license_rows)
    [item] = await press(merchant, "dc_item_*", "license", on=saved)
    assert "营业执照-新.pdf" in item.text and data(item)["versions"] == 1
    state = await docs_state(bot, merchant.user_id)
    assert state["items"]["license"]["history"][0]["name"] == "营业执照.pdf"

    # marking the last item completes the list
    [back] = await press(merchant, "dc_back_list", on=item)
    await press(merchant, "dc_item_*", "shop_info", on=back)
    [marked] = await press(merchant, "dc_mark")
    assert template(marked) == "docs_item" and data(marked)["status"] == "marked"
    [done] = await press(merchant, "dc_back_list")
    assert progress(done) == (4, 4) and data(done)["done"]
    assert has(done, "continue_apply")
    assert notice("dc_marked") in notices(server)
    assert_clean(server)


async def test_a_file_sent_without_choosing_an_item_asks_which_one(bot, server):
    merchant = bot.merchant(2002)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [which] = await merchant.send_photo(JPEG)
    assert template(which) == "docs_which" and data(which)["kind"] == "photo"
    assert has(which, "dc_item_*", "legal_id")
    [saved] = await press(merchant, "dc_item_*", "legal_id", on=which)
    assert saved.edited and saved.message_id == which.message_id
    assert stored(saved)[0] == doc("agency", "legal_id") and progress(saved) == (1, 4)
    # a second file, discarded: nothing is fetched, nothing stored
    [which] = await merchant.send_document(PDF, "x.pdf", "application/pdf")
    mark = server.mark()
    [checklist] = await press(merchant, "dc_discard", on=which)
    assert progress(checklist) == (1, 4)
    assert [c for c in server.calls[mark:] if c.method == "getFile"] == []
    assert len(await documents.list_documents(bot.store, 2002)) == 1
    assert "pending" not in await docs_state(bot, 2002)
    assert_clean(server)


async def test_stale_and_forged_docs_buttons_answer_with_the_checklist(bot, server):
    merchant = bot.merchant(3003)
    await merchant.send("/route")
    await press(merchant, "route_agency")
    [checklist] = await merchant.send("/docs")
    mark = server.mark()
    for forged in (
        "dci:industry_permit",
        "dcm:license:7",
        "dcu:nope",
        "dcp:license",
        "dcq:brand:y:l",
    ):
        await merchant.press_data(checklist.message_id, forged)
        # the pressed message shows the current checklist (unchanged: it already did)
        current = server.last_bot_message(merchant.user_id)
        assert progress(current) == (0, 4) and current.reply_markup, forged
    answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
    assert len(answers) == 5 and all(c.params.get("text") == STALE for c in answers)
    assert server.pending_callback_queries() == []
    assert await docs_state(bot, 3003) == {}


async def test_files_and_progress_survive_a_restart_and_mydata_rows_are_listed(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db) as bot:
        merchant = bot.merchant(4004)
        await merchant.send("/route")
        await press(merchant, "route_agency")
        [checklist] = await merchant.send("/docs")
        await press(merchant, "dc_item_*", "license", on=checklist)
        await press(merchant, "dc_upload")
        [saved] = await merchant.send_document(PDF, "执照.pdf", "application/pdf")
        assert progress(saved) == (1, 4)
    async with running_bot(server, db) as bot:
        merchant = bot.merchant(4004)
        [checklist] = await merchant.send("/docs")
        assert progress(checklist) == (1, 4)
        # a button from before the restart still works
        old = callback(saved, "dc_item_*", "license")
        [item] = await merchant.press_data(saved.message_id, old)
        assert template(item) == "docs_item" and "执照.pdf" in item.text
        rows = await documents.list_documents(bot.store, 4004)
        assert len(rows) == 1 and json.dumps(rows, ensure_ascii=False)
        assert (bot.runtime.files_dir / rows[0]["path"]).exists()
    assert_clean(server)
