"""The console's funnel: stages reached per route this week and all time, conversion, working
days from submission to the first result, approval rate; and the columns and tables of
migration 0007 that keep it fast (kept by triggers and by the store's save, backfilled)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import pgdb
from bot.clock import FixedClock
from bot.console import funnel
from bot.content import ContentRegistry
from bot.schema import migrations, split_sql
from flows import journey
from flows.core import Context, MerchantState
from tests.consolekit import OPERATOR, console_bot, csrf_of, link_from_chat, login, session
from tests.harness import open_store, store_target

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)
LAST_MONTH = WEDNESDAY - timedelta(days=40)


def _state(uid: int, **data: object) -> MerchantState:
    return MerchantState(uid, created=False, data=data)  # type: ignore[arg-type]


def test_the_stage_order_is_the_journeys():
    ctx = Context(ContentRegistry().default.catalog, WEDNESDAY)
    keys = [s["key"] for s in journey.stages({}, ctx)]
    assert list(funnel.STAGES) == [*keys, "done"]
    db = sqlite3.connect(":memory:")
    for _number, _name, sql in migrations():
        for statement in split_sql(sql):
            db.execute(statement)
    rows = db.execute("SELECT key FROM journey_stages ORDER BY pos").fetchall()
    assert [r[0] for r in rows] == list(funnel.STAGES)


async def _seed(bot) -> None:
    store = bot.store
    # 9001: agency, preparing documents since last month
    await store.save_merchant(
        _state(9001), chat_id=9001, language=None, now=LAST_MONTH, stage="route"
    )
    await store.save_merchant(
        _state(9001, route="agency"), chat_id=9001, language=None, now=LAST_MONTH, stage="docs"
    )
    # 9003: platform, submitted Monday 9 November, saved last month... and this week
    await store.save_merchant(
        _state(9003, route="platform", submitted_on="2026-11-09", status="submitted"),
        chat_id=9003,
        language=None,
        now=LAST_MONTH,
        stage="review",
    )
    # 9002: platform, new this week, submitted Tuesday 10 November
    await store.save_merchant(
        _state(9002, route="platform", submitted_on="2026-11-10", status="submitted"),
        chat_id=9002,
        language=None,
        now=WEDNESDAY,
        stage="review",
    )


async def test_funnel_counts_conversion_working_days_and_approval(tmp_path):
    async with console_bot(tmp_path, clock=FixedClock(WEDNESDAY)) as bot:
        await _seed(bot)
        async with session() as http:
            home = await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            html = await home.text()
            assert 'href="/funnel"' in html  # in the navigation
            csrf = csrf_of(html)
            for uid, status in ((9003, "approved"), (9002, "rejected")):
                done = await http.post(
                    f"{bot.console.url}/merchants/{uid}/status",
                    data={"csrf": csrf, "status": status, "note": ""},
                )
                assert done.status == 200
            page = await http.get(bot.console.url + "/funnel")
            assert page.status == 200
            html = await page.text()
            week = await (await http.get(bot.console.url + "/funnel?period=week")).text()
            platform = await (await http.get(bot.console.url + "/funnel?route=platform")).text()

        found = await funnel.funnel(bot.store, frozenset({OPERATOR}), WEDNESDAY)
        assert found.week_start.isoformat() == "2026-11-16"
        # all time: everyone reached the first stage; a rejected merchant still reached review
        assert found.reached["all"][""] == [3, 3, 3, 2, 2, 2, 1, 0]
        assert found.reached["all"]["platform"] == [2, 2, 2, 2, 2, 2, 1, 0]
        assert found.reached["all"]["agency"] == [1, 1, 1, 0, 0, 0, 0, 0]
        assert found.conversion("all", "")[3] == 2 / 3
        # this week: 9002 arrived (every stage up to review), 9003 reached join (approved)
        assert found.reached["week"][""] == [1, 1, 1, 1, 1, 1, 1, 0]
        # working days: 9 Nov → 18 Nov is 7, 10 Nov → 18 Nov is 6; the median is 6.5
        review = found.review["all"]["platform"]
        assert review.median == 6.5 and review.approval == 0.5
        assert found.review["week"][""].results == {"approved": 1, "rejected": 1}
        assert found.review["all"]["agency"].median is None

        # the page: an SVG chart, its numbers beside, the review's pace
        assert "<svg" in html and "<script" not in html
        assert "6.5 个工作日" in html and "50%" in html
        assert "67%" in html  # 准备资料 → 填写申请: 2 of 3
        assert "2026-11-16" in week or "11月16日" in week
        assert 'aria-current="page">速卖通全托管' in platform


async def test_the_save_path_keeps_the_progress_and_deletion_removes_it(tmp_path):
    store = await open_store(tmp_path / "s.sqlite3")
    try:
        now = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
        await store.save_merchant(_state(1), chat_id=1, language=None, now=now, stage="route")
        later = now + timedelta(days=1)
        data = {"route": "agency", "status": "rejected"}
        await store.save_merchant(
            _state(1, **data), chat_id=1, language=None, now=later, stage="submit"
        )
        # back to an earlier stage: what was reached stays reached
        await store.save_merchant(
            _state(1, **data), chat_id=1, language=None, now=later, stage="qualify"
        )
        rows = await store.db.execute_fetchall(
            "SELECT pos, route, reached_at FROM merchant_progress WHERE user_id = 1 ORDER BY pos"
        )
        assert [r[0] for r in rows] == [0, 1, 2, 3, 4, 5]
        assert {r[1] for r in rows} == {"agency"}  # the current route
        assert rows[0][2] < rows[1][2]
        [reached] = await store.db.execute_fetchall("SELECT reached FROM merchants")
        assert reached[0] == 5
        await store.erase_merchant(1)
        for table in ("merchant_progress", "review_results"):
            assert not await store.db.execute_fetchall(f"SELECT * FROM {table}")
    finally:
        await store.close()


def _before_0007(path: Path, rows: list[tuple[str, tuple[object, ...]]]) -> None:
    """A store at migration 0006 holding `rows` (SQLite file or PostgreSQL database)."""
    target = store_target(path)
    if isinstance(target, Path):
        db = sqlite3.connect(target, isolation_level=None)
        for number, _name, sql in migrations():
            if number > 6:
                break
            for statement in split_sql(sql):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        for sql, params in rows:
            db.execute(sql, params)
        db.close()
        return
    import psycopg

    with psycopg.connect(target, autocommit=True) as conn:
        for number, _name, sql in pgdb.migrations():
            if number > 6:
                break
            conn.execute(sql.encode())
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (6)")
        for sql, params in rows:
            conn.execute(pgdb.translate(sql).encode(), params)


async def test_the_migration_backfills_stages_and_results(tmp_path):
    path = tmp_path / "old.sqlite3"
    insert = (
        "INSERT INTO merchants (user_id, chat_id, route, stage, status, state, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)"
    )
    history = "INSERT INTO status_history (user_id, at, by, old, new) VALUES (?, ?, ?, ?, ?)"
    _before_0007(
        path,
        [
            (insert, (1, 1, "platform", "submit", "rejected", "2026-10-01", "2026-11-02")),
            (insert, (2, 2, None, "route", None, "2026-11-01", "2026-11-01")),
            (insert, (3, 3, "agency", "done", "joined", "2026-09-01", "2026-11-03")),
            (history, (1, "2026-10-20T02:00:00+00:00", "merchant", None, "submitted")),
            (history, (1, "2026-10-23T02:00:00+00:00", "operator:9", "submitted", "rejected")),
        ],
    )
    store = await open_store(path)
    try:
        rows = await store.db.execute_fetchall("SELECT user_id, reached FROM merchants")
        assert {r[0]: r[1] for r in rows} == {1: 5, 2: 0, 3: 7}
        [row] = await store.db.execute_fetchall(
            "SELECT route, result, first, submitted_on, decided_on FROM review_results"
        )
        assert tuple(row) == ("platform", "rejected", 1, "2026-10-20", "2026-10-23")
        found = await funnel.funnel(store, frozenset(), datetime(2026, 11, 4, tzinfo=TZ))
        assert found.reached["all"][""] == [3, 2, 2, 2, 2, 2, 1, 1]
        assert found.review["all"][""].median == 3  # Tue 20 → Fri 23 October
    finally:
        await store.close()
