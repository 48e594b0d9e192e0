"""The database's schema: the numbered migrations shipped with the bot, and the checks that
refuse a file the bot must not use (not SQLite, damaged, another program's, a newer schema)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from functools import lru_cache
from importlib import resources
from pathlib import Path

from bot.config import ConfigError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped in bot/migrations (SQLite's), or in
    bot/migrations/postgresql (their PostgreSQL twins), in order."""
    found = []
    folder = resources.files("bot.migrations")
    if dialect == "postgresql":
        folder = folder.joinpath("postgresql")
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


# --- refusing a database the bot must not use --------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file


class DatabaseRefused(ConfigError):
    """BOT_DATABASE is not a database the bot may use: not SQLite, damaged, another program's,
    or made by a newer merchant-bot. Reported in one line, exit status 2, before polling."""


def refused(path: Path | str, problem: str) -> DatabaseRefused:
    """The one-line refusal, naming the file."""
    return DatabaseRefused(f"BOT_DATABASE: {os.fspath(path)!r} {problem}")


def one_line(text: str, limit: int = 120) -> str:
    """The first line of SQLite's (possibly multi-line) report, short."""
    lines = [line for line in str(text).splitlines() if line.strip() and "***" not in line]
    flat = " ".join((lines[0] if lines else str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _schema_of(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """{table: its column names} of a database, SQLite's own tables left out."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        )
    ]
    return {
        name: frozenset(
            row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))
        )
        for name in names
    }


@lru_cache(maxsize=16)
def expected_schema(version: int) -> dict[str, frozenset[str]]:
    """The tables and columns migrations 1..version create (built in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        for number, _name, sql in migrations():
            if number > version:
                break
            for statement in split_sql(sql):
                conn.execute(statement)
        return _schema_of(conn)
    finally:
        conn.close()


def check_database(path: Path | str) -> None:
    """Refuse (DatabaseRefused) a database file the bot must not open, before anything writes
    to it; a missing or empty file is fine (Store.open creates the schema in it).

    Otherwise the file must start like a SQLite database, pass PRAGMA quick_check, and hold
    merchant-bot's schema: user_version is the number of the last migration applied (0 with
    no tables at all for a new file, never above the newest migration shipped), and every
    table and column those migrations create is there. Tables or columns added beside them
    are tolerated.

    quick_check reads the whole file (3 s for a million merchants), so it runs only when the
    file may have changed since the bot last closed it cleanly (see unchanged_since_closed);
    the header and the schema are checked at every start.
    """
    if str(path) == ":memory:":
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise refused(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        return  # SQLite takes an empty file for a new database
    if head != SQLITE_MAGIC:
        raise refused(path, "is not a SQLite database (wrong file, or encrypted?)")
    whole = not unchanged_since_closed(path)  # before a connection of ours opens a WAL
    try:
        # mode=rw: never creates a file; nothing below writes to it
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True)
        try:
            _check_schema(path, conn, whole=whole)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or (
            type(exc) is sqlite3.DatabaseError
        ):
            raise refused(
                path, f"is damaged ({one_line(str(exc))}); restore it from a backup"
            ) from None
        raise refused(path, f"cannot be opened ({one_line(str(exc))})") from None
    if whole:
        mark_closed(path)  # checked whole and closed: `merchant-bot run` checks twice


def _check_schema(path: Path | str, conn: sqlite3.Connection, *, whole: bool = True) -> None:
    """check_database on an open connection: integrity first (of the whole file unless
    `whole` is False), then the schema's identity."""
    # quick_check, not integrity_check: it reads every page and checks the b-tree structure,
    # the free list, cell sizes and record formats (what scrambled pages break, and what
    # made the bot die with "database disk image is malformed" after start-up), in O(N).
    # integrity_check also cross-checks every index against its table, O(N log N): minutes
    # on a large file at every start, for damage quick_check already catches in practice.
    problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")] if whole else ["ok"]
    if problems != ["ok"]:
        raise refused(
            path, f"is damaged (quick_check: {one_line(problems[0])}); restore it from a backup"
        )
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    known = len(migrations())
    tables = _schema_of(conn)
    tables.pop("_probe", None)  # an older merchant-bot's write probe, if it was interrupted
    if version > known:
        raise refused(
            path,
            f"has schema version {version}, newer than this merchant-bot knows ({known}):"
            " run the newer merchant-bot, or use a backup made for this one",
        )
    if version <= 0:
        if tables:
            shown = ", ".join(sorted(tables)[:4]) + (", …" if len(tables) > 4 else "")
            raise refused(
                path,
                f"holds another program's tables ({shown}) and no merchant-bot schema"
                " version: point BOT_DATABASE at a new file",
            )
        return
    missing = []
    for table, columns in sorted(expected_schema(version).items()):
        if table not in tables:
            missing.append(f"table {table}")
        else:
            missing.extend(f"{table}.{column}" for column in sorted(columns - tables[table]))
    if missing:
        shown = ", ".join(missing[:4]) + (", …" if len(missing) > 4 else "")
        raise refused(
            path,
            f"says schema version {version} but lacks {shown}: another program's database?"
            " Point BOT_DATABASE at merchant-bot's own file",
        )


# --- the file as the bot last closed it ------------------------------------------------------
#
# A file the bot closed cleanly (the last connection gone, its WAL checkpointed into the file
# and removed), or that check_database has just read whole, is known to be as SQLite left it.
# A mark beside it, `<file>-closed`, records the file's identity and times at that moment.
# At the next start, a file whose device, inode, size, mtime and ctime are still those, with
# no WAL holding changes, has not been written since: not by a process that crashed (its WAL
# stays), not by another program, not restored from a backup or copied over (a new inode or
# ctime; no program can set ctime back). Damage the bot must refuse comes from such writes,
# or from the disk itself, which SQLite's own checksums do not cover either way.


def closed_mark(path: Path | str) -> Path:
    """Where the mark of the file's last clean close is kept."""
    return Path(f"{path}-closed")


def _identity(path: Path | str) -> dict[str, int]:
    st = os.stat(path)
    return {
        "dev": st.st_dev,
        "ino": st.st_ino,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def _wal_holds_changes(path: Path | str) -> bool:
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except FileNotFoundError:
        return False


def unchanged_since_closed(path: Path | str) -> bool:
    """Whether the file is exactly as the bot last closed it cleanly (see above)."""
    try:
        mark = json.loads(closed_mark(path).read_text(encoding="utf-8"))
        return not _wal_holds_changes(path) and mark == _identity(path)
    except (OSError, ValueError):
        return False


def mark_closed(path: Path | str) -> None:
    """After the store's last connection closed: mark the file as closed cleanly, when its
    WAL is gone (another process still holding it open leaves it, and no mark)."""
    if os.path.exists(f"{path}-wal"):
        return
    mark = closed_mark(path)
    partial = mark.with_name(mark.name + ".partial")
    try:
        partial.write_text(json.dumps(_identity(path)), encoding="utf-8")
        os.replace(partial, mark)  # whole or not at all
    except OSError:
        partial.unlink(missing_ok=True)  # no mark: the next start checks the whole file


def forget_closed(path: Path | str) -> None:
    """When the store opens the file: it is about to change."""
    try:
        closed_mark(path).unlink(missing_ok=True)
    except OSError:
        pass


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no semicolons in literals; a
    trigger's body, BEGIN … END, holds several and stays one statement)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if sqlite3.complete_statement(pending + ";"):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
