"""`merchant-bot run` as a separate process against a Bot API server given by TELEGRAM_API_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from devserver.server import BotApiServer
from tests.harness import store_target

EXE = str(Path(sys.executable).with_name("merchant-bot"))


async def test_run_serves_merchants_and_never_logs_the_token(tmp_path):
    token = "987654:SECRET-token-never-logged"
    async with BotApiServer(token=token) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_API_URL=server.base_url,
            BOT_DATABASE=str(store_target(tmp_path / "db.sqlite3")),
            BOT_FILES_DIR=str(tmp_path / "files"),
            BOT_CONSOLE_PORT="0",  # no console: tests never fight over port 8080
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
            since = server.mark()
            server.user_sends_text(555, "/start")
            reply = await server.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == 555, since=since, timeout=30
            )
            assert reply.ok and "托管助手" in reply.params["text"]
            since = server.mark()
            server.user_clicks(555, reply.result["message_id"], "ship1")
            await server.wait_for(
                lambda c: c.method == "answerCallbackQuery", since=since, timeout=30
            )
            await server.wait_for(lambda c: c.method == "editMessageText", since=since, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        logs = (stdout + stderr).decode()
        assert proc.returncode == 0, logs
        assert "serving @" in logs  # the log did run, at INFO
        assert token not in logs and "SECRET" not in logs
        assert [c for c in server.calls if not c.ok] == []
        assert server.pending_callback_queries() == []


async def _run_briefly(env_extra: dict[str, str], tmp_path) -> tuple[int, str]:
    """Run `merchant-bot run` to its exit; (status, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(BOT_DATABASE=str(tmp_path / "db.sqlite3"), BOT_FILES_DIR=str(tmp_path / "f"))
    env.update(BOT_CONSOLE_PORT="0")  # no console: tests never fight over port 8080
    env.update(env_extra)
    proc = await asyncio.create_subprocess_exec(
        EXE,
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, stderr.decode()


async def test_run_with_a_refused_token_says_so_in_one_line(tmp_path):
    async with BotApiServer(token="1:right") as server:
        status, stderr = await _run_briefly(
            {"TELEGRAM_BOT_TOKEN": "1:wrong-secret", "TELEGRAM_API_URL": server.base_url},
            tmp_path,
        )
    assert status == 2, stderr
    assert "TELEGRAM_BOT_TOKEN" in stderr and "Traceback" not in stderr
    assert "wrong-secret" not in stderr


async def test_run_with_an_unreachable_api_says_so_in_one_line(tmp_path):
    async with BotApiServer() as server:
        url = server.base_url  # the port is free again once the server is gone
    status, stderr = await _run_briefly(
        {"TELEGRAM_BOT_TOKEN": "1:secret-token", "TELEGRAM_API_URL": url}, tmp_path
    )
    assert status == 1, stderr
    assert "cannot reach the Bot API" in stderr and "Traceback" not in stderr
    assert "secret-token" not in stderr


async def test_run_with_an_unreachable_postgresql_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BotApiServer() as server:
        status, stderr = await _run_briefly(
            {
                "TELEGRAM_BOT_TOKEN": server.token,
                "TELEGRAM_API_URL": server.base_url,
                "BOT_DATABASE": f"postgresql://merchant:pg-Secret-pw@127.0.0.1:{port}/bot",
            },
            tmp_path,
        )
    assert status == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "BOT_DATABASE" in lines[0] and "PostgreSQL" in lines[0], stderr
    assert "pg-Secret-pw" not in stderr and "Traceback" not in stderr
