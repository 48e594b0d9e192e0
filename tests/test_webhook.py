"""Webhooks instead of long polling (bot.webhook): the local Bot API server POSTs updates to the
bot through a stand-in for the TLS proxy; the secret header is checked, each update is applied
once however often it arrives, and one that cannot be recorded is refused so Telegram retries."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import Callable
from zoneinfo import ZoneInfo

import aiohttp

from bot.clock import SystemClock
from bot.console import ConsoleOptions
from bot.lifespan import serving
from bot.runtime import Runtime
from bot.webhook import SECRET_HEADER, WebhookOptions
from devserver.server import BotApiServer
from devserver.webhooks import Delivery
from tests import contentkit as ck
from tests.harness import contents, open_store, running_bot, store_target

PUBLIC = "https://bot.example.com/telegram/hook"
SECRET = "s3cr3t_Token-for-tests"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _options(port: int) -> WebhookOptions:
    return WebhookOptions(PUBLIC, SECRET, host="127.0.0.1", port=port)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until predicate() holds (deliveries are not API calls: no event to wait on)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the deliverer offers no event to wait on
            await asyncio.sleep(0.01)


def _local(port: int) -> str:
    return f"http://127.0.0.1:{port}/telegram/hook"


async def test_merchants_talk_to_the_bot_over_a_webhook(server: BotApiServer, tmp_path) -> None:
    port = _free_port()
    server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
    async with running_bot(server, tmp_path / "db", webhook=_options(port)) as bot:
        assert server.webhook_url == PUBLIC
        [set_call] = [c for c in server.calls if c.method == "setWebhook"]
        assert set_call.params["secret_token"] == SECRET
        m = bot.merchant(7001)
        [welcome] = await m.send("/start")
        assert ck.template(welcome) == "welcome"
        [guide] = await m.send("怎么发货")
        assert ck.template(guide) == "ship_step"
        assert not [c for c in server.calls if c.method == "getUpdates"]
        delivered = [d for d in server.webhooks.deliveries if d.user_id == 7001]
        assert [d.status for d in delivered] == [200, 200]
        assert all(d.target.startswith(f"http://127.0.0.1:{port}/") for d in delivered)


async def test_a_wrong_or_missing_secret_gets_403_and_is_logged(
    server: BotApiServer, tmp_path, caplog
) -> None:
    port = _free_port()
    server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
    forged = {"update_id": 999_999, "message": {"message_id": 1, "date": 0, "text": "/start"}}
    async with running_bot(server, tmp_path / "db", webhook=_options(port)) as bot:
        caplog.set_level(logging.WARNING, logger="bot.webhook")
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
                async with session.post(_local(port), json=forged, headers=headers) as res:
                    assert res.status == 403
            # the right secret but not an update: refused as such, nothing applied
            async with session.post(
                _local(port), data=b"{not json", headers={SECRET_HEADER: SECRET}
            ) as res:
                assert res.status == 400
        assert sum("without the right secret" in r.message for r in caplog.records) == 3
        assert await bot.store.last_update_id() is None  # nothing was recorded


async def test_a_redelivered_update_is_applied_once(server: BotApiServer, tmp_path) -> None:
    port = _free_port()
    server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
    async with running_bot(server, tmp_path / "db", webhook=_options(port)) as bot:
        m = bot.merchant(7002)
        await m.send("/start")
        update = server.user_sends_text(7002, "/status")
        await bot.tracker.wait(update["update_id"])
        for _ in range(3):  # Telegram retries a delivery it could not confirm
            server.redeliver(update)

        def attempts() -> list[Delivery]:
            return [d for d in server.webhooks.deliveries if d.update_id == update["update_id"]]

        await until(lambda: len(attempts()) >= 4)
        await bot.app.update_queue.join()
        assert [d.status for d in attempts()] == [200, 200, 200, 200]
        replies = [
            c for c in server.calls if c.method == "sendMessage" and c.params["chat_id"] == 7002
        ]
        assert len(replies) == 2  # /start and /status, once each
        assert bot.app.update_queue.duplicates == 3  # type: ignore[attr-defined]


async def test_an_update_that_cannot_be_recorded_is_refused_and_comes_again(
    server: BotApiServer, tmp_path, monkeypatch
) -> None:
    port = _free_port()
    server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
    server.webhooks.retry_after = 0.05
    async with running_bot(server, tmp_path / "db", webhook=_options(port)) as bot:
        real = bot.store.receive_update
        failures = iter([sqlite3.OperationalError("database is locked")])

        async def flaky(*args, **kwargs):
            for exc in failures:
                raise exc
            return await real(*args, **kwargs)

        monkeypatch.setattr(bot.store, "receive_update", flaky)
        [welcome] = await bot.merchant(7003).send("/start")
        assert ck.template(welcome) == "welcome"
        statuses = [d.status for d in server.webhooks.deliveries if d.user_id == 7003]
        assert statuses == [503, 200]


async def test_the_console_and_the_webhook_share_one_server(server: BotApiServer, tmp_path) -> None:
    port = _free_port()
    server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
    store = await open_store(tmp_path / "db")
    runtime = Runtime(
        store=store, contents=contents(), clock=SystemClock(), timezone=ZoneInfo("Asia/Shanghai")
    )
    async with serving(
        runtime,
        token=server.token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        console=ConsoleOptions("127.0.0.1", port),
        webhook=_options(port),
    ) as running:
        assert running.console is not None and running.console.port == port
        assert running.webhook is not None
        server.add_user(7004)
        server.user_sends_text(7004, "/start")
        await server.wait_for(
            lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 7004
        )
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/login") as res:
                # the console's own page (a link-less login is refused politely), same port
                assert res.status == 403 and res.content_type == "text/html"


def test_webhook_settings_are_checked_in_one_line() -> None:
    from bot.config import ConfigError, load_settings

    for given, said in (
        ({"BOT_WEBHOOK_URL": PUBLIC}, "BOT_WEBHOOK_SECRET must be set"),
        ({"BOT_WEBHOOK_URL": "http://bot.example/hook", "BOT_WEBHOOK_SECRET": "x"}, "https://"),
        ({"BOT_WEBHOOK_URL": PUBLIC, "BOT_WEBHOOK_SECRET": "有空格 no"}, "A-Z, a-z"),
        ({"BOT_WEBHOOK_LISTEN": "8443"}, "host:port"),
    ):
        try:
            load_settings(**given)
        except ConfigError as exc:
            assert said in str(exc), (given, str(exc))
        else:
            raise AssertionError(f"accepted {given}")
    settings = load_settings(BOT_WEBHOOK_URL=PUBLIC, BOT_WEBHOOK_SECRET=SECRET)
    assert settings.webhook_listen == ("127.0.0.1", 8443)


async def test_merchant_bot_run_serves_a_webhook_and_never_logs_the_secret(tmp_path) -> None:
    import os
    import signal

    from tests.test_run_command import EXE

    port = _free_port()
    async with BotApiServer() as server:
        server.webhooks.route(PUBLIC, f"http://127.0.0.1:{port}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=server.token,
            TELEGRAM_API_URL=server.base_url,
            BOT_DATABASE=str(store_target(tmp_path / "db.sqlite3")),
            BOT_FILES_DIR=str(tmp_path / "files"),
            BOT_CONSOLE_PORT="0",
            BOT_WEBHOOK_URL=PUBLIC,
            BOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            BOT_WEBHOOK_SECRET=SECRET,
        )
        proc = await asyncio.create_subprocess_exec(
            EXE, "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
        )
        try:
            await server.wait_for(lambda c: c.method == "setWebhook", timeout=30)
            server.add_user(556)
            since = server.mark()
            server.user_sends_text(556, "/start")
            reply = await server.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == 556, since=since, timeout=30
            )
            # another process rendered it: compare with the content rendered here
            assert reply.ok and reply.params["text"] == ck.CONTENT.render_text("welcome", {})
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        logs = stderr.decode()
        assert proc.returncode == 0, logs
        assert f"by webhook {PUBLIC}" in logs
        assert SECRET not in logs
        assert server.webhook_url == PUBLIC  # left set: other replicas keep receiving
        assert not [c for c in server.calls if c.method == "getUpdates"]
