"""`merchant-bot migrate-db --to postgresql://…`: a SQLite database made by running the real bot
(merchants on both routes, uploaded documents, a deleted merchant, an operator's result in the
status history, pending reminders, the console's audit) is copied by the command into a real
PostgreSQL server (tests/pgserver.py), compared table by table, and the bot carries on from it
there: /status from the migrated state, a pending reminder delivered when due, new rows with new
ids. And the command's refusals, each in one line, leaving the target as it was.

The source is SQLite whatever MERCHANT_TEST_STORE says, so `make test` runs this file once, in
its SQLite pass (it is not in the Makefile's PG_TESTS); without PostgreSQL it is skipped."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from bot.clock import FixedClock
from bot.schema import migrations, split_sql
from devserver.server import BotApiServer
from tests import harness
from tests.consolekit import OPERATOR, link_from_chat, login, merchant_with_upload, session
from tests.contentkit import data, press, template
from tests.harness import running_bot
from tests.pgserver import PostgresServer, find_binaries
from tests.test_cli import run_cli
from tests.test_documents import PDF
from tests.test_e2e_docs import assert_clean
from tests.test_e2e_reminders import kinds, reminder_calls

BIN, WHY = find_binaries()
SH = ZoneInfo("Asia/Shanghai")
_names = itertools.count()


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.fixture
def target(postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty PostgreSQL database; the bot's own stores in this test are SQLite files."""
    monkeypatch.setattr(harness, "STORE", "sqlite")
    return postgres.create_database(f"migrate_{next(_names)}")


def migrate(source: Path, *args: str, files: Path | None = None):
    """`merchant-bot migrate-db ARGS` with BOT_DATABASE=source, as an operator runs it."""
    env = {"BOT_DATABASE": str(source), "BOT_FILES_DIR": str(files or source.parent / "files")}
    return run_cli("migrate-db", *args, env=env, cwd=source.parent)


def one_line(result, status: int) -> str:
    """The single stderr line of a refusal (no traceback), with its exit status."""
    assert result.returncode == status, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def sqlite_tables(path: Path) -> dict[str, list[tuple]]:
    """{table: its rows, every column including generated ones, sorted} of a SQLite file."""
    with closing(sqlite3.connect(path)) as db:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            )
        ]
        found = {}
        for name in names:
            columns = [r[1] for r in db.execute(f"SELECT * FROM pragma_table_xinfo('{name}')")]
            listed = ", ".join(f'"{c}"' for c in columns)
            found[name] = sorted(db.execute(f'SELECT {listed} FROM "{name}"'), key=repr)
            found[name].insert(0, tuple(columns))
        return found


def pg_rows(url: str, table: str, columns: tuple[str, ...]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(url) as conn:
        return sorted((tuple(r) for r in conn.execute(f'SELECT {listed} FROM "{table}"')), key=repr)


def pg_value(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


def summary(stdout: str) -> dict[str, int]:
    """The rows per table the command printed."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (\w+)\s+(\d+)$", stdout, re.M)}


async def build_source(server: BotApiServer, db: Path, files: Path) -> None:
    """Run the real bot on SQLite until its database holds a bit of everything."""
    clock = FixedClock(local(2026, 9, 28, 11))
    async with running_bot(
        server, db, clock=clock, admin_ids=frozenset({OPERATOR}), files_dir=files, console=True
    ) as bot:
        a = await merchant_with_upload(bot, 501)  # route B, a shop name, 营业执照 as a picture
        [shown] = await a.send("/submitted 2026-09-28")
        assert template(shown) == "submitted"
        b = bot.merchant(502)  # route A, a PDF, submitted
        await b.send("/route")
        await press(b, "route_agency")
        [checklist] = await b.send("/docs")
        await press(b, "dc_item_*", "license", on=checklist)
        await press(b, "dc_upload")
        await b.send_document(PDF, "执照.pdf", "application/pdf")
        await b.send("/submitted 2026-09-28")
        gone = await merchant_with_upload(bot, 503)  # leaves ids SQLite never gives again
        await gone.send("/deletedata")
        await press(gone, "delete_confirm")
        op = bot.merchant(OPERATOR)
        [done] = await op.send("/setstatus 501 need_more 请于 2026-10-20 前补充品牌授权书")
        assert template(done) == "operator_done"
        async with session() as http:  # the console: a login (audited), a merchant's page seen
            await login(http, await link_from_chat(op))
            assert (await http.get(f"{bot.console.url}/merchants/501")).status == 200


async def test_a_database_made_by_the_bot_is_copied_and_the_bot_carries_on_on_postgresql(
    target: str, tmp_path: Path
) -> None:
    db, files = tmp_path / "bot.sqlite3", tmp_path / "files"
    async with BotApiServer() as server:
        await build_source(server, db, files)
        source = sqlite_tables(db)
        with closing(sqlite3.connect(db)) as sq:
            routes = {r[0] for r in sq.execute("SELECT route FROM merchants")}
            pending = sq.execute(
                "SELECT user_id, kind FROM reminders WHERE state = 'pending' ORDER BY due_at"
            ).fetchall()
            results = sq.execute(
                "SELECT user_id, new, by FROM status_history WHERE by != 'merchant'"
            )
            assert results.fetchall() == [(501, "need_more", f"operator:{OPERATOR}")]
            top = dict(sq.execute("SELECT name, seq FROM sqlite_sequence"))
            docs_left = sq.execute("SELECT count(*), max(id) FROM documents").fetchone()
        assert {"platform", "agency"} <= routes and (502, "window_open") in pending
        assert docs_left[0] == 2 and top["documents"] == 3  # 503's upload is gone, its id not
        assert len(source["console_audit"]) > 1 and len(source["console_seen"]) == 2

        done = await asyncio.to_thread(migrate, db, "--to", target)
        assert done.returncode == 0, done.stderr
        copied = summary(done.stdout)
        assert "journey_stages" not in copied and "merchant_progress" in copied
        for table, rows in source.items():
            columns, *content = rows
            assert pg_rows(target, table, columns) == content, table
            if table != "journey_stages":
                assert copied[table] == len(content), table
        assert "all 2 found" in done.stdout and str(files) in done.stdout

        again = await asyncio.to_thread(migrate, db, "--to", target)  # it holds data now
        line = one_line(again, 1)
        assert "already holds data" in line and "merchants: 3" in line and "--replace" in line
        replaced = await asyncio.to_thread(migrate, db, "--to", target, "--replace")
        assert replaced.returncode == 0 and summary(replaced.stdout) == copied
        for table, (columns, *content) in source.items():
            assert pg_rows(target, table, columns) == content, table

        # the bot on PostgreSQL: 10-08 10:01 local, 502's review window opened a minute ago
        clock = FixedClock(local(2026, 10, 8, 10, 1))
        async with running_bot(
            server,
            target,
            clock=clock,
            admin_ids=frozenset({OPERATOR}),
            files_dir=files,
            console=True,
        ) as bot:
            assert bot.store.dialect == "postgresql"
            await bot.scheduler.wait_for("sent", 1)
            assert kinds(reminder_calls(server, 502)) == ["window_open"]
            assert await bot.scheduler.run_due() == 0  # 501's need_more reminder is not due
            [status] = await bot.merchant(501).send("/status")
            assert template(status) == "status" and data(status)["status"] == "need_more"
            assert data(status)["deadline"] == "2026-10-20"
            new = bot.merchant(504)  # a new merchant: every id past the copied ones
            await new.send("/route")
            await press(new, "route_agency")
            [checklist] = await new.send("/docs")
            await press(new, "dc_item_*", "license", on=checklist)
            await press(new, "dc_upload")
            await new.send_document(PDF, "执照.pdf", "application/pdf")
            await new.send("/submitted 2026-10-08")
            await bot.merchant(OPERATOR).send("/setstatus 504 approved")
            async with session() as http:  # the copied signing key, a new audit row, a file
                await login(http, await link_from_chat(bot.merchant(OPERATOR)))
                [doc_id] = [r[0] for r in source["documents"][1:] if r[1] == 501]
                assert (await http.get(f"{bot.console.url}/files/{doc_id}")).status == 200
            for table in ("documents", "reminders", "status_history", "review_results"):
                newest = pg_value(target, f"SELECT max(id) FROM {table} WHERE user_id = 504")
                assert isinstance(newest, int) and newest > top.get(table, 0), table
            newest = pg_value(target, "SELECT max(id) FROM console_audit")
            assert isinstance(newest, int) and newest > top["console_audit"]
        states = pg_rows(target, "reminders", ("user_id", "kind", "state"))
        assert (502, "window_open", "sent") in states
        assert_clean(server)


def make_source(path: Path, version: int) -> None:
    """A SQLite file at schema `version` (an older merchant-bot's) with one route-B merchant."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for number, _name, script in migrations():
            if number <= version:
                for statement in split_sql(script):
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute(
            "INSERT INTO merchants (user_id, chat_id, route, stage, status, state, created_at,"
            " updated_at) VALUES (7, 7, 'platform', 'docs', NULL, ?, ?, ?)",
            ('{"application": {"fields": {"shop_name": "星河"}}}', "2026-09-01", "2026-09-02"),
        )


def test_an_older_source_is_upgraded_first_then_copied(target: str, tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    make_source(db, 6)  # before migration 0007 (the funnel's progress and search tables)
    done = migrate(db, "--to", target)
    assert done.returncode == 0, done.stderr
    newest = len(migrations())
    assert f"upgraded from schema version 6 to {newest}" in done.stdout
    with closing(sqlite3.connect(db)) as sq:
        assert sq.execute("PRAGMA user_version").fetchone()[0] == newest
        progress = sorted(sq.execute("SELECT * FROM merchant_progress"))
    assert len(progress) == 3  # route, qualify, docs: 0007's backfill
    assert pg_rows(target, "merchant_progress", ("user_id", "pos", "route", "reached_at")) == [
        tuple(r) for r in progress
    ]
    assert pg_value(target, "SELECT text FROM merchant_search") == "星河\n"


def test_a_failed_copy_leaves_the_target_empty(target: str, tmp_path: Path) -> None:
    db = tmp_path / "bad.sqlite3"
    make_source(db, len(migrations()))
    with closing(sqlite3.connect(db)) as sq, sq:  # PostgreSQL text cannot hold a NUL
        sq.execute(
            "INSERT INTO status_history (user_id, at, by, old, new, note)"
            " VALUES (7, '2026-09-02', 'merchant', NULL, 'submitted', ?)",
            ("a\x00b",),
        )
    line = one_line(migrate(db, "--to", target), 1)
    assert "rolled back" in line
    for table in ("merchants", "merchant_progress", "status_history"):
        assert pg_value(target, f"SELECT count(*) FROM {table}") == 0  # merchants came first


def test_refusals_are_one_line_and_touch_nothing(postgres: PostgresServer, tmp_path: Path):
    db = tmp_path / "bot.sqlite3"
    make_source(db, len(migrations()))
    line = one_line(migrate(db, "--to", str(tmp_path / "other.sqlite3")), 2)
    assert "--to must be a postgresql:// URL" in line
    with socketless_port() as port:
        url = f"postgresql://merchant:pg-Secret-pw@127.0.0.1:{port}/bot"
        line = one_line(migrate(db, "--to", url), 1)
    assert "cannot reach the PostgreSQL database" in line and "pg-Secret-pw" not in line
    missing = tmp_path / "missing.sqlite3"
    line = one_line(migrate(missing, "--to", postgres.url), 2)
    assert "does not exist" in line and not missing.exists()
    damaged = tmp_path / "notes.sqlite3"
    damaged.write_text("not a database")
    line = one_line(migrate(damaged, "--to", postgres.url), 2)
    assert "is not a SQLite database" in line
    env = {"BOT_DATABASE": postgres.url}
    line = one_line(run_cli("migrate-db", "--to", postgres.url, env=env, cwd=tmp_path), 2)
    assert "already a PostgreSQL URL" in line
    assert pg_value(postgres.url, "SELECT to_regclass('merchants')") is None  # nothing made


@contextmanager
def socketless_port() -> Iterator[int]:
    """A local port nothing listens on (bound, never listening, while in use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
