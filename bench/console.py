"""The operator console at scale: its pages' server time with N merchants in the database.

`build` (run by the orchestrator, not measured) writes the database of bench.scale (the flows'
own states, reminders, status history; the funnel's stage columns kept by the migration's
triggers as the rows go in) and adds what the console's queue and funnel read: uploaded
documents (some seen by an operator since), failed and uncertain reminders, review results.

    python -m bench.console --params '{"db": …, "now": …, "merchants": N, "requests": R}'

serves the real console (bot.console.Console, aiohttp, in this process) on 127.0.0.1 with an
ephemeral port, signs in as an operator, and GETs each page R times, one request at a time.
Server time is measured around the page's handler (an aiohttp middleware: session check,
queries, rendering); the round trip seen by the client (HTTP on loopback) is reported beside.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import TOKEN, emit, peak_rss_mb, percentiles, quiet_logging
from bench.scale import FIRST_ID, NOW, TZ, iso
from bench.scale import build as build_scale
from bot.runtime import run_loop

OPERATOR = 42


def build(path: Path, n: int, seed: int = 11) -> dict[str, Any]:
    """The scale database, plus documents, failed reminders and review results."""
    started = time.monotonic()
    built = build_scale(path, n)
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    rows = db.execute(
        "SELECT user_id, route, status, json_extract(state, '$.submitted_on'),"
        " json_extract(state, '$.status_on') FROM merchants"
    ).fetchall()
    documents, seen, results, failed = [], [], [], []
    for uid, route, status, submitted, status_on in rows:
        if route and rng.random() < 0.3:  # a third of those with a route uploaded something
            for item in ("license", "tax")[: rng.randint(1, 2)]:
                at = NOW - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1439))
                documents.append(
                    (uid, item, f"{uid}/{item}.png", "0" * 64, 12345, "image/png", iso(at))
                )
            if rng.random() < 0.5:
                seen.append((uid, iso(NOW - timedelta(days=rng.randint(0, 20))), OPERATOR))
        if status in ("need_more", "approved", "joined") and submitted and status_on:
            result = "need_more" if status == "need_more" else "approved"
            results.append((uid, route, result, 1, submitted, status_on))
        if rng.random() < 0.002:
            state = rng.choice(("failed", "uncertain"))
            failed.append((uid, f"bench-{state}", iso(NOW - timedelta(days=1)), state))
    # some rejected ones, so that the approval rate is not 100 %
    results += [
        (uid, route, "rejected", 1, submitted, status_on)
        for uid, route, status, submitted, status_on in rows[::97]
        if submitted and status_on
    ]
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO documents (user_id, item, path, sha256, size, mime, uploaded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        documents,
    )
    db.executemany(
        "INSERT OR REPLACE INTO console_seen (user_id, seen_at, operator_id) VALUES (?, ?, ?)",
        seen,
    )
    db.executemany(
        "INSERT INTO review_results (user_id, route, result, first, submitted_on, decided_on)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        results,
    )
    db.executemany(
        "INSERT INTO reminders (user_id, key, kind, chain, due_at, state, data, created_at)"
        " VALUES (?, ?, 'overdue', '', ?, ?, '{}', ?)",
        [(uid, key, due, state, due) for uid, key, due, state in failed],
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    progress = db.execute("SELECT COUNT(*) FROM merchant_progress").fetchone()[0]
    db.close()
    return {
        **built,
        "documents": len(documents),
        "review_results": len(results),
        "failed_reminders": len(failed),
        "progress_rows": progress,
        "db_mb": path.stat().st_size / 2**20,
        "build_s": time.monotonic() - started,
    }


# --- the measurement ------------------------------------------------------------------------


async def _deep_cursor(store: Any, page: int) -> str:
    """The keyset cursor of the list's page `page` (default sort: most recently updated)."""
    rows = await store.db.execute_fetchall(
        "SELECT updated_at, user_id FROM merchants WHERE user_id != ?"
        " ORDER BY updated_at DESC, user_id DESC LIMIT 1 OFFSET ?",
        (OPERATOR, page * 50 - 1),
    )
    row = next(iter(rows))
    return f"{row[0]}|{row[1]}"


async def _before(store: Any, runtime: Any) -> dict[str, float]:
    """What the first slice of the console (commit 4f4ee19) did where the pages were slow,
    one query each, best of 3: the search scanned the merchants' JSON states; the queue's
    overdue section read the state of every merchant under review and computed the windows."""
    from bench.scale import timed
    from flows import review
    from flows.core import Context

    like = "%家居123%"

    async def search() -> None:
        await store.db.execute_fetchall(
            "SELECT COUNT(*) FROM merchants m WHERE m.user_id != ?"
            " AND (m.shop_name LIKE ? OR m.contact LIKE ?)",
            (OPERATOR, like, like),
        )

    ctx = Context(runtime.contents.default.catalog, runtime.clock.now().astimezone(TZ))

    async def overdue() -> None:
        rows = await store.db.execute_fetchall(
            "SELECT m.user_id, m.state FROM merchants m WHERE m.status IN ('submitted',"
            " 'reviewing') AND json_extract(m.state, '$.submitted_on') <= ? AND m.user_id != ?"
            " ORDER BY json_extract(m.state, '$.submitted_on'), m.user_id",
            ((ctx.today - timedelta(days=3)).isoformat(), OPERATOR),
        )
        for row in rows:
            review.window_data(json.loads(row["state"]), ctx)

    return {
        "search %term% over the JSON states": await timed(search, 3),
        "queue overdue: every state under review": await timed(overdue, 3),
    }


async def run(p: dict[str, Any]) -> dict[str, Any]:
    from bot.store import Store

    store = await Store.open(p["db"])
    try:
        return await _measure(p, store)
    finally:
        await store.close()  # its thread would otherwise keep the process alive


async def _measure(p: dict[str, Any], store: Any) -> dict[str, Any]:
    from urllib.parse import urlencode

    import aiohttp
    from aiohttp import web

    from bot.app import build_application
    from bot.clock import FixedClock
    from bot.console import Console, ConsoleOptions
    from bot.console.server import COOKIE
    from bot.content import ContentRegistry
    from bot.runtime import Runtime

    runtime = Runtime(
        store=store,
        contents=ContentRegistry(),
        clock=FixedClock(datetime.fromisoformat(p["now"])),
        timezone=TZ,
        admin_ids=frozenset({OPERATOR}),
        files_dir=Path(p["db"]).parent / "files",
    )
    nowhere = "http://127.0.0.1:9/"  # the pages measured never call the Bot API
    app = build_application(
        runtime, token=TOKEN, base_url=nowhere + "bot", base_file_url=nowhere + "file/bot"
    )
    server_ms: list[float] = []

    @web.middleware
    async def timer(request: web.Request, handler: Any) -> web.StreamResponse:
        t = time.perf_counter()
        response = await handler(request)
        server_ms.append((time.perf_counter() - t) * 1000)
        return response

    original = Console.web_app

    def timed_app(self: Console) -> web.Application:
        built = original(self)
        built.middlewares.append(timer)  # innermost: the page itself, session check included
        return built

    Console.web_app = timed_app  # type: ignore[method-assign]
    console = await Console.start(app, runtime, ConsoleOptions("127.0.0.1", 0))
    now = runtime.clock.now()
    token = await console.auth.issue(OPERATOR, now)
    sid = await console.auth.redeem(token, runtime.admin_ids, now)
    rng = random.Random(p.get("seed", 5))
    probes = rng.sample(range(FIRST_ID, FIRST_ID + p["merchants"]), 50)
    pages = {
        "queue": ["/"],
        "list_first": ["/merchants"],
        "list_filtered": ["/merchants?" + urlencode({"route": "platform", "status": "submitted"})],
        "list_stage": ["/merchants?" + urlencode({"stage": "review", "sort": "created"})],
        "list_search_name": ["/merchants?" + urlencode({"q": "家居123"})],
        "list_search_rare": ["/merchants?" + urlencode({"q": "星河家居99"})],
        "list_search_id": ["/merchants?" + urlencode({"q": str(FIRST_ID + 4242)})],
        "list_deep": [
            "/merchants?"
            + urlencode({"after": await _deep_cursor(store, max(1, p["merchants"] // 100))})
        ],
        "funnel": ["/funnel"],
        "funnel_week_route": ["/funnel?" + urlencode({"period": "week", "route": "platform"})],
        "merchant": [f"/merchants/{uid}" for uid in probes],
    }
    baseline = await _before(store, runtime)
    figures: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession(cookies={COOKIE: sid}) as http:
            for name, urls in pages.items():
                for url in urls[:1]:  # a warm-up request (templates compiled, caches filled)
                    async with http.get(console.url + url) as answer:
                        await answer.read()
                server_ms.clear()
                trips: list[float] = []
                for i in range(p["requests"]):
                    url = urls[i % len(urls)]
                    t = time.perf_counter()
                    async with http.get(console.url + url) as answer:
                        body = await answer.read()
                        if answer.status != 200:
                            raise RuntimeError(f"{url}: HTTP {answer.status}")
                    trips.append((time.perf_counter() - t) * 1000)
                    sizes[name] = len(body)
                figures[name] = {
                    "url": urls[0],
                    "server_ms": percentiles(server_ms, (50, 90, 99)),
                    "round_trip_ms": percentiles(trips, (50, 99)),
                    "bytes": sizes[name],
                }
    finally:
        await console.stop()
    return {
        "merchants": p["merchants"],
        "requests": p["requests"],
        "pages": figures,
        "baseline_ms": baseline,
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", required=True)
    quiet_logging()
    emit(run_loop(run(json.loads(parser.parse_args().params))))
