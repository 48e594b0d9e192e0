"""Storage edges, end to end: damaged or foreign database files refused at start-up in one line,
deleted data gone from the database files (not only from the tables), and no operator id in a
merchant's own export."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import check_writable_database
from bot.schema import (
    DatabaseRefused,
    check_database,
    closed_mark,
    mark_closed,
    unchanged_since_closed,
)
from bot.store import Store, migrations
from devserver.server import BotApiServer
from flows.core import MerchantState
from tests.contentkit import CONTENT, data, press, template
from tests.harness import running_bot
from tests.test_documents import PDF
from tests.test_e2e_docs import doc, stored
from tests.test_e2e_foundation import assert_clean

EXE = str(Path(sys.executable).with_name("merchant-bot"))
OPERATOR = 999000
PAGE = 4096  # SQLite's default page size, what Store.open creates


# --- 4. damaged, foreign, newer, not-SQLite database files ----------------------------------


async def real_database(path: Path, merchants: int = 200) -> bytes:
    """A database made by Store.open with some merchants in it (several pages); its bytes."""
    store = await Store.open(path)
    now = datetime.now(UTC)
    for user_id in range(1, merchants + 1):
        state = MerchantState(user_id, created=True, data={"route": "platform", "n": "店" * 300})
        await store.save_merchant(state, chat_id=user_id, language="zh-hans", now=now)
    await store.close()  # the last connection checkpoints the WAL into the file
    for suffix in ("-wal", "-shm"):
        assert not path.with_name(path.name + suffix).exists()
    content = path.read_bytes()
    assert len(content) > 10 * PAGE
    return content


def scrambled(content: bytes, start: int) -> bytes:
    """The same file with every byte from `start` on replaced by noise (a fixed seed)."""
    noise = random.Random(12).randbytes(len(content) - start)
    return content[:start] + noise


async def refused_at_start(tmp_path: Path, db: Path) -> str:
    """`merchant-bot run` on `db` against a local Bot API server: it must stop by itself with
    exit status 2 and one line on stderr, no traceback, before asking for any update; the line."""
    token = "4242:storage-edge-token"
    async with BotApiServer(token=token) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_API_URL=server.base_url,
            BOT_DATABASE=str(db),
            BOT_FILES_DIR=str(tmp_path / "files"),
        )
        proc = await asyncio.create_subprocess_exec(
            EXE,
            "run",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        except TimeoutError:
            proc.kill()
            stdout, stderr = await proc.communicate()
            pytest.fail(f"merchant-bot run did not exit: {(stdout + stderr).decode()[-2000:]}")
        polled = [c for c in server.calls if c.method == "getUpdates"]
    text = stderr.decode()
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert polled == []  # refused before polling started
    assert token not in text + stdout.decode()
    line = lines[0]
    assert str(db) in line and "BOT_DATABASE" in line  # which file, and which setting
    return line


@pytest.mark.sqlite_only
async def test_scrambled_pages_behind_an_intact_first_page_are_refused(tmp_path):
    db = tmp_path / "bot.sqlite3"
    content = await real_database(db)
    db.write_bytes(scrambled(content, PAGE))  # header and schema page intact: SQLite opens it
    line = await refused_at_start(tmp_path, db)
    assert "damaged" in line and "backup" in line


@pytest.mark.sqlite_only
async def test_scrambled_pages_after_the_100_byte_header_are_refused(tmp_path):
    db = tmp_path / "bot.sqlite3"
    content = await real_database(db)
    db.write_bytes(scrambled(content, 100))
    line = await refused_at_start(tmp_path, db)
    assert "damaged" in line
    assert "cannot write" not in line  # what is wrong is the content, not the permissions


@pytest.mark.sqlite_only
async def test_a_file_closed_cleanly_and_untouched_since_is_not_read_whole_again(tmp_path):
    """quick_check reads the whole file (seconds at a million merchants): after a clean stop
    the next start skips it, and anything that may have changed the file brings it back."""
    db = tmp_path / "bot.sqlite3"
    content = await real_database(db)
    assert unchanged_since_closed(db)
    check_writable_database(db)  # `merchant-bot run`'s probe writes nothing
    assert unchanged_since_closed(db)

    # damage that no write made (the disk's own): accepted when the file looks untouched …
    db.write_bytes(scrambled(content, len(content) // PAGE * 3 // 4 * PAGE))  # merchants' pages
    assert not unchanged_since_closed(db)  # that write itself is seen
    mark_closed(db)  # as if the bot had closed it so
    check_database(db)  # header and schema only: the damage is not looked for
    # … and refused as soon as anything may have changed it (here: the mark is gone)
    closed_mark(db).unlink()
    with pytest.raises(DatabaseRefused, match="damaged"):
        check_database(db)


@pytest.mark.sqlite_only
async def test_what_counts_as_a_change_since_the_clean_close(tmp_path):
    db = tmp_path / "bot.sqlite3"
    await real_database(db)
    store = await Store.open(db)  # open: the mark is dropped until the store closes
    assert not closed_mark(db).exists()
    state = MerchantState(1, created=True, data={"route": "platform"})
    await store.save_merchant(state, chat_id=1, language="zh-hans", now=datetime.now(UTC))
    mark_closed(db)  # even a mark written now does not count while the WAL holds changes
    assert not unchanged_since_closed(db)
    await store.close()
    assert unchanged_since_closed(db)

    copy = tmp_path / "restored.sqlite3"  # a backup copied back, times kept
    copy.write_bytes(db.read_bytes())
    os.utime(copy, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns))
    closed_mark(copy).write_bytes(closed_mark(db).read_bytes())
    assert not unchanged_since_closed(copy)  # another inode, another ctime

    conn = sqlite3.connect(db)  # another program's write
    conn.execute("UPDATE merchants SET language = 'en' WHERE user_id = 1")
    conn.commit()
    conn.close()
    assert not unchanged_since_closed(db)


@pytest.mark.sqlite_only
async def test_another_programs_database_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "crm.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE merchants (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
    conn.execute("INSERT INTO merchants (name, city) VALUES ('义乌小商品', '义乌')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    line = await refused_at_start(tmp_path, db)
    assert "another program" in line and "merchants" in line
    assert db.read_bytes() == before  # nothing was written to someone else's file
    assert not db.with_name(db.name + "-wal").exists()


@pytest.mark.sqlite_only
async def test_another_programs_database_claiming_a_known_version_is_refused(tmp_path):
    db = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE merchants (user_id INTEGER PRIMARY KEY, nickname TEXT)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    line = await refused_at_start(tmp_path, db)
    assert "merchants.chat_id" in line and "another program" in line


@pytest.mark.sqlite_only
async def test_a_database_of_a_newer_version_is_refused(tmp_path):
    db = tmp_path / "bot.sqlite3"
    await real_database(db, merchants=20)
    newer = len(migrations()) + 1
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    line = await refused_at_start(tmp_path, db)
    assert f"version {newer}" in line and "newer" in line
    assert db.read_bytes() == before


@pytest.mark.sqlite_only
async def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    db = tmp_path / "bot.sqlite3"
    db.write_text("merchant_id,shop\n1,星河家居\n" * 100, encoding="utf-8")
    line = await refused_at_start(tmp_path, db)
    assert "not a SQLite database" in line
    assert "cannot write" not in line


@pytest.mark.sqlite_only
async def test_an_empty_or_missing_file_is_still_a_new_database(tmp_path):
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    missing = tmp_path / "new" / "missing.sqlite3"
    for path in (empty, missing):
        store = await Store.open(path)
        try:
            assert await store.schema_version() == len(migrations())
            rows = await store.db.execute_fetchall("PRAGMA secure_delete")
            assert next(iter(rows))[0] == 1
        finally:
            await store.close()
        reopened = await Store.open(path)  # its own file is accepted again
        await reopened.close()


# --- 5. deleted data leaves the database files ------------------------------------------------

SHOP = "独一无二的店铺名XYZ"
SCOPE = "罕见经营范围QWJ"
FILE_NAME = "独特营业执照KPL.pdf"
NOTE = "请补充独家说明材料RTV"
SECRETS = (SHOP, SCOPE, FILE_NAME, NOTE)


def leftovers(db: Path) -> dict[str, list[str]]:
    """Which of the secrets the database files still hold, as raw bytes, in UTF-8 or in the
    \\uXXXX form of JSON, per file (the main file and its -wal, if any)."""
    found: dict[str, list[str]] = {}
    for path in (db, db.with_name(db.name + "-wal")):
        if not path.exists():
            continue
        raw = path.read_bytes()
        hits = [
            s
            for s in SECRETS
            if s.encode("utf-8") in raw or json.dumps(s)[1:-1].encode("ascii") in raw
        ]
        if hits:
            found[path.name] = hits
    return found


@pytest.mark.sqlite_only
async def test_deleted_data_is_gone_from_the_database_files_while_the_bot_runs(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db, admin_ids=frozenset({OPERATOR})) as bot:
        m, op = bot.merchant(3101), bot.merchant(OPERATOR)
        other = bot.merchant(3102)  # a neighbour whose data must stay
        await other.send("/route")
        await press(other, "route_agency")

        await m.send("/route")
        await press(m, "route_platform")
        [first] = await m.send("/apply")
        assert template(first) == "apply_prompt" and data(first)["index"] == 1
        await m.send(SHOP)
        [field] = await m.send(SCOPE)
        assert template(field) == "apply_prompt" and data(field)["index"] == 3
        # a document, whose original name is recorded
        [question] = await m.send("/docs")
        assert template(question) == "docs_question"
        assert data(question)["item"] == doc("platform", "brand_auth")
        await press(m, "dc_answer", "y")
        await press(m, "dc_answer", "n")
        await press(m, "dc_item_*", "license")
        await press(m, "dc_upload")
        [saved] = await m.send_document(PDF, FILE_NAME, "application/pdf")
        assert stored(saved) == (doc("platform", "license"), "application/pdf")
        # a result with a note, recorded by an operator
        await m.send("/submitted")
        await op.send(f"/setstatus {m.user_id} need_more {NOTE}")
        [status] = await m.send("/status")
        assert NOTE in status.text
        assert set(sum(leftovers(db).values(), [])) == set(SECRETS)  # the test can see them

        [confirm] = await m.send("/deletedata")
        [gone] = await press(m, "delete_confirm", on=confirm)
        assert template(gone) == "deleted"
        assert await bot.store.export_merchant(m.user_id) is None

        # the bot is still running: the bytes on disk now, not after a clean shutdown
        assert leftovers(db) == {}
        [again] = await m.send("/start")
        assert template(again) == "welcome"
        assert (await bot.store.load_merchant(3102)).data["route"] == "agency"
    assert_clean(server)


# --- 6. no operator id in the merchant's export -------------------------------------------


async def test_mydata_names_the_operator_role_never_the_operator_id(server, tmp_path):
    async with running_bot(server, tmp_path / "db", admin_ids=frozenset({OPERATOR})) as bot:
        m, op = bot.merchant(3201), bot.merchant(OPERATOR)
        await m.send("/route")
        await press(m, "route_platform")
        await m.send("/submitted")
        [done] = await op.send(f"/setstatus {m.user_id} approved")
        assert str(m.user_id) in done.text  # the operator's own confirmation
        shown = await m.send("/mydata")
        readable = shown[0]
        assert template(readable) == "mydata"
        assert CONTENT.data["statuses"]["statuses"]["approved"]["name"] in readable.text
        assert data(readable)["data"]["status"] == "approved" and str(OPERATOR) not in readable.text
        message = server.last_bot_message(m.user_id)
        assert message is not None and message.document is not None
        raw = bytes(message.document["content"]).decode("utf-8")
        export = json.loads(raw)
        history = [(h["old"], h["new"], h["by"]) for h in export["status_history"]]
        assert history == [(None, "submitted", "merchant"), ("submitted", "approved", "operator")]
        assert str(OPERATOR) not in raw

        # nothing the merchant received carries the operator's id
        for msg in server.chat_messages(m.user_id):
            assert str(OPERATOR) not in (msg.text or "") + (msg.caption or "")
            if msg.document is not None:
                assert str(OPERATOR).encode() not in bytes(msg.document["content"])
        for call in server.calls:
            if call.chat_id == m.user_id:
                params = {k: v for k, v in call.params.items() if isinstance(v, str)}
                assert str(OPERATOR) not in json.dumps(params, ensure_ascii=False)

        # operators still see who it was
        [card] = await op.send(f"/merchant {m.user_id}")
        assert f"运营 {OPERATOR}" in card.text
    assert_clean(server)
