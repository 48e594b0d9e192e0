"""Telegram webhooks instead of long polling (BOT_WEBHOOK_URL, BOT_WEBHOOK_LISTEN,
BOT_WEBHOOK_SECRET).

Telegram POSTs each update to the public HTTPS URL; a reverse proxy terminates TLS and passes
the request, path unchanged, to BOT_WEBHOOK_LISTEN. Every request must carry the secret in
`X-Telegram-Bot-Api-Secret-Token` (compared in constant time; a wrong or missing one gets 403
and a warning in the log). The update is recorded by the durable inbox (bot.inbox) before the
answer: 200 means it is on disk and will be applied once; a redelivered update_id is answered
200 and dropped; if it cannot be recorded the answer is 503 and Telegram delivers it again.

Served on its own aiohttp server, or on the operator console's when both listen on the same
address. The webhook is set at start and left in place at stop, so that other replicas behind
the same URL keep receiving updates while this one is replaced.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application

from bot import httpserve, inbox
from bot.app import start_application, stop_recovering

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KiB; a larger body is not Telegram's


@dataclass(frozen=True)
class WebhookOptions:
    """Where Telegram delivers (url) and where this process listens (host, port)."""

    url: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 8443
    max_connections: int = 40  # Telegram's default: simultaneous deliveries

    @property
    def path(self) -> str:
        """The path the proxy passes on: the public URL's own."""
        return urlsplit(self.url).path or "/"


def add_route(web_app: web.Application, app: Application, options: WebhookOptions) -> None:
    """Answer Telegram's POSTs on the webhook's path in this aiohttp application."""
    queue = cast(inbox.DurableQueue, app.update_queue)
    expected = options.secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning(
                "webhook: refused a request without the right secret from %s", request.remote
            )
            return web.Response(status=403, text="forbidden")
        try:
            body = await request.read()
            data = orjson.loads(body)
            update = Update.de_json(data, app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook: not an update (%s)", exc)
            return web.Response(status=400, text="bad update")
        if update is None:
            return web.Response(status=400, text="bad update")
        try:
            await queue.put(update)  # on disk (or a known redelivery) before we answer
        except NetworkError as exc:
            log.warning(
                "webhook: update %s not recorded, Telegram will retry: %s", update.update_id, exc
            )
            return web.Response(status=503, text="retry later")
        return web.Response(status=200)

    web_app.router.add_post(options.path, receive)


class Webhook:
    """A running webhook: its own server (or the console's) and the Application started."""

    def __init__(self, app: Application, options: WebhookOptions) -> None:
        self.app = app
        self.options = options
        self.port = options.port
        self._runner: web.AppRunner | None = None

    @classmethod
    async def start(
        cls, app: Application, options: WebhookOptions, *, shared: bool = False
    ) -> Webhook:
        """Start the Application, recover what a stopped process left, listen (unless `shared`:
        the console's server already answers the path), then tell Telegram where to deliver."""
        hook = cls(app, options)
        await start_application(app)
        if not shared:
            web_app = web.Application(client_max_size=MAX_UPDATE_BYTES)
            add_route(web_app, app, options)
            try:
                hook._runner, hook.port = await httpserve.serve(web_app, options.host, options.port)
            except OSError:
                await stop_recovering(app)
                await app.stop()
                raise
        await app.bot.set_webhook(
            options.url,
            secret_token=options.secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=options.max_connections,
        )
        log.info("webhook: Telegram delivers to %s (listening on port %s)", options.url, hook.port)
        return hook

    async def stop(self) -> None:
        """Stop answering, then stop the Application (updates in progress finish first).
        The webhook stays set: other replicas behind the URL keep receiving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await stop_recovering(self.app)
        await self.app.stop()
