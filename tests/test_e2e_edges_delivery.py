"""End to end: each update takes effect exactly once and its answer is not lost — a redelivered
update, `merchant-bot run` killed (-9) in the middle of an update, a Bot API that answers 502
for a few seconds. The local Bot API server redelivers, holds and fails calls on request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from bot import presenter
from devserver.server import BotApiServer
from tests.contentkit import CONTENT, data, label, press, template
from tests.harness import query_store, store_target
from tests.test_documents import PDF
from tests.test_e2e_docs import doc
from tests.test_e2e_foundation import assert_clean
from tests.test_run_command import EXE

FIELDS = CONTENT.data["application"]["fields"]


async def open_shop_name_field(m) -> None:
    await m.send("/route")
    await press(m, "route_platform")
    [prompt] = await m.send("/apply")
    assert template(prompt) == "apply_prompt" and data(prompt)["index"] == 1


async def test_a_redelivered_update_is_applied_once(bot, server):
    m = bot.merchant(801)
    await open_shop_name_field(m)
    since = server.mark()
    update = server.user_sends_text(801, "星河家居用品店")
    await bot.tracker.wait(update["update_id"])
    server.redeliver(update)  # Telegram retries it: same update_id
    delivered = await server.wait_for(
        lambda c: (
            c.method == "getUpdates"
            and any(u["update_id"] == update["update_id"] for u in c.result or ())
        ),
        since=since + 1,
    )
    # the next poll starts only after the redelivered batch went through the queue
    await server.wait_for(
        lambda c: c.method == "getUpdates", since=server.calls.index(delivered) + 1
    )
    fields = (await bot.store.load_merchant(801)).data["application"]["fields"]
    assert fields == {"shop_name": "星河家居用品店"}  # not also taken as the scope
    answers = [c for c in server.calls[since:] if c.method == "sendMessage" and c.chat_id == 801]
    assert len(answers) == 1 and template(answers[0]) == "apply_prompt"
    assert data(answers[0])["index"] == 2
    assert bot.app.update_queue.duplicates == 1
    assert_clean(server)


async def test_a_reply_is_retried_through_a_short_outage(bot, server):
    m = bot.merchant(802)
    await m.send("/start")
    server.fail("sendMessage", status=502, seconds=3)
    since = server.mark()
    [answer] = await m.send("怎么发货")
    assert template(answer) == "ship_step"
    tries = [c for c in server.calls[since:] if c.method == "sendMessage"]
    assert sum(1 for c in tries if not c.ok) >= 3 and [c.ok for c in tries][-1] is True
    assert sum(1 for c in tries if c.ok) == 1  # answered once
    assert server.pending_callback_queries() == []


async def test_a_reply_that_finally_fails_is_logged_with_its_update_id(
    bot, server, monkeypatch, caplog
):
    monkeypatch.setattr(presenter, "REPLY_RETRY_SECONDS", 1.0)
    m = bot.merchant(803)
    await open_shop_name_field(m)
    server.fail("sendMessage", status=503, description="Service Unavailable")
    caplog.set_level(logging.WARNING, logger="bot.app")
    update = server.user_sends_text(803, "星河家居用品店")
    await bot.tracker.wait(update["update_id"])
    assert f"update {update['update_id']}: reply not delivered" in caplog.text
    # what the merchant typed is saved all the same
    fields = (await bot.store.load_merchant(803)).data["application"]["fields"]
    assert fields == {"shop_name": "星河家居用品店"}


# --- killed in the middle of an update ---------------------------------------------------------


def _env(server: BotApiServer, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=server.token,
        TELEGRAM_API_URL=server.base_url,
        BOT_DATABASE=str(store_target(tmp_path / "db.sqlite3")),
        BOT_FILES_DIR=str(tmp_path / "files"),
    )
    return env


async def _start(server, tmp_path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        EXE,
        "run",
        env=_env(server, tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await server.wait_until_polling(timeout=30)
    return proc


async def _reply(server, chat_id, since, method="sendMessage"):
    return await server.wait_for(
        lambda c: c.method == method and c.chat_id == chat_id and c.ok, since=since, timeout=30
    )


async def _choose_route(server, chat_id, label: str) -> None:
    """Pick a route through the real process."""
    since = server.mark()
    server.user_sends_text(chat_id, "/route")
    choice = await _reply(server, chat_id, since)
    data = next(
        b["callback_data"]
        for row in choice.params["reply_markup"]["inline_keyboard"]
        for b in row
        if label in b["text"]
    )
    since = server.mark()
    server.user_clicks(chat_id, choice.result["message_id"], data)
    await _reply(server, chat_id, since, "editMessageText")


async def _prepare_form(server, chat_id) -> None:
    """Route B chosen and the form open at the shop name, through the real process."""
    await _choose_route(server, chat_id, label("route_platform"))
    since = server.mark()
    server.user_sends_text(chat_id, "/apply")
    prompt = await _reply(server, chat_id, since)  # from another process: no screen, its text
    assert FIELDS[0]["prompt"] in prompt.params["text"]


def _fields(tmp_path, chat_id) -> dict:
    import json

    [(state,)] = query_store(
        tmp_path / "db.sqlite3", "SELECT state FROM merchants WHERE user_id = ?", (chat_id,)
    )
    return json.loads(state)["application"]["fields"]


async def _kill_while_held(server, proc, method: str) -> None:
    """The bot waits on a held `method` call: kill -9 it there, then let the call go (it
    fails, never carried out)."""
    try:
        await server.wait_held(method)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        server.release()


async def _stop(proc) -> None:
    """SIGTERM, and a clean exit."""
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()


async def test_killed_while_answering_the_answer_comes_after_the_restart_once(tmp_path):
    async with BotApiServer() as server:
        proc = await _start(server, tmp_path)
        await _prepare_form(server, 811)
        server.hang("sendMessage")  # the Bot API is slow to take the answer
        server.user_sends_text(811, "星河家居用品店")
        await _kill_while_held(server, proc, "sendMessage")
        since = server.mark()
        proc = await _start(server, tmp_path)
        try:
            answer = await _reply(server, 811, since)
            assert FIELDS[1]["prompt"] in answer.params["text"]  # the second field's question
            # the same update may come again from the Bot API (its offset was never
            # confirmed): it is not applied a second time
            await server.wait_until_polling(timeout=30)
            assert _fields(tmp_path, 811) == {"shop_name": "星河家居用品店"}
            answers = [
                c for c in server.calls[since:] if c.method == "sendMessage" and c.chat_id == 811
            ]
            assert [c.ok for c in answers] == [True]
        finally:
            await _stop(proc)


async def test_killed_before_the_update_took_effect_it_is_handled_after_the_restart(tmp_path):
    async with BotApiServer() as server:
        proc = await _start(server, tmp_path)
        await _choose_route(server, 812, label("route_agency"))
        since = server.mark()
        server.user_sends_text(812, "/docs")
        checklist = await _reply(server, 812, since)
        item = next(
            b["callback_data"]
            for row in checklist.params["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == label("dc_item_todo", name=doc("agency", "license"))
        )
        since = server.mark()
        server.user_clicks(812, checklist.result["message_id"], item)
        await _reply(server, 812, since, "editMessageText")  # the item's own screen
        server.hang("getFile")  # the download of the sent file is slow
        server.user_sends_document(812, PDF, "营业执照.pdf", "application/pdf")
        await _kill_while_held(server, proc, "getFile")
        since = server.mark()
        proc = await _start(server, tmp_path)
        try:
            answer = await _reply(server, 812, since)
            assert doc("agency", "license") in answer.params["text"]  # received, checked, kept
            [(kept,)] = query_store(tmp_path / "db.sqlite3", "SELECT COUNT(*) FROM documents")
            assert kept == 1
        finally:
            await _stop(proc)
