"""The console served by `merchant-bot run` itself (a separate process against the Bot API
emulator, as in tests/test_run_command.py): it answers on BOT_CONSOLE_PORT, a link from
`merchant-bot console-link` and one from /console in the operator's chat both log in."""

from __future__ import annotations

import asyncio
import html
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from devserver.server import BotApiServer
from tests.consolekit import LINK, OPERATOR, login, session
from tests.harness import store_target

EXE = str(Path(sys.executable).with_name("merchant-bot"))


def free_port() -> int:
    """A port nobody listens on (released at once: the bot binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _first_answer(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    """GET url once the console listens (it starts next to polling)."""
    for _ in range(300):
        try:
            return await http.get(url)
        except aiohttp.ClientConnectorError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answers at {url}")


async def test_run_serves_the_console_and_its_links_log_in(tmp_path):
    token = "987654:console-run"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with BotApiServer(token=token) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_API_URL=server.base_url,
            BOT_DATABASE=str(store_target(tmp_path / "db.sqlite3")),
            BOT_FILES_DIR=str(tmp_path / "files"),
            BOT_ADMIN_IDS=str(OPERATOR),
            BOT_CONSOLE_HOST="127.0.0.1",
            BOT_CONSOLE_PORT=str(port),
        )
        proc = await asyncio.create_subprocess_exec(
            EXE,
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await server.wait_until_polling(timeout=30)
            async with session() as http:
                # the console answers on its port, and without a session shows no data
                page = await _first_answer(http, base + "/")
                assert page.status == 401 and "请先登录" in await page.text()

                # a link printed on the server by `merchant-bot console-link`
                link_cmd = await asyncio.create_subprocess_exec(
                    EXE,
                    "console-link",
                    str(OPERATOR),
                    env=env,
                    cwd=tmp_path,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                out, err = await asyncio.wait_for(link_cmd.communicate(), timeout=30)
                assert link_cmd.returncode == 0, err.decode()
                link = out.decode().strip()
                assert link.startswith(base + "/login?t="), link
                home = await login(http, link)
                assert home.status == 200 and "待处理" in await home.text()
                funnel = await http.get(base + "/funnel")
                assert funnel.status == 200 and "<svg" in await funnel.text()

            # a link from /console in the operator's chat
            since = server.mark()
            server.user_sends_text(OPERATOR, "/console")
            reply = await server.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == OPERATOR,
                since=since,
                timeout=30,
            )
            found = LINK.search(html.unescape(re.sub(r"<[^>]+>", " ", reply.params["text"])))
            assert found and found.group(0).startswith(base), reply.params["text"]
            async with session() as http:
                home = await login(http, found.group(0))
                assert home.status == 200 and "待处理" in await home.text()
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        logs = (stdout + stderr).decode()
        assert proc.returncode == 0, logs
        assert f"operator console at {base}" in logs
        assert token not in logs
