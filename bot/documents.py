"""Uploaded documents: fetched from the Bot API, checked by content, stored with their SHA-256.

The flow (flows/docs.py) decides which item a file is for and asks for it through
`Outcome.download`; the adapter calls `fetch_and_store`, whose `Stored` or `Rejected` goes back
to the flow. Files live under BOT_FILES_DIR as `<user_id>/<random hex>.<ext>` (never the name
the merchant gave); the `documents` table keeps every version, the current one with
`replaced_at` NULL. Paths in the table and in `Stored` are relative to BOT_FILES_DIR.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import filetype
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.store import Store, scrub_deleted
from flows import docs
from flows.core import Rejected, Stored, Upload

log = logging.getLogger(__name__)

ACCEPTED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_BYTES = docs.MAX_BYTES  # 20 MB: what the Bot API lets a bot download
SNIFF_BYTES = 8192  # filetype looks at the head of a file only

_COLUMNS = "id, user_id, item, path, sha256, size, mime, original_name, uploaded_at, replaced_at"


def _guess(content: bytes) -> Any:
    """filetype's guess from the magic bytes, or None."""
    if not content:
        return None
    return filetype.guess(bytes(content[:SNIFF_BYTES]))


def sniff(content: bytes) -> str | None:
    """The MIME type by content, if it is one we accept (PDF, JPEG, PNG); the name is ignored."""
    kind = _guess(content)
    return kind.mime if kind is not None and kind.mime in ACCEPTED else None


def describe(content: bytes) -> str:
    """A short name of what a refused file is (e.g. "zip", "exe"), or "" if unknown."""
    kind = _guess(content)
    return str(kind.extension) if kind is not None else ""


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text for storage."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _write(target: Path, content: bytes) -> str:
    """Write the file atomically (temp file + rename), readable by the owner only; its SHA-256."""
    digest = hashlib.sha256(content).hexdigest()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return digest


async def fetch_and_store(
    bot: Bot,
    store: Store,
    files_dir: Path,
    user_id: int,
    upload: Upload,
    item: str,
    now: datetime,
) -> Stored | Rejected:
    """Download the file the flow accepted, check its size and type, store it and record it.

    Never raises for a bad file or a failed download: the answer is a Rejected with a reason
    ("size", "empty" for 0 bytes, "type" with what the file really is, "download").
    """
    if upload.size is not None and upload.size > MAX_BYTES:
        return Rejected(item, "size", str(upload.size))  # refused before any download
    if upload.size == 0:
        return Rejected(item, "empty")  # nothing to download
    try:
        file = await bot.get_file(upload.file_id)
    except BadRequest as exc:
        if "too big" in exc.message.lower():
            return Rejected(item, "size", str(upload.size or ""))
        log.info("getFile refused for user %s: %s", user_id, exc.message)
        return Rejected(item, "download")
    except TelegramError as exc:
        log.info("getFile failed for user %s: %s", user_id, exc)
        return Rejected(item, "download")
    if file.file_size is not None and file.file_size > MAX_BYTES:
        return Rejected(item, "size", str(file.file_size))
    if file.file_size == 0:
        return Rejected(item, "empty")
    try:
        content = bytes(await file.download_as_bytearray())
    except (TelegramError, RuntimeError, OSError) as exc:
        log.info("download failed for user %s: %s", user_id, exc)
        return Rejected(item, "download")
    if len(content) > MAX_BYTES:
        return Rejected(item, "size", str(len(content)))
    if not content:
        return Rejected(item, "empty")  # the size was not announced, or not truthfully
    mime = sniff(content)
    if mime is None:
        return Rejected(item, "type", describe(content))
    relative = f"{user_id}/{uuid4().hex}.{ACCEPTED[mime]}"
    target = files_dir / relative
    try:
        digest = await asyncio.to_thread(_write, target, content)
    except OSError:
        log.exception("cannot write an uploaded file under %s", files_dir)
        return Rejected(item, "download", "store")
    try:
        await _record(store, user_id, item, relative, digest, len(content), mime, upload, now)
    except sqlite3.Error:
        log.exception("cannot record an uploaded file")
        target.unlink(missing_ok=True)
        return Rejected(item, "download", "store")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Stored(item, relative, digest, len(content), mime)


async def _record(
    store: Store,
    user_id: int,
    item: str,
    path: str,
    digest: str,
    size: int,
    mime: str,
    upload: Upload,
    now: datetime,
) -> None:
    """The new current version of the item; the previous one becomes history (one transaction)."""
    at = _iso(now)
    async with store.transaction() as db:
        await db.execute(
            "UPDATE documents SET replaced_at = ?"
            " WHERE user_id = ? AND item = ? AND replaced_at IS NULL",
            (at, user_id, item),
        )
        await db.execute(
            "INSERT INTO documents (user_id, item, path, sha256, size, mime, original_name,"
            " uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, item, path, digest, size, mime, upload.file_name[:255], at),
        )


async def list_documents(store: Store, user_id: int) -> list[dict[str, Any]]:
    """Every stored version of the merchant's documents (history included), oldest first."""
    async with store.db.execute(
        f"SELECT {_COLUMNS} FROM documents WHERE user_id = ? ORDER BY id", (user_id,)
    ) as cur:
        return [dict(row) for row in await cur.fetchall()]


def _remove_files(files_dir: Path, user_id: int, paths: list[str]) -> None:
    """Delete the merchant's files and their directory (with any leftover temp files)."""
    root = files_dir.resolve()
    for path in paths:
        target = (files_dir / path).resolve()
        if target.is_relative_to(root):  # never outside BOT_FILES_DIR, whatever the table says
            target.unlink(missing_ok=True)
    shutil.rmtree(files_dir / str(user_id), ignore_errors=True)


async def remove_files(store: Store, files_dir: Path, user_id: int) -> None:
    """Delete the merchant's files (their rows go with the rest, in Store.erase_merchant)."""
    paths = [row["path"] for row in await list_documents(store, user_id)]
    await asyncio.to_thread(_remove_files, files_dir, user_id, paths)


async def delete_documents(store: Store, files_dir: Path, user_id: int) -> int:
    """Delete every file and row of the merchant (/deletedata); how many rows were deleted.

    Files go first: if the bot stops half-way, the rows left point to missing files and a
    second run finishes the job; no file is left without a row that leads to it.
    """
    await remove_files(store, files_dir, user_id)
    async with store.transaction() as db:
        cur = await db.execute("DELETE FROM documents WHERE user_id = ?", (user_id,))
        count = cur.rowcount
    if count:
        await scrub_deleted(store)  # the file names the merchant gave leave the WAL too
    return int(count or 0)
