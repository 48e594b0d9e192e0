"""python-telegram-bot's networking on aiohttp instead of httpx (its documented BaseRequest hook).

Measured in bench/README.md: httpx, httpcore, h11 and anyio were about a third of the bot's CPU
per update; aiohttp's C-accelerated HTTP client (already a dependency: the console's server)
does the same work for much less. Requests without files go as a JSON body (orjson), as the Bot
API accepts, instead of a form with each value JSON-encoded and then URL-encoded; replies are
parsed with orjson.

The contract PTB expects is kept: TimedOut for any timeout (pool, connect, read, write),
NetworkError for other transport failures, and the cause is kept so bot.presenter can tell a
request that surely never reached the server (no connection made: NOT_SENT) from one that may
have been carried out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData


class PoolTimeout(TimeoutError):
    """No free connection in the pool in time: the request was not sent."""


class ConnectTimeout(TimeoutError):
    """The connection could not be made in time: the request was not sent."""


# Failures after which the request surely did not reach the server (bot.presenter.NOT_SENT).
NOT_SENT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    PoolTimeout,
    ConnectTimeout,
)


class AiohttpRequest(BaseRequest):
    """A BaseRequest on one aiohttp ClientSession with a bounded connection pool."""

    __slots__ = ("_defaults", "_media_write_timeout", "_pool_size", "_session", "_slots")

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._defaults = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
        }
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to getUpdates' long-poll timeout)."""
        return self._defaults["read"]

    async def initialize(self) -> None:
        """Open the session (idempotent)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                auto_decompress=True,
            )
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """Parse the Bot API's answer with orjson."""
        try:
            parsed: JSONDict = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise TelegramError("Invalid server response") from exc
        return parsed

    def _timeout(self, name: str, given: ODVInput[float], files: bool) -> float | None:
        if not isinstance(given, DefaultValue):
            return given
        if name == "write" and files:
            return self._media_write_timeout
        return self._defaults[name]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request: (status, body)."""
        if self._session is None or self._session.closed or self._slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = self._timeout("read", read_timeout, bool(files))
        write = self._timeout("write", write_timeout, bool(files))
        connect = self._timeout("connect", connect_timeout, bool(files))
        pool = self._timeout("pool", pool_timeout, bool(files))
        body: dict[str, Any] = {}
        if files:
            form = aiohttp.FormData(quote_fields=False)  # a file name as UTF-8, as httpx sends
            for name, value in (request_data.json_parameters if request_data else {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body["data"] = form
        elif request_data is not None and request_data.parameters:
            body["json"] = request_data.parameters
        # aiohttp has no separate write timeout: a request is written within read + write
        total = None if read is None or write is None else read + write
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        try:
            await self._acquire(pool)
            try:
                async with self._session.request(method, url, timeout=timeout, **body) as res:
                    return res.status, await res.read()
            finally:
                self._slots.release()
        except PoolTimeout as err:
            raise TimedOut(
                "Pool timeout: all connections in the pool are in use; the request was not sent"
            ) from err
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut("Connect timeout") from ConnectTimeout(str(err))
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

    async def _acquire(self, pool: float | None) -> None:
        """A free connection slot within the pool timeout, else PoolTimeout."""
        assert self._slots is not None
        if pool is None or not self._slots.locked():
            await self._slots.acquire()  # immediate when a slot is free
            return
        try:
            async with asyncio.timeout(pool):  # not wait_for: see bot.scheduler._loop
                await self._slots.acquire()
        except TimeoutError as err:
            raise PoolTimeout from err
