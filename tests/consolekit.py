"""Helpers for the operator console's tests: a bot with its console on an ephemeral port, a
merchant with a shop name and an uploaded picture, login links read from the operator's chat."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from devserver.client import MerchantClient
from devserver.server import BotApiServer
from tests.harness import RunningBot, running_bot
from tests.test_e2e_docs import open_platform_checklist

OPERATOR = 999
SHOP = "<b>星河</b>家居&店"  # markup in a shop name must show literally
LINK = re.compile(r"https?://\S+/login\?t=[\w.\-]+")


def png(width: int = 120, height: int = 80) -> bytes:
    """A real, visible PNG (orange and blue stripes), made without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((234, 88, 12)) if (x // 12 + y // 12) % 2 else bytes((29, 78, 216))
            for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


IMAGE = png()


@asynccontextmanager
async def console_bot(tmp_path: Path, **options: object) -> AsyncIterator[RunningBot]:
    """The real bot and its console (127.0.0.1, an ephemeral port); 999 is the operator."""
    async with (
        BotApiServer() as server,
        running_bot(
            server,
            tmp_path / "bot.sqlite3",
            admin_ids=frozenset({OPERATOR}),
            console=True,
            **options,  # type: ignore[arg-type]
        ) as bot,
    ):
        yield bot


async def merchant_with_upload(bot: RunningBot, user_id: int = 1001) -> MerchantClient:
    """A route-B merchant who typed a shop name with markup and sent 营业执照 as a picture."""
    m = bot.merchant(user_id)
    await open_platform_checklist(m)
    [prompt] = await m.send("/apply")
    assert "第 1/4 项" in prompt.text
    [prompt] = await m.send(SHOP)
    assert "第 2/4 项" in prompt.text
    await m.send("/cancel")
    await m.send("/docs")
    await m.press("营业执照")
    await m.press("上传文件")
    [saved] = await m.send_document(IMAGE, "执照.png", "image/png")
    assert "已保存到「营业执照」" in saved.text
    return m


async def link_from_chat(operator: MerchantClient) -> str:
    """Send /console as the operator and read the link in the bot's answer."""
    [reply] = await operator.send("/console")
    found = LINK.search(reply.text)
    assert found, reply.text
    return found.group(0)


def session() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies for 127.0.0.1 (aiohttp skips IP hosts otherwise)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(http: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
    """Open the link and press 进入控制台 (what a browser does); the queue's response."""
    page = await http.get(link)
    text = await page.text()
    token = re.search(r'name="t" value="([^"]+)"', text)
    assert page.status == 200 and token, text
    base = link.split("/login", 1)[0]
    return await http.post(f"{base}/login", data={"t": token.group(1)})


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)
