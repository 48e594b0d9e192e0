"""The console's web server: aiohttp in the bot's own process, started and stopped by
bot.lifespan.serving next to polling and the scheduler.

Routes (every page but /login needs a session; every POST but /login needs the CSRF token):

    GET  /login?t=TOKEN        the one-time link: a page with a button that redeems it
    POST /login                redeem the link (once), set the session cookie, go to /
    POST /logout               end the session
    GET  /                     the queue
    GET  /merchants            the list (filters, search, sort, keyset pages); /merchants.csv
    GET  /merchants/{id}       one merchant; POST …/status records a review result
    POST /merchants/status     one result for several merchants (from the list)
    GET  /files/{id}           a stored document (images inline, PDFs as a download)
    GET  /funnel               how far merchants got, the review's pace (?period=&route=)
    GET  /audit                every operator action
    GET  /static/console.css

Why the link opens a page with a button instead of logging in on GET: Telegram (and mail
scanners) fetch a link to build its preview, which would use up a single-use link before the
operator taps it; and a SameSite=Strict cookie set while following a link from another site is
not sent on the redirect that follows, while it is after a form posted from the console's own
page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiolimiter import AsyncLimiter
from telegram.ext import Application

from bot import httpserve
from bot.console import views
from bot.console.auth import LINK_MINUTES, SESSION_HOURS, Auth, LoginRefused, Session
from bot.console.links import login_url
from bot.console.pages import Pages
from bot.runtime import Runtime

log = logging.getLogger(__name__)

COOKIE = "mb_console"
STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    # no script, no frame, nothing from elsewhere: every byte comes from this server
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # the login token never leaves in a Referer; same-origin, not no-referrer, for with
    # no-referrer Chromium sends "Origin: null" on the console's own forms
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PageHandler = Callable[["Console", web.Request, Session], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ConsoleOptions:
    """Where the console listens. port 0 binds an ephemeral port (tests); the settings'
    BOT_CONSOLE_PORT=0 means no console at all, and then no options are given."""

    host: str = "127.0.0.1"
    port: int = 0
    public_url: str = ""  # BOT_CONSOLE_URL; empty: http://host:port as bound


class Console:
    """The running console."""

    def __init__(
        self, app: Application, runtime: Runtime, options: ConsoleOptions, auth: Auth
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.options = options
        self.auth = auth
        self.pages = Pages(runtime.contents.default, runtime.timezone)
        self.port = options.port
        self.link_minutes = LINK_MINUTES
        self._runner: web.AppRunner | None = None
        # a bulk result's pushes, strictly spaced (capacity 1: no burst)
        self.bulk_rate = AsyncLimiter(1, 1 / views.BULK_PER_SECOND)

    # --- lifecycle ---------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        app: Application,
        runtime: Runtime,
        options: ConsoleOptions,
        *,
        also: Callable[[web.Application], None] | None = None,
    ) -> Console:
        """Bind and serve; the bound port is read back (port 0: an ephemeral one). `also` adds
        routes of the same process to the same server (the webhook, bot.webhook)."""
        console = cls(app, runtime, options, await Auth.open(runtime.store, runtime.clock))
        web_app = console.web_app()
        if also is not None:
            also(web_app)
        console._runner, console.port = await httpserve.serve(web_app, options.host, options.port)
        log.info("operator console at %s", console.url)
        app.bot_data["console"] = console  # /console asks it for links (bot.app)
        return console

    async def stop(self) -> None:
        """Stop serving (requests in progress are finished first)."""
        self.app.bot_data.pop("console", None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The public base URL (no trailing slash)."""
        if self.options.public_url:
            return self.options.public_url.rstrip("/")
        host = self.options.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def secure(self) -> bool:
        """Cookies get the Secure flag when the console is reached over https."""
        return self.url.startswith("https://")

    async def issue_link(self, operator_id: int) -> str:
        """A one-time login link for an operator (ValueError for anyone else)."""
        if operator_id not in self.runtime.admin_ids:
            raise ValueError(f"{operator_id} is not an operator (BOT_ADMIN_IDS)")
        return login_url(self.url, await self.auth.issue(operator_id, self.runtime.clock.now()))

    # --- the web application ----------------------------------------------------------

    def web_app(self) -> web.Application:
        """Routes and middleware."""
        app = web.Application(middlewares=[self._headers], client_max_size=256 * 1024)
        app.router.add_get("/static/console.css", self._css)
        app.router.add_get("/login", self._login_page)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._page(views.logout, post=True))
        app.router.add_get("/", self._page(views.queue_page))
        app.router.add_get("/merchants", self._page(views.merchants_page))
        app.router.add_get("/merchants.csv", self._page(views.merchants_csv))
        app.router.add_post("/merchants/status", self._page(views.bulk_status, post=True))
        app.router.add_get(r"/merchants/{user_id:\d{1,15}}", self._page(views.merchant_page))
        app.router.add_post(
            r"/merchants/{user_id:\d{1,15}}/status", self._page(views.record_status, post=True)
        )
        app.router.add_get(r"/files/{doc_id:\d{1,12}}", self._page(views.document_file))
        app.router.add_get("/funnel", self._page(views.funnel_page))
        app.router.add_get("/audit", self._page(views.audit_page))
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Security headers on every answer; a missing page is a page, not a bare 404."""
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = self.message(404, "not_found")
        except web.HTTPMethodNotAllowed:
            response = self.message(404, "not_found")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def html(self, name: str, status: int = 200, **data: Any) -> web.Response:
        """A rendered page."""
        return web.Response(
            text=self.pages.render(name, **data), status=status, content_type="text/html"
        )

    def message(self, status: int, kind: str, **data: Any) -> web.Response:
        """A short page that explains (login refused, CSRF, not found), never any data."""
        return self.html("message", status, kind=kind, session=None, **data)

    def now(self) -> Any:
        """The bot's current time in BOT_TIMEZONE."""
        return self.runtime.clock.now().astimezone(self.runtime.timezone)

    def _page(self, handler: PageHandler, *, post: bool = False) -> Handler:
        """A page that needs a live session (and, for a POST, the session's CSRF token)."""

        async def page(request: web.Request) -> web.StreamResponse:
            session = await self.auth.session(
                request.cookies.get(COOKIE), self.runtime.admin_ids, self.runtime.clock.now()
            )
            if session is None:
                return self.message(401, "need_login")
            if post:
                form = await request.post()
                token = form.get("csrf")
                if not (isinstance(token, str) and session.csrf_ok(token)) or not _same_origin(
                    request, self.url
                ):
                    log.warning("console: refused a POST without a valid CSRF token")
                    return self.message(403, "csrf")
            return await handler(self, request, session)

        return page

    # --- static and login --------------------------------------------------------------

    async def _css(self, request: web.Request) -> web.StreamResponse:
        """The one stylesheet."""
        response = web.Response(
            body=(STATIC / "console.css").read_bytes(), content_type="text/css", charset="utf-8"
        )
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    def _client(self, request: web.Request) -> str:
        """The address failed logins are counted by."""
        return request.remote or "?"

    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        """The link's page: checked (signature, age, unused, an operator), not yet used."""
        client = self._client(request)
        if self.auth.limited(client):
            return self.message(429, "limited")
        token = request.query.get("t", "")
        try:
            operator, nonce = self.auth.read(token)
            if operator not in self.runtime.admin_ids:
                raise LoginRefused("not_operator")
            await self.auth.check_unused(nonce)
        except LoginRefused as refused:
            self.auth.failed(client)
            return self.message(403, "refused", reason=refused.reason)
        return self.html("login", token=token, operator=operator, session=None)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        """Redeem the link and open a session."""
        client = self._client(request)
        if self.auth.limited(client):
            return self.message(429, "limited")
        form = await request.post()
        token = form.get("t")
        try:
            session_id = await self.auth.redeem(
                token if isinstance(token, str) else "",
                self.runtime.admin_ids,
                self.runtime.clock.now(),
            )
        except LoginRefused as refused:
            self.auth.failed(client)
            return self.message(403, "refused", reason=refused.reason)
        session = await self.auth.session(
            session_id, self.runtime.admin_ids, self.runtime.clock.now()
        )
        if session is not None:
            await views.write_audit(self, session.operator_id, "login", None, "", "", {})
        response = views.see_other("/")
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=SESSION_HOURS * 3600,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure,
        )
        return response


def _same_origin(request: web.Request, public_url: str) -> bool:
    """A POST's Origin (when the browser sends one) is the console's own."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    own = {f"{request.scheme}://{request.host}"}
    parts = urlsplit(public_url)
    own.add(f"{parts.scheme}://{parts.netloc}")
    return origin in own


__all__ = ["COOKIE", "LINK_MINUTES", "Console", "ConsoleOptions"]
