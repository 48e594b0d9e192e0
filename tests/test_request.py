"""bot.request.AiohttpRequest keeps python-telegram-bot's networking contract: answers, files,
and failures mapped so that bot.presenter can tell "surely not sent" from "maybe carried out"."""

from __future__ import annotations

import asyncio
import io
import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot import presenter
from bot.request import AiohttpRequest
from devserver.server import BotApiServer


async def _bot(server: BotApiServer, **request: float) -> Bot:
    bot = Bot(
        server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=AiohttpRequest(**request),  # type: ignore[arg-type]
    )
    await bot.initialize()
    return bot


async def test_messages_keyboards_and_files_go_through(server: BotApiServer) -> None:
    server.add_user(301)
    bot = await _bot(server)
    try:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("主菜单", callback_data="menu")]])
        sent = await bot.send_message(
            301, "<b>你好</b> &amp; 再见", parse_mode="HTML", reply_markup=keyboard
        )
        assert sent.text == "你好 & 再见" and sent.reply_markup == keyboard
        document = await bot.send_document(301, io.BytesIO(b"{}"), filename="我的资料.json")
        assert document.document is not None and document.document.file_name == "我的资料.json"
        calls = {c.method for c in server.calls if c.ok}
        assert {"getMe", "sendMessage", "sendDocument"} <= calls
    finally:
        await bot.shutdown()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_surely_was_not_sent() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{_free_port()}/botX/sendMessage")
        assert presenter.surely_not_sent(caught.value)
    finally:
        await request.shutdown()


async def test_a_read_timeout_may_have_been_carried_out(server: BotApiServer) -> None:
    server.add_user(302)
    bot = await _bot(server, read_timeout=0.3)
    try:
        server.hang("sendMessage")
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(302, "hi")
        assert not presenter.surely_not_sent(caught.value)
    finally:
        server.release()
        await bot.shutdown()


async def test_a_full_pool_times_out_without_sending(server: BotApiServer) -> None:
    server.add_user(303)
    bot = await _bot(server, connection_pool_size=1, pool_timeout=0.2, read_timeout=5)
    try:
        server.hang("sendMessage")
        first = asyncio.create_task(bot.send_message(303, "one"))
        await server.wait_held("sendMessage")
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(303, "two")
        assert presenter.surely_not_sent(caught.value)
        assert server.held.get("sendMessage") == 1  # the second never reached the server
        server.release()
        with pytest.raises(NetworkError):
            await first  # released with 502
    finally:
        server.release()
        await bot.shutdown()
