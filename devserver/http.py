"""The HTTP side, as the bot reaches Telegram: `/bot<token>/<method>` (GET or POST; query
string, JSON, urlencoded or multipart bodies) and `/file/bot<token>/<path>` for downloads.

Each call is answered like Telegram ({"ok": true, "result": …} or {"ok": false, "error_code":
…, "description": …, "parameters": {"retry_after": …}}, HTTP status == error_code) and handed
to `record` with its decoded parameters, whatever the outcome.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from devserver.errors import ApiError
from devserver.faults import Faults
from devserver.methods import BotApi
from devserver.params import decode_params
from devserver.world import Upload

log = logging.getLogger(__name__)

MAX_UPLOAD = 50 * 1024 * 1024

Recorder = Callable[[str, dict[str, Any], ApiError | None, int | None, Any], None]


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def _error(err: ApiError) -> web.Response:
    payload: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
    if err.retry_after is not None:
        payload["parameters"] = {"retry_after": err.retry_after}
    return _json(payload, err.code)


class HttpFront:
    """An aiohttp server in front of the Bot API methods."""

    def __init__(self, token: str, api: BotApi, faults: Faults, record: Recorder) -> None:
        self.token = token
        self.api = api
        self.faults = faults
        self.record = record
        # Telegram matches method names case-insensitively
        self._methods = {name.lower(): name for name in api.handlers}
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 picks a free port); return the port."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # no access log (benchmarks); abandoned long polls are cancelled, not left hanging
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        return int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._methods.get(name.lower(), name)
        params: dict[str, Any] = {}
        chat_id: int | None = None
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in self.api.handlers:
                raise ApiError(404, "Not Found")
            raw, uploads = await self._read_params(request)
            params = decode_params(method, raw, uploads)
            if uploads:  # record what was uploaded, not the bytes
                params = {
                    **params,
                    **{
                        part: {
                            "file_name": up.file_name,
                            "mime_type": up.mime_type,
                            "size": len(up.content),
                        }
                        for part, up in uploads.items()
                    },
                }
            cid = params.get("chat_id")
            if isinstance(cid, int):
                chat_id = cid
            elif method == "answerCallbackQuery":
                chat_id = self.api.world.query_chats.get(str(params.get("callback_query_id")))
            await self.faults.before_call(method)
            result = await self.api.handlers[method](params, uploads)
        except ApiError as err:
            self.record(method, params, err, chat_id, None)
            return _error(err)
        except Exception as exc:  # a bug in the emulator: make it loud, not a hang
            log.exception("Bot API emulator failed on %s", method)
            bug = ApiError(500, f"Internal Server Error: emulator bug: {exc!r}")
            self.record(method, params, bug, chat_id, None)
            return _error(bug)
        self.record(method, params, None, chat_id, result)
        if self.faults.answer_lost(method) and request.transport is not None:
            # The request took effect, but the answer is lost on the way back: the client
            # sees a broken connection and cannot know whether the message arrived.
            request.transport.abort()
        return _json({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        stored = self.api.world.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return _error(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return _error(ApiError(404, "Not Found"))

    async def _read_params(self, request: web.Request) -> tuple[dict[str, str], dict[str, Upload]]:
        """Raw parameters from the query string and a JSON / urlencoded / multipart body."""
        raw: dict[str, str] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(await request.read())
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON object expected")
                # as Telegram reads a JSON body: a string as is, anything else as its JSON text
                raw.update(
                    (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                    for k, v in body.items()
                )
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        content = bytes(await part.read(decode=True))
                        if len(content) > MAX_UPLOAD:
                            raise ApiError(413, "Request Entity Too Large")
                        ctype_part = part.headers.get("Content-Type")
                        uploads[part.name] = Upload(part.filename, ctype_part, content)
                    else:
                        raw[part.name] = await part.text()
            else:
                form = await request.post()
                raw.update((k, v) for k, v in form.items() if isinstance(v, str))
        return raw, uploads
