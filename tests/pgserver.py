"""A real PostgreSQL server for the tests, started from Debian's `postgresql` package in a
temporary directory (initdb + pg_ctl), listening on 127.0.0.1 on a free port.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user the
package creates. Where the binaries are missing and cannot be installed (tests/setup_postgres.sh
is run by `make test`), `find_binaries` says why and the tests that need the server are
skipped with that reason, never passed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SEARCH = ("/usr/lib/postgresql",)


def find_binaries() -> tuple[Path | None, str]:
    """(the bin directory of the newest installed PostgreSQL, or None; why not)."""
    for root in SEARCH:
        base = Path(root)
        if not base.is_dir():
            continue
        versions = sorted(
            (p for p in base.iterdir() if (p / "bin" / "initdb").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin", ""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent, ""
    return (
        None,
        "PostgreSQL is not installed (Debian: apt-get install postgresql; "
        "make test installs it as root)",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """One throwaway cluster; `url` is a libpq connection URL to its `postgres` database."""

    bin_dir: Path
    root: Path
    port: int
    user: str = "merchant"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="merchant-pg-"))
        server = cls(bin_dir, root, _free_port())
        data = root / "data"
        as_root = os.geteuid() == 0
        if as_root:
            shutil.chown(root, "postgres", "postgres")
        server._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                server.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        server._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "start",
            ]
        )
        return server

    def create_database(self, name: str) -> str:
        """A fresh database on this server; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        try:
            self._run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop"]
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, argv: list[str]) -> None:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            extra = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()} {extra}")
