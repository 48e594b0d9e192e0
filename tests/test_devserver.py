"""The local strict Bot API server, driven through PTB's own Bot exactly as the bot uses it."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.telegram_html import HtmlError, parse_html, visible_length
from devserver.server import BotApiServer

USER = 1001


@pytest.fixture
async def srv() -> AsyncIterator[BotApiServer]:
    """A fresh server on a random port."""
    async with BotApiServer() as server:
        yield server


@pytest.fixture
async def tg(srv: BotApiServer) -> AsyncIterator[Bot]:
    """PTB's Bot pointed at the server."""
    async with Bot(srv.token, base_url=srv.base_url, base_file_url=srv.base_file_url) as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"b{i}", callback_data=d) for i, d in enumerate(data)]]
    )


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me_and_raw_wire_errors(srv: BotApiServer, tg: Bot) -> None:
    me = await tg.get_me()
    assert me.id == srv.bot_id == 123456 and me.is_bot and me.username == "merchant_test_bot"
    root = srv.base_url.removesuffix("/bot")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{root}/bot999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{srv.base_url}{srv.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found"
        srv.user_sends_text(USER, "hi")
        # JSON body, case-insensitive method name, markup as a real object
        body = {
            "chat_id": USER,
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]},
        }
        async with http.post(f"{srv.base_url}{srv.token}/SENDMESSAGE", json=body) as resp:
            data = await resp.json()
            assert data["ok"] and data["result"]["reply_markup"] == body["reply_markup"]
        # query string parameters
        async with http.get(
            f"{srv.base_url}{srv.token}/sendMessage", params={"chat_id": str(USER), "text": "q"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "q"
    assert srv.calls[-2].method == "sendMessage" and srv.calls[-2].chat_id == USER
    assert srv.counters["401"] == 1 and srv.counters["404"] == 1


async def test_text_arrives_with_bot_command_entity(srv: BotApiServer, tg: Bot) -> None:
    queued = srv.user_sends_text(USER, "/start@merchant_test_bot go", first_name="王")
    [update] = await tg.get_updates()
    assert update.update_id == queued["update_id"]
    msg = update.message
    assert msg.text == "/start@merchant_test_bot go" and msg.chat.id == USER
    assert msg.from_user.first_name == "王" and msg.from_user.language_code == "zh-hans"
    assert msg.entities == (MessageEntity("bot_command", 0, len("/start@merchant_test_bot")),)
    srv.user_sends_text(USER, "你好")
    [plain] = await tg.get_updates(offset=update.update_id + 1)
    assert plain.message.entities == () and plain.message.message_id == msg.message_id + 1
    assert await tg.get_updates(offset=plain.update_id + 1, timeout=0) == ()


async def test_long_poll_returns_as_soon_as_an_update_is_queued(srv: BotApiServer, tg: Bot) -> None:
    poll = asyncio.create_task(tg.get_updates(timeout=5))
    await srv.wait_until_polling()
    srv.user_sends_text(USER, "/start")
    # the poll asked for 5 s: it must come back with the update well before that
    [update] = await asyncio.wait_for(poll, 2)
    assert update.message.text == "/start"


async def test_html_and_keyboard_round_trip(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "/start")
    sent = await tg.send_message(
        USER,
        '<b>粗体</b> &amp; <a href="https://x.cn">链接</a>',
        parse_mode="HTML",
        reply_markup=keyboard("ship:s:1", "menu"),
    )
    assert sent.text == "粗体 & 链接"
    assert [e.type for e in sent.entities] == ["bold", "text_link"]
    assert sent.reply_markup == keyboard("ship:s:1", "menu")
    stored = srv.last_bot_message(USER)
    assert stored is not None and stored.message_id == sent.message_id == 2
    assert stored.text.startswith("<b>") and stored.plain_text == "粗体 & 链接"
    assert stored.reply_markup == keyboard("ship:s:1", "menu").to_dict()
    assert [m.from_bot for m in srv.chat_messages(USER)] == [False, True]


@pytest.mark.parametrize(
    "text",
    [
        "<b>未闭合",
        "<b>x</i>",
        "x</b>",
        "<foo>x</foo>",
        "a < b",
        "a & b",
        "&nbsp;",
        "<br>",
        "<span>x</span>",
        "<b>x</b",
        "a</>b",
    ],
)
async def test_invalid_html_is_rejected(srv: BotApiServer, tg: Bot, text: str) -> None:
    srv.user_sends_text(USER, "hi")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await tg.send_message(USER, text, parse_mode="HTML")
    assert srv.last_bot_message(USER) is None and srv.counters["400"] == 1


async def test_markdown_and_empty_texts_are_rejected(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await tg.send_message(USER, "*x*", parse_mode="MarkdownV2")
    for text, mode in (("   \n", None), ("<b> </b>", "HTML")):
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await tg.send_message(USER, text, parse_mode=mode)


async def test_length_is_counted_after_parsing_in_utf16(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    await tg.send_message(USER, "x" * 4096)
    await tg.send_message(USER, "&lt;" * 4096, parse_mode="HTML")  # each entity is one char
    for text, mode in (("x" * 4097, None), ("&lt;" * 4097, "HTML"), ("😀" * 2049, None)):
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await tg.send_message(USER, text, parse_mode=mode)
    assert visible_length("<b>" + "字" * 10 + "</b> ") == 10


async def test_callback_data_is_limited_to_64_bytes(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    await tg.send_message(USER, "ok", reply_markup=keyboard("a" * 64, "订" * 21))
    for data in ("a" * 65, "订" * 22):  # 22 Chinese characters are 66 bytes
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await tg.send_message(USER, "no", reply_markup=keyboard(data))
    with pytest.raises(BadRequest, match="(?i)keyboard"):
        await tg.send_message(
            USER,
            "no",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("plain text only")]]),
        )


async def test_edits_not_modified_and_missing(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    sent = await tg.send_message(USER, "<b>步骤</b>", parse_mode="HTML", reply_markup=keyboard("n"))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await tg.edit_message_text(
            "<b>步骤</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=keyboard("n")
        )
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await tg.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("n"))
    # same text without a keyboard is a change: the keyboard goes away
    edited = await tg.edit_message_text("<b>步骤</b>", USER, sent.message_id, parse_mode="HTML")
    assert edited.reply_markup is None and edited.edit_date is not None
    await tg.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("m"))
    state = srv.last_bot_message(USER)
    assert state is not None and state.edits == 2 and state.reply_markup == keyboard("m").to_dict()
    for mid in (999, 1):  # missing, and the user's own message
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await tg.edit_message_text("x", USER, mid)
    assert await tg.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await tg.edit_message_text("x", USER, sent.message_id)
    assert [m.message_id for m in srv.chat_messages(USER)] == [1]


async def test_callback_queries_are_answered_once(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    sent = await tg.send_message(USER, "menu", reply_markup=keyboard("go"))
    srv.user_clicks(USER, sent.message_id, "go")
    srv.user_clicks(USER, 777, "forged")
    real, forged = [u.callback_query for u in (await tg.get_updates())[1:]]
    assert real.data == "go" and real.message.reply_markup == keyboard("go")
    # an inaccessible message (date 0), as Telegram sends for messages the bot cannot see
    assert not forged.message.is_accessible and forged.message.message_id == 777
    assert srv.pending_callback_queries() == [real.id, forged.id]
    with pytest.raises(BadRequest):
        await tg.answer_callback_query(real.id, text="x" * 201)
    assert await tg.answer_callback_query(real.id, text="好的")
    assert srv.callback_answers[real.id] == {"text": "好的"}
    assert srv.calls[-1].chat_id == USER
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await tg.answer_callback_query(real.id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await tg.answer_callback_query("123")
    assert srv.pending_callback_queries() == [forged.id]


async def test_unknown_and_blocked_chats(srv: BotApiServer, tg: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await tg.send_message(4242, "hello")
    srv.user_sends_text(USER, "hi")
    srv.block(USER)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await tg.send_message(USER, "hello")
    with pytest.raises(Forbidden):
        await tg.send_chat_action(USER, "typing")
    srv.unblock(USER)
    assert await tg.send_chat_action(USER, "typing")
    kinds = [
        u.my_chat_member.new_chat_member.status for u in await tg.get_updates() if u.my_chat_member
    ]
    assert kinds == ["kicked", "member"]
    assert srv.counters["403"] == 2


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limits_answer_429(srv: BotApiServer, tg: Bot) -> None:
    for user in (1, 2):
        srv.user_sends_text(user, "hi")
    srv.set_flood(3, None)
    for i in range(3):
        await tg.send_message(1 + i % 2, f"m{i}")
    with pytest.raises(RetryAfter) as caught:
        await tg.send_message(2, "one too many")
    assert seconds(caught.value.retry_after) >= 1
    assert srv.counters["429"] == 1 and len(srv.chat_messages(2)) == 2  # refused: no effect
    failed = srv.calls[-1]
    assert failed.error_code == 429 and failed.description == "Too Many Requests: retry after 1"
    srv.set_flood(None, 1)
    await tg.send_message(1, "a")
    with pytest.raises(RetryAfter):
        await tg.edit_message_text("b", 1, 2)
    await tg.send_message(2, "other chat is fine")
    assert srv.counters["429"] == 2


async def test_user_document_get_file_and_download(srv: BotApiServer, tg: Bot) -> None:
    content = b"%PDF-1.4 \x00\xff" * 100
    queued = srv.user_sends_document(
        USER, content, "营业执照.pdf", "application/pdf", caption="执照"
    )
    [update] = await tg.get_updates()
    doc = update.message.document
    assert doc.file_name == "营业执照.pdf" and doc.file_size == len(content)
    assert update.message.caption == "执照"
    assert doc.file_id == queued["message"]["document"]["file_id"]
    file = await tg.get_file(doc.file_id)
    assert file.file_size == len(content) and file.file_path.endswith(".pdf")
    assert bytes(await file.download_as_bytearray()) == content
    srv.user_sends_photo(USER, b"\xff\xd8jpeg")
    [photo] = await tg.get_updates(offset=update.update_id + 1)
    small, full = photo.message.photo
    assert small.width < full.width and full.file_size == 6
    assert bytes(await (await full.get_file()).download_as_bytearray()) == b"\xff\xd8jpeg"
    with pytest.raises(BadRequest, match="(?i)wrong file_id"):
        await tg.get_file("nope")


async def test_files_over_20_mb_cannot_be_fetched(srv: BotApiServer, tg: Bot) -> None:
    queued = srv.user_sends_document(
        USER, bytes(20 * 1024 * 1024 + 1), "big.zip", "application/zip"
    )
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await tg.get_file(queued["message"]["document"]["file_id"])


async def test_send_document_by_bot_is_stored(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    sent = await tg.send_document(
        USER, b"a,b\n1,2\n", filename="report.csv", caption="<b>报表</b>", parse_mode="HTML"
    )
    assert sent.document.file_name == "report.csv" and sent.caption == "报表"
    stored = srv.last_bot_message(USER)
    assert stored is not None and stored.document is not None
    assert stored.document["content"] == b"a,b\n1,2\n"
    assert stored.document["file_name"] == "report.csv" and stored.document["mime"] == "text/csv"
    assert srv.calls[-1].params["document"]["file_name"] == "report.csv"
    again = await tg.send_document(USER, sent.document.file_id)  # resend by file_id
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match="(?i)non-empty"):
        await tg.send_document(USER, b"", filename="empty.txt")


async def test_commands_menu_and_webhook(srv: BotApiServer, tg: Bot) -> None:
    assert await tg.set_my_commands([("start", "开始"), ("ship", "发货指南")])
    assert [c.command for c in await tg.get_my_commands()] == ["start", "ship"]
    assert srv.calls[-2].params["commands"][1] == {"command": "ship", "description": "发货指南"}
    with pytest.raises(BadRequest):
        await tg.set_my_commands([("Bad-Name", "x")])
    assert await tg.delete_my_commands()
    assert await tg.get_my_commands() == ()
    assert await tg.set_chat_menu_button()
    assert await tg.set_webhook("https://example.com/hook")
    with pytest.raises(Conflict):
        await tg.get_updates()
    assert await tg.delete_webhook(drop_pending_updates=True)
    assert await tg.get_updates() == ()


async def test_wait_for_wakes_on_a_call_and_times_out_readably(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    since = srv.mark()
    waiter = asyncio.create_task(
        srv.wait_for(lambda c: c.method == "sendChatAction", since=since, timeout=5)
    )
    await tg.send_message(USER, "first")
    await tg.send_chat_action(USER, "typing")
    call = await waiter
    assert call is srv.calls[since + 1] and call.chat_id == USER
    with pytest.raises(TimeoutError, match="sendChatAction"):
        await srv.wait_for(lambda c: c.method == "deleteMessage", since=since, timeout=0.05)


async def test_a_ptb_application_polls_and_answers(srv: BotApiServer) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html("<b>欢迎</b>", reply_markup=keyboard("go"))

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("已进入")

    for _ in range(2):  # a restart on the same server: the abandoned long poll must not linger
        app = (
            Application.builder()
            .token(srv.token)
            .base_url(srv.base_url)
            .base_file_url(srv.base_file_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(press))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=5)
            since = srv.mark()
            srv.user_sends_text(USER, "/start")
            sent = await srv.wait_for(lambda c: c.method == "sendMessage", since=since)
            srv.user_clicks(USER, sent.result["message_id"], "go")
            await srv.wait_for(lambda c: c.method == "editMessageText", since=since)
            await app.updater.stop()
            await app.stop()
    assert [(c.method, c.description) for c in srv.calls if not c.ok] == []
    assert srv.counters["sendMessage"] == srv.counters["editMessageText"] == 2
    assert srv.pending_callback_queries() == []
    assert srv.last_bot_message(USER).plain_text == "已进入"  # type: ignore[union-attr]


def test_html_checker_entities_and_errors() -> None:
    parsed = parse_html(
        '<pre><code class="language-py">x</code></pre><blockquote expandable>'
        "q</blockquote><tg-spoiler>😀</tg-spoiler>"
    )
    assert parsed.text == "xq😀"
    assert parsed.entities == [
        {"type": "pre", "language": "py", "offset": 0, "length": 1},
        {"type": "expandable_blockquote", "offset": 1, "length": 1},
        {"type": "spoiler", "offset": 2, "length": 2},
    ]
    with pytest.raises(HtmlError, match='Unmatched end tag at byte offset 8, expected "</i>"'):
        parse_html("<b>a<i>b</b></i>")


# ---------------------------------------------------------------------- stricter than Telegram
async def raw_call(
    srv: BotApiServer,
    method: str,
    *,
    form: dict[str, str] | aiohttp.FormData | None = None,
    body: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One request as a client other than PTB could send it: a form or a JSON body."""
    async with aiohttp.ClientSession() as http:
        url = f"{srv.base_url}{srv.token}/{method}"
        async with http.post(url, data=form, json=body) as resp:
            return resp.status, await resp.json()


async def test_a_parameter_the_method_does_not_take_is_refused(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    # Telegram ignores it: the merchant would be woken at night, nobody would know
    with pytest.raises(
        BadRequest, match='(?i)parameter "disable_notifications" is unknown to sendmessage'
    ):
        await tg.send_message(USER, "夜间", api_kwargs={"disable_notifications": True})
    assert srv.last_bot_message(USER) is None
    status, answer = await raw_call(srv, "getMe", form={"verbose": "1"})
    assert status == 400 and "unknown to getMe" in answer["description"]
    upload = aiohttp.FormData({"chat_id": str(USER)})
    upload.add_field("doc", b"%PDF-1.4", filename="a.pdf")  # the part must be "document"
    status, answer = await raw_call(srv, "sendDocument", form=upload)
    assert status == 400 and 'parameter "doc" is unknown' in answer["description"]
    with pytest.raises(BadRequest, match="(?i)not supported by the emulator"):
        await tg.send_message(USER, "x", business_connection_id="abc")
    # everything PTB sends for what the bot uses is known
    sent = await tg.send_message(
        USER,
        "<b>全部</b>",
        parse_mode="HTML",
        disable_notification=True,
        protect_content=True,
        allow_paid_broadcast=False,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_parameters=ReplyParameters(1, allow_sending_without_reply=True),
        message_thread_id=None,
    )
    call = srv.calls[-1]
    assert call.ok and call.params["disable_notification"] is True
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert sent.reply_to_message is not None and sent.reply_to_message.message_id == 1


@pytest.mark.parametrize(
    ("value", "read"),
    [("true", True), ("True", True), ("1", True), ("yes", True), ("false", False), ("0", False)],
)
async def test_booleans_read_as_telegram_reads_them(
    srv: BotApiServer, value: str, read: bool
) -> None:
    srv.user_sends_text(USER, "hi")
    form = {"chat_id": str(USER), "text": "x", "disable_notification": value}
    status, _ = await raw_call(srv, "sendMessage", form=form)
    assert status == 200 and srv.calls[-1].params["disable_notification"] is read


async def test_a_boolean_or_integer_that_is_not_one_is_refused(srv: BotApiServer) -> None:
    srv.user_sends_text(USER, "hi")
    # Telegram reads "on" as false (only true/yes/1 are true): refused rather than lost
    for form in (
        {"chat_id": str(USER), "text": "x", "disable_notification": "on"},
        {"chat_id": str(USER), "text": "x", "disable_notification": ""},
    ):
        status, answer = await raw_call(srv, "sendMessage", form=form)
        assert status == 400 and "must be a Boolean" in answer["description"]
    status, answer = await raw_call(
        srv, "sendMessage", body={"chat_id": USER, "text": "x", "protect_content": "maybe"}
    )
    assert (
        status == 400 and 'parameter "protect_content" must be a Boolean' in answer["description"]
    )
    # a JSON body is read as Telegram reads it: true and 5 as their text, then decoded
    status, _ = await raw_call(
        srv, "sendMessage", body={"chat_id": USER, "text": "x", "disable_notification": True}
    )
    assert status == 200 and srv.calls[-1].params["disable_notification"] is True
    status, answer = await raw_call(
        srv, "deleteMessage", form={"chat_id": str(USER), "message_id": "1st"}
    )
    assert status == 400 and 'parameter "message_id" must be an Integer' in answer["description"]
    # inside an object a Boolean must be a JSON boolean: Telegram's own rule
    for name, obj in (
        ("reply_parameters", {"message_id": 1, "allow_sending_without_reply": "true"}),
        ("link_preview_options", {"is_disabled": 1}),
        ("reply_markup", {"remove_keyboard": "true"}),
    ):
        status, answer = await raw_call(
            srv, "sendMessage", form={"chat_id": str(USER), "text": "x", name: json.dumps(obj)}
        )
        assert status == 400 and "must be of type Boolean" in answer["description"], name
    assert srv.last_bot_message(USER) is not None and srv.counters["ok"] == 1


def button(**fields: Any) -> str:
    """A one-button inline keyboard as JSON, with exactly the fields given."""
    return json.dumps({"inline_keyboard": [[{"text": "按钮", **fields}]]})


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        (button(callbak_data="x"), 'InlineKeyboardButton has no field "callbak_data"'),
        (button(callback_data="x", colour="red"), 'has no field "colour"'),
        (button(callback_data="x", style="loud"), "invalid button style"),
        (button(web_app={"url": "https://a.cn", "height": 3}), 'web_app has no field "height"'),
        (button(callback_data="x", url="https://a.cn"), "exactly one of the optional fields"),
        (button(callback_data=""), "Text buttons are unallowed"),  # empty counts as absent
        (button(callback_data="订" * 22), "BUTTON_DATA_INVALID"),  # 66 bytes
        (button(callback_data=["x"]), 'Field "callback_data" must be of type String'),
        (
            json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "x"}]], "x": 1}),
            'has no field "x"',
        ),
        (json.dumps({"keyboard": [[{"text": "a", "request_contact": "yes"}]]}), "Boolean"),
        (json.dumps({"inline_keyboard": [{"text": "a"}]}), "must be an Array of Arrays"),
    ],
)
async def test_markup_fields_and_types_are_checked(
    srv: BotApiServer, markup: str, error: str
) -> None:
    srv.user_sends_text(USER, "hi")
    form = {"chat_id": str(USER), "text": "x", "reply_markup": markup}
    status, answer = await raw_call(srv, "sendMessage", form=form)
    assert status == 400 and error in answer["description"]


async def test_what_telegram_takes_in_a_button_is_taken(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    ok = (
        button(callback_data=5),  # a number is read as its text
        button(callback_data="a" * 64, style="success"),
        button(url="https://a.cn", icon_custom_emoji_id="5368324170671202286"),
        json.dumps({"remove_keyboard": True, "selective": False}),
    )
    for markup in ok:
        form = {"chat_id": str(USER), "text": "x", "reply_markup": markup}
        status, answer = await raw_call(srv, "sendMessage", form=form)
        assert status == 200, answer
    sent = await tg.send_message(
        USER,
        "ok",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="go")]]),
    )
    assert sent.reply_markup is not None


async def test_other_objects_refuse_fields_they_do_not_have(srv: BotApiServer) -> None:
    srv.user_sends_text(USER, "hi")
    cases: list[tuple[str, dict[str, str], str]] = [
        (
            "sendMessage",
            {"text": "xy", "entities": json.dumps([{"type": "bold", "offset": 0, "len": 1}])},
            'MessageEntity has no field "len"',
        ),
        (
            "sendMessage",
            {"text": "x", "reply_parameters": json.dumps({"message_id": 1, "quote_text": "h"})},
            'ReplyParameters has no field "quote_text"',
        ),
        (
            "sendMessage",
            {"text": "x", "link_preview_options": json.dumps({"disabled": True})},
            'LinkPreviewOptions has no field "disabled"',
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "start", "description": "开始", "hint": "x"}])},
            'BotCommand has no field "hint"',
        ),
        (
            "setChatMenuButton",
            {"menu_button": json.dumps({"type": "commands", "text": "菜单", "emoji": "x"})},
            'MenuButton has no field "emoji"',
        ),
    ]
    for method, form, error in cases:
        if method != "setMyCommands":
            form = {"chat_id": str(USER), **form}
        status, answer = await raw_call(srv, method, form=form)
        assert status == 400 and error in answer["description"], method
    status, answer = await raw_call(
        srv,
        "getMyCommands",
        body={"scope": {"type": "chat", "chat_id": USER, "chat": USER}},
    )
    assert status == 400 and 'BotCommandScope has no field "chat"' in answer["description"]


async def test_get_updates_limit_timeout_and_allowed_updates(srv: BotApiServer, tg: Bot) -> None:
    for text in ("a", "b"):
        srv.user_sends_text(USER, text)
    for limit in (0, 101):  # Telegram would clamp; the documented range is 1-100
        with pytest.raises(BadRequest, match='(?i)"limit" must be between 1 and 100'):
            await tg.get_updates(limit=limit)
    with pytest.raises(BadRequest, match='(?i)"timeout" must not be negative'):
        await tg.get_updates(timeout=-1)
    [first] = await tg.get_updates(limit=1)
    assert first.message.text == "a"
    # longer than Telegram's 50 s is shortened, not refused; updates are there: no wait
    assert len(await asyncio.wait_for(tg.get_updates(timeout=90), 2)) == 2
    with pytest.raises(BadRequest, match='(?i)unknown update type "mesage"'):
        await tg.get_updates(allowed_updates=["mesage"])
    with pytest.raises(BadRequest, match="(?i)unknown update type"):
        await tg.set_webhook("https://example.com/hook", allowed_updates=["callback"])
    assert srv.webhook_url == ""
    # names are read in any case, as Telegram does; every type PTB knows is accepted
    again = await tg.get_updates(offset=first.update_id, allowed_updates=["MESSAGE"])
    assert [u.message.text for u in again] == ["a", "b"]
    assert len(await tg.get_updates(allowed_updates=Update.ALL_TYPES)) == 2


# ---------------------------------------------------------------------- HTML nesting
@pytest.mark.parametrize(
    ("html", "entities", "dropped"),
    [
        # bold does not apply over code: Telegram cuts it around (the merchant card's case)
        (
            "<b>商家 <code>123</code></b>",
            [("bold", 0, 3), ("code", 3, 3)],
            ["<b> at byte offset 0: no effect over <code>"],
        ),
        ("<code><b>x</b></code>", [("code", 0, 1)], ["no effect inside <code>"]),
        (
            '<a href="https://a.cn">x<a href="https://b.cn">y</a></a>',
            [("text_link", 0, 2)],
            ["inside <a> at byte offset 0"],
        ),
        ('<a href="https://a.cn"><code>x</code></a>', [("code", 0, 1)], ["inside <code>"]),
        (
            "<blockquote>a<blockquote>b</blockquote></blockquote>",
            [("blockquote", 0, 2)],
            ["blockquotes cannot be nested"],
        ),
        (
            '<a href="https://a.cn">x<blockquote>q</blockquote></a>',
            [("blockquote", 1, 1)],
            ["holds <blockquote>"],
        ),
        # allowed: pre with a language, code in pre, pre and links in a blockquote
        ('<pre><code class="language-py">x</code></pre>', [("pre", 0, 1)], []),
        ("<pre><code>x</code></pre>", [("pre", 0, 1)], []),
        (
            '<blockquote><pre>x</pre><a href="https://a.cn">l</a></blockquote>',
            [("blockquote", 0, 2), ("pre", 0, 1), ("text_link", 1, 1)],
            [],
        ),
        ('<b>x<a href="https://a.cn">y</a></b>', [("bold", 0, 2), ("text_link", 1, 1)], []),
        ("<b>a</b><b>b</b>", [("bold", 0, 2)], []),  # one bold, as Telegram merges them
        ('<code class="language-py">x</code>', [("code", 0, 1)], []),  # language only on pre
    ],
)
def test_html_nesting_follows_telegrams_rules(
    html: str, entities: list[tuple[str, int, int]], dropped: list[str]
) -> None:
    parsed = parse_html(html)
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities
    assert len(parsed.dropped) == len(dropped)
    for note, part in zip(parsed.dropped, dropped, strict=True):
        assert part in note


async def test_a_message_carries_the_entities_telegram_keeps(srv: BotApiServer, tg: Bot) -> None:
    srv.user_sends_text(USER, "hi")
    sent = await tg.send_message(USER, "<b>商家 <code>123</code></b>", parse_mode="HTML")
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 3),
        ("code", 3, 3),
    ]
    # the same entities written another way are no change at all, as on Telegram
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await tg.edit_message_text(
            "<b>商家 </b><code>123</code>", USER, sent.message_id, parse_mode="HTML"
        )


# ---------------------------------------------------------------------- hooks and packaging
async def test_observers_see_every_recorded_call(srv: BotApiServer, tg: Bot) -> None:
    seen: list[str] = []

    def broken(call: object) -> None:
        raise RuntimeError("an observer's bug")

    srv.observers += [lambda call: seen.append(call.method), broken]
    await tg.get_me()
    with pytest.raises(BadRequest):
        await tg.send_message(USER, "no chat yet")
    # the broken observer hurt nothing: both calls were answered as they should be
    assert seen == ["getMe", "sendMessage"] and [c.ok for c in srv.calls[-2:]] == [True, False]


ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_bot_never_needs_the_emulator() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    # aiohttp is the bot's own since the operator console (issue 9); the emulator is not
    assert [d for d in project["dependencies"] if d.lower().startswith("aiohttp")]
    assert "aiohttp>=3.9" in project["optional-dependencies"]["dev"]
    assert "merchant-bot[dev]" in project["optional-dependencies"]["test"]
    # the wheel holds the packages these patterns find: never the emulator
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in include if fnmatch("devserver", p) or fnmatch("devserver.http", p)]
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "import bot.app, bot.cli, bot.content_check, bot.lifespan, bot.scheduler, bot.store\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'devserver'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_chat_without_the_emulator_says_how_to_get_it(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "sys.modules['devserver'] = None  # as in a plain wheel install\n"
        "from bot.cli import main\n"
        f"sys.exit(main(['chat', '--data', {str(tmp_path)!r}]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("merchant-bot: chat needs the local Bot API emulator")
    assert "pip install -e '.[dev]'" in line
