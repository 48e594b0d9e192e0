"""bot/documents.py: recognising files by content, fetching them from the local Bot API server,
storing them with their SHA-256, keeping history, refusing what does not fit, deleting."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot import documents
from bot.store import Store
from devserver.server import BotApiServer
from flows.core import Rejected, Stored, Upload
from tests.harness import open_store

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MB = 1024 * 1024

PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + bytes(64)
    + b"\xff\xd9"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(20)
TEXT = "营业执照（文字版）\n".encode()


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (PDF, "application/pdf"),
        (b"\xef\xbb\xbf" + PDF, "application/pdf"),
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (ZIP, None),
        (EXE, None),
        (GIF, None),
        (TEXT, None),
        (b"", None),
        (b"%PD", None),
    ],
)
def test_sniff_recognises_only_pdf_jpeg_png_by_content(content, mime):
    assert documents.sniff(content) == mime


def test_describe_names_what_a_refused_file_is():
    assert documents.describe(ZIP) == "zip"
    assert documents.describe(EXE) == "exe"
    assert documents.describe(TEXT) == ""


@pytest.fixture
async def api() -> AsyncIterator[tuple[BotApiServer, Bot]]:
    async with BotApiServer() as server:
        bot = Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)
        async with bot:
            yield server, bot


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    db = await open_store(tmp_path / "bot.sqlite3")
    try:
        yield db
    finally:
        await db.close()


def sent_document(server: BotApiServer, content: bytes, name: str, user: int = 5) -> Upload:
    """The merchant sends a file; the Upload the adapter would decode from the update."""
    doc = server.user_sends_document(user, content, name, "application/pdf")["message"]["document"]
    return Upload(doc["file_id"], doc["file_name"], doc["file_size"], "document", "application/pdf")


def sent_photo(server: BotApiServer, content: bytes, user: int = 5) -> Upload:
    photo = server.user_sends_photo(user, content)["message"]["photo"][-1]
    return Upload(photo["file_id"], "photo.jpg", photo["file_size"], "photo", "image/jpeg")


def file_calls(server: BotApiServer) -> list[str]:
    return [c.method for c in server.calls if c.method == "getFile"]


async def test_a_pdf_is_stored_with_a_generated_name_and_its_hash(api, store, tmp_path):
    server, bot = api
    files = tmp_path / "files"
    upload = sent_document(server, PDF, "营业执照.pdf")
    result = await documents.fetch_and_store(bot, store, files, 5, upload, "license", NOW)
    assert isinstance(result, Stored)
    assert result.item == "license" and result.mime == "application/pdf"
    assert re.fullmatch(r"5/[0-9a-f]{32}\.pdf", result.path)
    assert result.sha256 == hashlib.sha256(PDF).hexdigest() and result.size == len(PDF)
    path = files / result.path
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*.part"))
    [row] = await documents.list_documents(store, 5)
    assert row["path"] == result.path and row["sha256"] == result.sha256
    assert row["original_name"] == "营业执照.pdf" and row["mime"] == "application/pdf"
    assert row["uploaded_at"] == "2026-09-28T02:00:00+00:00" and row["replaced_at"] is None


async def test_type_comes_from_the_content_not_the_name(api, store, tmp_path):
    server, bot = api
    files = tmp_path / "files"
    png_named_pdf = sent_document(server, PNG, "scan.pdf")
    result = await documents.fetch_and_store(bot, store, files, 5, png_named_pdf, "tax", NOW)
    assert isinstance(result, Stored) and result.mime == "image/png"
    assert result.path.endswith(".png")
    photo = await documents.fetch_and_store(
        bot, store, files, 5, sent_photo(server, JPEG), "shop_info", NOW
    )
    assert isinstance(photo, Stored) and photo.mime == "image/jpeg" and photo.path.endswith(".jpg")
    for content, detail in ((ZIP, "zip"), (EXE, "exe"), (TEXT, "")):
        disguised = sent_document(server, content, "营业执照.pdf")
        refused = await documents.fetch_and_store(bot, store, files, 5, disguised, "license", NOW)
        assert refused == Rejected("license", "type", detail)
    assert len(await documents.list_documents(store, 5)) == 2
    assert len(list((files / "5").iterdir())) == 2  # nothing written for refused files


async def test_a_new_upload_replaces_the_current_one_and_keeps_the_history(api, store, tmp_path):
    server, bot = api
    files = tmp_path / "files"
    first = await documents.fetch_and_store(
        bot, store, files, 5, sent_document(server, PDF, "v1.pdf"), "license", NOW
    )
    later = NOW.replace(hour=11)
    second = await documents.fetch_and_store(
        bot, store, files, 5, sent_document(server, PNG, "v2.png"), "license", later
    )
    other = await documents.fetch_and_store(
        bot, store, files, 5, sent_document(server, PDF, "tax.pdf"), "tax", later
    )
    assert isinstance(first, Stored) and isinstance(second, Stored) and isinstance(other, Stored)
    rows = await documents.list_documents(store, 5)
    assert [(r["item"], r["original_name"], r["replaced_at"]) for r in rows] == [
        ("license", "v1.pdf", "2026-09-28T03:00:00+00:00"),
        ("license", "v2.png", None),
        ("tax", "tax.pdf", None),
    ]
    assert (files / first.path).exists() and (files / second.path).exists()  # history kept


async def test_an_oversized_file_is_refused_without_downloading(api, store, tmp_path):
    server, bot = api
    big = sent_document(server, b"%PDF" + bytes(21 * MB), "big.pdf")
    assert big.size and big.size > documents.MAX_BYTES
    result = await documents.fetch_and_store(bot, store, tmp_path, 5, big, "license", NOW)
    assert result == Rejected("license", "size", str(big.size))
    assert file_calls(server) == []  # not even asked for the file
    # size unknown in the update: the Bot API refuses getFile, the answer is the same reason
    unknown = Upload(big.file_id, big.file_name, None, "document")
    result = await documents.fetch_and_store(bot, store, tmp_path, 5, unknown, "license", NOW)
    assert isinstance(result, Rejected) and result.reason == "size"
    assert await documents.list_documents(store, 5) == []


async def test_an_empty_file_is_refused_and_nothing_is_stored(api, store, tmp_path):
    server, bot = api
    files = tmp_path / "files"
    empty = sent_document(server, b"", "空.pdf")
    assert empty.size == 0
    result = await documents.fetch_and_store(bot, store, files, 5, empty, "license", NOW)
    assert result == Rejected("license", "empty")
    assert file_calls(server) == []  # Telegram said 0 bytes: nothing to fetch
    # size not in the update: getFile tells 0 bytes, nothing is downloaded
    unknown = Upload(empty.file_id, empty.file_name, None, "document")
    result = await documents.fetch_and_store(bot, store, files, 5, unknown, "license", NOW)
    assert result == Rejected("license", "empty")
    assert await documents.list_documents(store, 5) == []
    assert not files.exists()


class _NoSizeFile:
    """A Bot API File whose size was not reported and whose download is empty."""

    file_size = None

    async def download_as_bytearray(self) -> bytearray:
        return bytearray()


class _NoSizeBot:
    async def get_file(self, file_id: str) -> _NoSizeFile:
        return _NoSizeFile()


async def test_a_download_that_turns_out_empty_is_refused(store, tmp_path):
    upload = Upload("x", "x.pdf", None, "document")
    bot: Bot = _NoSizeBot()  # type: ignore[assignment]
    result = await documents.fetch_and_store(bot, store, tmp_path, 5, upload, "tax", NOW)
    assert result == Rejected("tax", "empty")
    assert await documents.list_documents(store, 5) == []
    assert not (tmp_path / "5").exists()  # no file written for the merchant


async def test_download_problems_are_answered_not_raised(api, store, tmp_path):
    server, bot = api
    wrong = Upload("no-such-file-id", "x.pdf", 10, "document")
    assert await documents.fetch_and_store(bot, store, tmp_path, 5, wrong, "tax", NOW) == Rejected(
        "tax", "download"
    )
    # the disk refuses: no row, no file
    blocked = tmp_path / "not-a-dir"
    blocked.write_bytes(b"")
    upload = sent_document(server, PDF, "a.pdf")
    result = await documents.fetch_and_store(bot, store, blocked, 5, upload, "tax", NOW)
    assert result == Rejected("tax", "download", "store")
    assert await documents.list_documents(store, 5) == []
    # the server is gone (network error)
    upload = sent_document(server, PDF, "b.pdf")
    await server.stop()
    result = await documents.fetch_and_store(bot, store, tmp_path, 5, upload, "tax", NOW)
    assert result == Rejected("tax", "download")


async def test_delete_documents_removes_rows_and_files_of_that_merchant_only(api, store, tmp_path):
    server, bot = api
    files = tmp_path / "files"
    mine = []
    for name, item in (("a.pdf", "license"), ("b.pdf", "license"), ("c.pdf", "tax")):
        stored = await documents.fetch_and_store(
            bot, store, files, 5, sent_document(server, PDF, name), item, NOW
        )
        assert isinstance(stored, Stored)
        mine.append(files / stored.path)
    theirs = await documents.fetch_and_store(
        bot, store, files, 6, sent_document(server, PNG, "x.png", user=6), "license", NOW
    )
    assert isinstance(theirs, Stored)
    (files / "5" / ".leftover.part").write_bytes(b"half")
    assert await documents.delete_documents(store, files, 5) == 3
    assert not any(p.exists() for p in mine) and not (files / "5").exists()
    assert await documents.list_documents(store, 5) == []
    assert (files / theirs.path).exists() and len(await documents.list_documents(store, 6)) == 1
    assert await documents.delete_documents(store, files, 5) == 0  # nothing left: still fine


async def test_the_documents_migration_is_applied(store):
    assert await store.schema_version() >= 2
    if store.dialect == "sqlite":
        async with store.db.execute("PRAGMA table_info(documents)") as cur:
            columns = [row["name"] for row in await cur.fetchall()]
    else:
        rows = await store.db.execute_fetchall(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'documents' ORDER BY ordinal_position"
        )
        columns = [row[0] for row in rows]
    assert columns == [
        "id",
        "user_id",
        "item",
        "path",
        "sha256",
        "size",
        "mime",
        "original_name",
        "uploaded_at",
        "replaced_at",
    ]


def test_limits_match_the_product():
    assert documents.MAX_BYTES == 20 * MB
    assert set(documents.ACCEPTED) == {"application/pdf", "image/jpeg", "image/png"}
