"""`merchant-bot migrate-db --to postgresql://…`: copy the SQLite database BOT_DATABASE into a
PostgreSQL database in one transaction, so that the bot, started with BOT_DATABASE set to that
URL, carries on from it: the same merchants, documents, history, reminders, inbox and console.

What is copied: every table the migrations create (bot/migrations/*.sql), row for row with the
same ids, except the migrations' own reference data (`journey_stages`, which the target's
migrations already hold). The tables kept by triggers (`merchant_progress`, `merchant_search`,
`upload_latest`, `merchants.reached`) are copied as they are, with the triggers disabled during
the copy: `merchant_progress` remembers when each stage was first reached, which a rebuild from
the merchants' rows cannot know. Generated columns (`shop_name`, `contact`, `submitted_on`,
`need_more_by`) are computed by PostgreSQL. Identity sequences are set past the highest id
SQLite ever gave (`sqlite_sequence` remembers deleted rows too), so no id is used twice.

Refused: a target that is not a postgresql:// URL, cannot be reached, has a newer schema or
already holds data (unless `replace`); a source that is missing or one the bot would refuse
(bot.schema.check_database). A source made by an older version is upgraded first, as
`merchant-bot run` would do at start. A failure rolls the whole copy back: the target stays empty.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bot import pgdb
from bot.schema import check_database, expected_schema, migrations, one_line
from bot.store import Store, is_postgresql

REFERENCE = frozenset({"journey_stages"})  # written by the migrations themselves, not copied
BATCH = 5000


class MigrationError(Exception):
    """Why the copy was refused or failed, in one line; `status` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def redact(url: str) -> str:
    """The URL with its password replaced by ***."""
    secret = urlsplit(url).password
    return url.replace(f":{secret}@", ":***@", 1) if secret else url


def copied_tables() -> list[str]:
    """The tables the migrations create, merchants first, reference data left out."""
    names = sorted(set(expected_schema(len(migrations()))) - REFERENCE)
    return sorted(names, key=lambda name: name != "merchants")


def summary(source: Path, target: str, before: int, counts: dict[str, int], files_dir: Path) -> str:
    """What was done, for the operator: rows per table, and where the uploaded files are."""
    version, lines = len(migrations()), []
    if before < version:
        lines.append(f"{source}: upgraded from schema version {before} to {version} first")
    lines.append(f"copied {source} (schema version {version}) into {redact(target)}:")
    width = max(map(len, counts), default=0)
    lines += [f"  {name:<{width}}  {n:>8}" for name, n in counts.items()]
    with closing(sqlite3.connect(source)) as db:
        paths = [str(r[0]) for r in db.execute("SELECT path FROM documents ORDER BY id")]
    missing = [p for p in paths if not (files_dir / p).is_file()]
    where = f"under {files_dir} (BOT_FILES_DIR)"
    if missing:
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        lines.append(
            f"warning: {len(missing)} of {len(paths)} document files missing {where}: {shown}"
        )
    else:
        lines.append(f"document files: all {len(paths)} found {where}")
    lines.append(
        "the files stay where they are: give the bot on PostgreSQL this BOT_FILES_DIR (or a copy;"
        " a shared volume for several processes) and BOT_DATABASE set to the PostgreSQL URL"
    )
    return "\n".join(lines)


async def migrate_db(
    source: Path | str, target: str, *, files_dir: Path, replace: bool = False
) -> str:
    """Copy the SQLite database `source` into the PostgreSQL database `target`; the summary."""
    if not is_postgresql(target):
        raise MigrationError(f"--to must be a postgresql:// URL, not {target!r}", 2)
    if is_postgresql(source):
        raise MigrationError(
            "BOT_DATABASE is already a PostgreSQL URL: migrate-db copies a SQLite BOT_DATABASE", 2
        )
    path = Path(source)
    if not path.is_file():
        raise MigrationError(f"BOT_DATABASE: {str(path)!r} does not exist: nothing to copy", 2)
    before = await _upgrade_source(path)
    try:
        conn = await psycopg.AsyncConnection.connect(target, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise MigrationError(
            f"--to: cannot reach the PostgreSQL database ({_why(exc, target)})"
        ) from None
    try:
        await _prepare_target(conn, target)
        counts = await _copy(path, conn, replace)
    except psycopg.Error as exc:
        raise MigrationError(
            f"--to: the copy failed and was rolled back ({_why(exc, target)})"
        ) from None
    finally:
        await conn.close()
    return summary(path, target, before, counts, files_dir)


def _why(exc: BaseException, url: str) -> str:
    """psycopg's reason in one line, without the URL's password."""
    reason = one_line(str(exc) or type(exc).__name__)
    secret = urlsplit(url).password
    return reason.replace(secret, "***") if secret else reason


async def _upgrade_source(path: Path) -> int:
    """Refuse a file the bot would refuse; apply its pending migrations (as `run` would at
    start). The schema version it had before."""
    await asyncio.to_thread(check_database, path)
    with closing(sqlite3.connect(path)) as db:
        before = int(db.execute("PRAGMA user_version").fetchone()[0])
    store = await Store.open(path)
    await store.close()
    return before


async def _prepare_target(conn: psycopg.AsyncConnection[Any], url: str) -> None:
    """Refuse a target with a newer schema; apply the PostgreSQL migrations it lacks."""
    if (await _column(conn, "SELECT to_regclass('schema_version') IS NOT NULL"))[0]:
        found = await _column(conn, "SELECT version FROM schema_version")
        current, known = max(map(int, found), default=0), len(pgdb.migrations())
        if current > known:
            raise MigrationError(
                f"--to: the database has schema version {current}, newer than this"
                f" merchant-bot knows ({known}): use the newer merchant-bot"
            )
    pool = await pgdb.PgConnection.open(url, min_size=1, max_size=1)
    try:
        await pgdb.migrate(pool)
    finally:
        await pool.close()


async def _copy(source: Path, conn: psycopg.AsyncConnection[Any], replace: bool) -> dict[str, int]:
    """The copy itself, in one PostgreSQL transaction; rows per table."""
    tables = copied_tables()
    src = sqlite3.connect(source, isolation_level=None)
    try:
        src.execute("BEGIN")  # one consistent snapshot of every table
        sequences = dict(src.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        async with conn.transaction():
            held = {t: n for t in tables if (n := await _count(conn, t))}
            if held and not replace:
                shown = ", ".join(f"{t}: {n}" for t, n in list(held.items())[:4])
                raise MigrationError(
                    f"--to: the database already holds data ({shown}): use a new database,"
                    " or --replace to delete what it holds and copy again"
                )
            if held:
                names = sql.SQL(", ").join(map(sql.Identifier, tables))
                await conn.execute(sql.SQL("TRUNCATE {}").format(names))
            triggered = await _column(
                conn,
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE NOT t.tgisinternal AND c.relnamespace = to_regnamespace(current_schema())",
            )
            triggered = [t for t in tables if t in triggered]
            for table in triggered:
                await conn.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
                )
            counts = {t: await _copy_table(src, conn, t) for t in tables}
            for table in triggered:
                await conn.execute(
                    sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table))
                )
            await _advance_sequences(conn, tables, sequences)
            for table, n in counts.items():
                if await _count(conn, table) != n:
                    raise MigrationError(f"{table}: the copy does not hold {n} rows; rolled back")
        return counts
    finally:
        src.close()


async def _copy_table(
    src: sqlite3.Connection, conn: psycopg.AsyncConnection[Any], table: str
) -> int:
    """COPY one table's rows (the columns both sides can write: generated ones left out)."""
    mine = {r[1] for r in src.execute(f'SELECT * FROM pragma_table_xinfo("{table}")') if r[6] == 0}
    theirs = await _column(
        conn,
        "SELECT column_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = %s AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        (table,),
    )
    columns = [c for c in theirs if c in mine]
    listed = ", ".join(f'"{c}"' for c in columns)
    rows = src.execute(f'SELECT {listed} FROM "{table}"')
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    n = 0
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        while batch := rows.fetchmany(BATCH):
            for row in batch:
                await copy.write_row(row)
            n += len(batch)
    return n


async def _advance_sequences(
    conn: psycopg.AsyncConnection[Any], tables: list[str], sqlite_seq: dict[str, int]
) -> None:
    """Every identity sequence past the highest id in the table or ever given by SQLite."""
    cur = await conn.execute(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name),"
        " column_name) FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
    )
    for table, column, sequence in await cur.fetchall():
        if table not in tables or sequence is None:
            continue
        found = await conn.execute(
            sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.Identifier(table))
        )
        top = max(int(((await found.fetchone()) or [0])[0] or 0), sqlite_seq.get(table, 0))
        await conn.execute("SELECT setval(%s, %s, %s)", (sequence, max(top, 1), top > 0))


async def _count(conn: psycopg.AsyncConnection[Any], table: str) -> int:
    [n] = await _column(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    return int(n)


async def _column(conn: psycopg.AsyncConnection[Any], query: Any, params: Any = ()) -> list[Any]:
    """The first column of a query's rows."""
    cur = await conn.execute(query, params)
    return [r[0] for r in await cur.fetchall()]
