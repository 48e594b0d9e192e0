"""A throwaway PostgreSQL server for the benchmark's PostgreSQL rows (tests/pgserver.py: initdb
and pg_ctl from Debian's `postgresql` package in a temporary directory, 127.0.0.1, a free port;
as the `postgres` user when run as root; fsync off, as in the tests).

Where PostgreSQL cannot run, `PgServer.start` returns None and the reason, and the sections
that need it are skipped with that reason printed in one line: never figures made up.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from typing import Any

_names = itertools.count()


@dataclass
class PgServer:
    """The running server (tests.pgserver.PostgresServer) and the databases made on it."""

    server: Any
    databases: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> tuple[PgServer | None, str]:
        """(a running server, "") or (None, why not)."""
        try:
            from tests.pgserver import PostgresServer, find_binaries
        except ImportError as exc:  # a wheel install without the tests
            return None, f"tests/pgserver.py cannot be imported ({exc})"
        binaries, why = find_binaries()
        if binaries is None:
            return None, why
        try:
            return cls(PostgresServer.start(binaries)), ""
        except (OSError, RuntimeError) as exc:
            return None, f"the server did not start: {' '.join(str(exc).split())[:300]}"

    def database(self, prefix: str) -> str:
        """A fresh, empty database; its URL."""
        name = f"{prefix}_{next(_names)}"
        url: str = self.server.create_database(name)
        self.databases.append(name)
        return url

    def drop(self, url: str) -> None:
        """Drop a database made here (frees its disk at once: 1,000,000 merchants are GiBs)."""
        import psycopg

        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.server.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.server.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "?"  # "15.18 (Debian 15.18-0+deb12u1)"

    def stop(self) -> None:
        self.server.stop()


def skipped_lines(res: dict[str, Any]) -> list[str]:
    """One line per run where the PostgreSQL rows were skipped, and why."""
    why = next(
        (
            reason
            for reason in (
                (res.get("postgres") or {}).get("skipped"),
                (res.get("replicas") or {}).get("skipped"),
                (res.get("bigscale") or {}).get("skipped_postgresql"),
            )
            if reason
        ),
        None,
    )
    return [f"PostgreSQL rows skipped (no figures were made up): {why}"] if why else []


_shared: dict[str, Any] = {}


def shared() -> tuple[PgServer | None, str]:
    """The one server of this benchmark run, started on first use (stop_shared stops it)."""
    if "server" not in _shared:
        print("  PostgreSQL: starting a server in a temporary directory …", file=sys.stderr)
        _shared["server"], _shared["why"] = PgServer.start()
    return _shared["server"], _shared["why"]


def stop_shared() -> None:
    server = _shared.pop("server", None)
    if server is not None:
        server.stop()
