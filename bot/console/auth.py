"""Who gets into the console: one-time login links, sessions, CSRF tokens, a failure limit.

A login link carries a token signed with the console's key (itsdangerous, kept in the
`console_keys` table so links and sessions survive a restart) naming the operator and a random
nonce; it is valid for LINK_MINUTES and redeemed once (`console_links.used_at`, set by one
conditional UPDATE, so two tabs racing cannot both get in). A session is a random id in an
HttpOnly cookie; only its SHA-256 is stored, with the operator, the CSRF token every form
carries, and when it ends. An operator removed from BOT_ADMIN_IDS loses their sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.clock import Clock
from bot.store import Store

LINK_MINUTES = 10
SESSION_HOURS = 8
LINK_SALT = "merchant-bot.console.login"
MAX_FAILURES = 10  # failed logins per client address …
FAILURE_WINDOW = 600.0  # … within this many seconds, after which it must wait


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text, as the store writes times."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _hash(session_id: str) -> str:
    """What the table keeps of a session id."""
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in operator."""

    operator_id: int
    csrf: str
    expires_at: str

    def csrf_ok(self, given: str | None) -> bool:
        """The form's token is this session's (compared in constant time)."""
        return bool(given) and hmac.compare_digest(self.csrf, str(given))


class LoginRefused(Exception):
    """A link that does not let anyone in; `reason` names the page shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid" | "expired" | "used" | "not_operator"


def _signer(clock: Clock) -> type[TimestampSigner]:
    """A signer whose "now" is the bot's clock (the playground's `:advance` and the tests move
    it), so a link expires on the same time line as everything else."""

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockSigner


class Auth:
    """Links, sessions and the failure limit over the store's console tables."""

    def __init__(self, store: Store, key: str, clock: Clock) -> None:
        self.store = store
        self.serializer = URLSafeTimedSerializer(key, salt=LINK_SALT, signer=_signer(clock))
        self.failures: dict[str, deque[float]] = {}

    @classmethod
    async def open(cls, store: Store, clock: Clock) -> Auth:
        """The console's key: read, or made once (a random 256-bit secret)."""
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO console_keys (name, value) VALUES ('signing', ?)"
                " ON CONFLICT DO NOTHING",
                (secrets.token_urlsafe(32),),
            )
            rows = await db.execute_fetchall(
                "SELECT value FROM console_keys WHERE name = 'signing'"
            )
        return cls(store, str(next(iter(rows))[0]), clock)

    # --- links -------------------------------------------------------------------------

    async def issue(self, operator_id: int, now: datetime) -> str:
        """A new login token for the operator (the caller checks that they are one)."""
        nonce = secrets.token_urlsafe(16)
        async with self.store.transaction() as db:
            # links older than a day can never be used: forget them
            await db.execute(
                "DELETE FROM console_links WHERE issued_at < ?", (_iso(now - timedelta(days=1)),)
            )
            await db.execute(
                "INSERT INTO console_links (nonce, operator_id, issued_at) VALUES (?, ?, ?)",
                (nonce, operator_id, _iso(now)),
            )
        return str(self.serializer.dumps({"op": operator_id, "n": nonce}))

    def read(self, token: str) -> tuple[int, str]:
        """(operator id, nonce) of a well-signed, unexpired token; LoginRefused otherwise."""
        try:
            payload = self.serializer.loads(token, max_age=LINK_MINUTES * 60)
        except SignatureExpired:
            raise LoginRefused("expired") from None
        except BadSignature:
            raise LoginRefused("invalid") from None
        if not isinstance(payload, dict):
            raise LoginRefused("invalid")
        operator, nonce = payload.get("op"), payload.get("n")
        if not isinstance(operator, int) or not isinstance(nonce, str):
            raise LoginRefused("invalid")
        return operator, nonce

    async def check_unused(self, nonce: str) -> None:
        """LoginRefused("used") when the link was already opened (or is unknown here)."""
        rows = await self.store.db.execute_fetchall(
            "SELECT used_at FROM console_links WHERE nonce = ?", (nonce,)
        )
        row = next(iter(rows), None)
        if row is None:
            raise LoginRefused("invalid")
        if row[0] is not None:
            raise LoginRefused("used")

    async def redeem(self, token: str, operators: frozenset[int], now: datetime) -> str:
        """Use a link once and open a session: the new session id (for the cookie)."""
        operator, nonce = self.read(token)
        if operator not in operators:
            raise LoginRefused("not_operator")
        session_id = secrets.token_urlsafe(32)
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE console_links SET used_at = ? WHERE nonce = ? AND operator_id = ?"
                " AND used_at IS NULL",
                (_iso(now), nonce, operator),
            )
            if cur.rowcount != 1:
                used = await db.execute_fetchall(
                    "SELECT 1 FROM console_links WHERE nonce = ?", (nonce,)
                )
                raise LoginRefused("used" if list(used) else "invalid")
            await db.execute("DELETE FROM console_sessions WHERE expires_at < ?", (_iso(now),))
            await db.execute(
                "INSERT INTO console_sessions (id_hash, operator_id, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    _hash(session_id),
                    operator,
                    secrets.token_urlsafe(24),
                    _iso(now),
                    _iso(now + timedelta(hours=SESSION_HOURS)),
                ),
            )
        return session_id

    # --- sessions ----------------------------------------------------------------------

    async def session(
        self, session_id: str | None, operators: frozenset[int], now: datetime
    ) -> Session | None:
        """The live session of a cookie value, if any (expired or revoked: None)."""
        if not session_id:
            return None
        rows = await self.store.db.execute_fetchall(
            "SELECT operator_id, csrf, expires_at FROM console_sessions WHERE id_hash = ?",
            (_hash(session_id),),
        )
        row = next(iter(rows), None)
        if row is None or row[2] <= _iso(now) or int(row[0]) not in operators:
            return None
        return Session(int(row[0]), str(row[1]), str(row[2]))

    async def end(self, session_id: str | None) -> None:
        """Log out: the session is gone."""
        if session_id:
            async with self.store.transaction() as db:
                await db.execute(
                    "DELETE FROM console_sessions WHERE id_hash = ?", (_hash(session_id),)
                )

    # --- failed logins -----------------------------------------------------------------

    def limited(self, client: str) -> bool:
        """Too many failed logins from this address lately."""
        recent = self._recent(client)
        return len(recent) >= MAX_FAILURES

    def failed(self, client: str) -> None:
        """Count one failed login."""
        self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        """The failures of the address within the window (older ones forgotten)."""
        if len(self.failures) > 10_000:  # never an unbounded map of addresses
            self.failures.clear()
        recent = self.failures.setdefault(client, deque())
        horizon = time.monotonic() - FAILURE_WINDOW
        while recent and recent[0] < horizon:
            recent.popleft()
        return recent
