"""State at scale on each store: `--big-scale` merchants (1,000,000 by default) in SQLite and in
PostgreSQL, then the real bot's start-up to its first answered update and /status latency.

Building (not measured): the rows of bench.scale (the flows' own states, reminders, history;
bench.scale.generate, 50,000 merchants at a time, the same rows for both) are written to both:
SQLite with `executemany` in one transaction (bench.scale.build), PostgreSQL with `COPY … FROM
STDIN` in one transaction, at the same time in a second process; the schema is the real
migrations' (Store.open), so the console's tables of migration 0007 are filled as they would
be. PostgreSQL: the rows are copied
at the schema just before 0007 (its triggers would run row by row), then Store.open applies
0007 onwards, whose backfill fills those tables in one statement each, as an upgrade of a
database holding these merchants would; then `VACUUM ANALYZE`, as autovacuum would have done
on a database that grew to this size.

Measuring, for each store: a fresh emulator and a fresh bot process (bench.scale.run, the same
phases as the scale section), with one merchant's /status already waiting at the emulator when
the bot starts (as after a restart); start-up is from `Store.open` to that update's reply
recorded at the emulator (both processes read CLOCK_MONOTONIC). Then `--probes` /status of
random merchants, one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench import postgres
from bench import scale as scale_mod
from bench.procs import Emulator, run_worker

STORES = ("sqlite", "postgresql")
STARTUP_S = 1.0  # issue 11: to the first update
STATUS_P99_MS = 10.0


def build(sqlite_path: Path, pg_url: str | None, n: int) -> dict[str, Any]:
    """Both databases with the same n merchants, built at the same time (PostgreSQL's in a
    process of its own: two cores); what was built and how long each took."""
    started = time.monotonic()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pg_built = pool.submit(build_postgresql, pg_url, n) if pg_url is not None else None
        lite = scale_mod.build(sqlite_path, n)
        out: dict[str, Any] = {
            **{k: v for k, v in lite.items() if k not in ("db_mb", "build_s")},
            "sqlite_mb": lite["db_mb"],
            "sqlite_s": lite["build_s"],
        }
        if pg_built is not None:
            out |= pg_built.result()
    return out | {"build_s": time.monotonic() - started}


def build_postgresql(url: str, n: int) -> dict[str, Any]:
    """bench.scale's n merchants into the PostgreSQL database at `url`."""
    import psycopg

    from bot.store import Store

    async def migrated() -> None:
        store = await Store.open(url)  # the migrations from 0007 on
        await store.close()

    started = time.monotonic()
    before = _schema_before_triggers(url)
    with psycopg.connect(url) as conn:  # one transaction (psycopg opens it, commits at exit)
        for rows, _counts in scale_mod.generate(n):
            _copy(conn, rows)
    copied = time.monotonic()
    asyncio.run(migrated())
    migrated_at = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "postgresql_loaded_at_schema": before,
        "postgresql_mb": int(row[0]) / 2**20 if row else None,
        "postgresql_copy_s": copied - started,
        "postgresql_migrate_s": migrated_at - copied,
        "postgresql_s": time.monotonic() - started,
    }


def _schema_before_triggers(url: str) -> int:
    """Apply the PostgreSQL migrations up to the last one before triggers appear (0007's keep
    the console's tables on every row: a million row-by-row trigger runs take minutes, their
    own backfill one statement); the number of the last one applied. Store.open applies the
    rest after the COPY, as it would upgrade a database that already holds these merchants."""
    import psycopg

    from bot import pgdb

    shipped = pgdb.migrations()
    last = next(n for n, _, sql in shipped if "CREATE TRIGGER" in sql.upper()) - 1
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(b"CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, _name, sql in shipped:
            if number <= last:
                cur.execute(sql.encode())
        cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (last,))
    return last


def _copy(pg: Any, rows: scale_mod.Chunk) -> None:
    """One chunk's rows into PostgreSQL with COPY (in the open transaction)."""
    with pg.cursor() as cur:
        for table, columns, values in (
            ("merchants", scale_mod.MERCHANT_COLUMNS, rows.merchants),
            ("reminders", scale_mod.REMINDER_COLUMNS, rows.reminders),
            ("status_history", scale_mod.HISTORY_COLUMNS, rows.history),
        ):
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)


def run(args: argparse.Namespace, log: Path, tmp: str) -> dict[str, Any]:
    n = args.big_scale
    pg, why = postgres.shared()
    out: dict[str, Any] = {"merchants": n, "skipped_postgresql": why if pg is None else None}
    sqlite_path = Path(tmp) / "big.sqlite3"
    pg_url = pg.database("bigscale") if pg is not None else None
    try:
        print(f"  state at scale on each store: building {n:,} merchants …", file=sys.stderr)
        out["build"] = build(sqlite_path, pg_url, n)
        for store, target in (("sqlite", str(sqlite_path)), ("postgresql", pg_url)):
            if target is None:
                continue
            print(f"  state at scale on {store}: start-up, /status …", file=sys.stderr, flush=True)
            params = {
                "db": target,
                "files": f"{tmp}/files",
                "now": scale_mod.NOW.isoformat(),
                "merchants": n,
                "probes": min(args.probes, n),
                "first_update": True,
            }
            with Emulator(log) as emulator:
                if store == "sqlite":  # after the bulk load, then a restart (see started_twice)
                    out[store] = scale_mod.started_twice({**emulator.urls, **params}, log)
                else:
                    got = run_worker("bench.scale", {**emulator.urls, **params}, log)
                    got["cold_start_s"] = got["first_getupdates_at"] - got["spawned_at"]
                    out[store] = got
    finally:
        sqlite_path.unlink(missing_ok=True)
        if pg is not None and pg_url is not None:
            pg.drop(pg_url)
    return out


def rows(res: dict[str, Any]) -> list[tuple[str, Any, Any, int]]:
    """(name, SQLite, PostgreSQL, digits) for the table."""

    def pair(*keys: str) -> tuple[Any, Any]:
        got = []
        for store in STORES:
            value: Any = res.get(store)
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            got.append(value)
        return got[0], got[1]

    b = res["build"]
    return [
        ("database MiB", b.get("sqlite_mb"), b.get("postgresql_mb"), 0),
        ("bulk load s (not measured by the bot)", b.get("sqlite_s"), b.get("postgresql_s"), 1),
        ("start-up s (Store.open … first update answered)", *pair("first_answer_s"), 3),
        (
            "  SQLite's first start after the file changed (whole-file check)",
            *pair("after_change", "first_answer_s"),
            3,
        ),
        ("start-up s (Store.open … first getUpdates)", *pair("startup_s"), 3),
        ("cold start s (process spawn … first getUpdates)", *pair("cold_start_s"), 2),
        ("memory at rest MiB", *pair("rss_rest_mb"), 1),
        ("/status latency p50 ms", *pair("status_latency_ms", "p50"), 2),
        ("/status latency p99 ms", *pair("status_latency_ms", "p99"), 2),
        ("lost or wrong /status answers", *pair("status_lost"), 0),
        ("operator /stats query ms", *pair("queries", "stage_counts_ms"), 1),
        ("scheduler next_due query ms", *pair("queries", "next_due_ms"), 3),
    ]


def targets(res: dict[str, Any]) -> list[tuple[str, Any, str, bool]]:
    """(name, value, goal, met) of issue 11's targets at scale, per store measured."""
    out: list[tuple[str, Any, str, bool]] = []
    n = res["merchants"]
    for store in STORES:
        got = res.get(store)
        if not got:
            continue
        first = got.get("first_answer_s")
        out.append(
            (
                f"start-up to first update, {n:,} merchants, {store}"
                + (" (s, restart after a clean stop)" if "after_change" in got else " (s)"),
                first,
                f"< {STARTUP_S:g}",
                first is not None and first < STARTUP_S,
            )
        )
        p99 = got["status_latency_ms"]["p99"]
        out.append(
            (
                f"/status p99, {n:,} merchants, {store} (ms)",
                p99,
                f"< {STATUS_P99_MS:g}",
                p99 is not None and p99 < STATUS_P99_MS,
            )
        )
    return out
