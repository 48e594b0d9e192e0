"""The operator console over HTTP (no browser): login links, sessions, CSRF, the audit, the
queue, the merchant list and recording a result through the /setstatus path.

The bot is the real Application against the local Bot API server; the console is served by
the same process on 127.0.0.1 with an ephemeral port (tests/consolekit.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from bot.cli import main as cli_main
from bot.console.auth import MAX_FAILURES
from devserver.client import shown_since
from flows.core import MerchantState
from tests.consolekit import (
    IMAGE,
    OPERATOR,
    SHOP,
    console_bot,
    csrf_of,
    link_from_chat,
    login,
    merchant_with_upload,
    session,
)
from tests.contentkit import press
from tests.harness import running_bot, store_target
from tests.test_documents import PDF


async def test_link_logs_in_once_with_a_strict_http_only_cookie(tmp_path):
    async with console_bot(tmp_path) as bot:
        link = await link_from_chat(bot.merchant(OPERATOR))
        assert link.startswith(bot.console.url + "/login?t=")
        async with session() as http:
            page = await http.get(link)
            assert page.status == 200 and "进入控制台" in await page.text()
            # opening the link does not use it up (a link preview would): the button does
            token = re.search(r'name="t" value="([^"]+)"', await page.text()).group(1)
            answer = await http.post(
                bot.console.url + "/login", data={"t": token}, allow_redirects=False
            )
            assert answer.status == 303 and answer.headers["Location"] == "/"
            cookie = answer.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Secure" not in cookie  # http://127.0.0.1: a Secure cookie would be lost
            home = await http.get(bot.console.url + "/")
            assert home.status == 200 and "待处理" in await home.text()
            assert home.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert home.headers["Referrer-Policy"] == "same-origin"
        async with session() as other:
            again = await other.get(link)
            assert again.status == 403 and "已经用过" in await again.text()
            used = await other.post(bot.console.url + "/login", data={"t": token})
            assert used.status == 403 and "已经用过" in await used.text()
            assert (await other.get(bot.console.url + "/")).status == 401
        rows = await bot.store.db.execute_fetchall("SELECT action FROM console_audit")
        assert [r[0] for r in rows] == ["login"]


async def test_refused_links_show_a_page_and_no_data(tmp_path):
    async with console_bot(tmp_path) as bot:
        await merchant_with_upload(bot)
        # a merchant asking for a link is refused like any operator command
        [refused] = await bot.merchant(1001).send("/console")
        assert "只对运营人员开放" in refused.text and "login" not in refused.text
        op = bot.merchant(OPERATOR)
        async with session() as http:
            for bad in ("nonsense", (await link_from_chat(op))[:-3] + "abc"):
                page = await http.get(f"{bot.console.url}/login?t={bad}")
                text = await page.text()
                assert page.status == 403 and "链接无效" in text
                assert "星河" not in text and "1001" not in text
            # expired: the bot's clock moves past ten minutes
            old = await link_from_chat(op)
            bot.runtime.clock.advance(timedelta(minutes=11))
            page = await http.get(old)
            assert page.status == 403 and "已过期" in await page.text()
            # an operator removed from BOT_ADMIN_IDS can no longer get in
            fresh = await link_from_chat(op)
            bot.runtime.admin_ids = frozenset()
            page = await http.get(fresh)
            assert page.status == 403 and "不是运营人员" in await page.text()
            # failed logins are limited per address
            for _ in range(MAX_FAILURES):
                await http.get(f"{bot.console.url}/login?t=x")
            bot.runtime.admin_ids = frozenset({OPERATOR})
            limited = await http.get(await link_from_chat(op))
            assert limited.status == 429 and "失败次数太多" in await limited.text()


async def test_a_page_without_a_session_and_logout(tmp_path):
    async with console_bot(tmp_path) as bot:
        async with session() as http:
            for path in ("/", "/merchants", "/merchants/1001", "/audit", "/files/1"):
                page = await http.get(bot.console.url + path)
                assert page.status == 401 and "请先登录" in await page.text(), path
            home = await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            csrf = csrf_of(await home.text())
            refused = await http.post(bot.console.url + "/logout", data={})
            assert refused.status == 403  # logout is a POST like any other: CSRF checked
            out = await http.post(bot.console.url + "/logout", data={"csrf": csrf})
            assert out.status == 200 and "已退出登录" in await out.text()
            assert (await http.get(bot.console.url + "/")).status == 401


async def test_session_expires(tmp_path):
    async with console_bot(tmp_path) as bot:
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            assert (await http.get(bot.console.url + "/")).status == 200
            bot.runtime.clock.advance(timedelta(hours=9))
            assert (await http.get(bot.console.url + "/")).status == 401


async def test_result_goes_the_setstatus_way_and_is_audited(tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        await m.send("/submitted")
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            url = f"{bot.console.url}/merchants/{m.user_id}"
            page = await http.get(url)
            html = await page.text()
            # markup typed by a merchant shows literally
            assert "&lt;b&gt;星河&lt;/b&gt;家居&amp;店" in html and SHOP not in html
            csrf = csrf_of(html)
            form = {"status": "need_more", "note": "<i>补</i>品牌授权书", "deadline": "2030-01-07"}

            mark = bot.server.mark()
            refused = await http.post(url + "/status", data=form)
            assert refused.status == 403 and "没有做任何改动" in await refused.text()
            state = await bot.store.load_merchant(m.user_id)
            assert state.data["status"] == "submitted"
            assert shown_since(bot.server, mark) == []
            wrong = await http.post(url + "/status", data={**form, "csrf": csrf + "x"})
            assert wrong.status == 403

            done = await http.post(url + "/status", data={**form, "csrf": csrf})
            html = await done.text()
            assert done.status == 200 and "已推送给商家" in html
            assert "&lt;i&gt;补&lt;/i&gt;品牌授权书" in html
        # what /setstatus does: the state, the history row, the reminder plan, the push
        state = await bot.store.load_merchant(m.user_id)
        assert state.data["status"] == "need_more"
        assert state.data["need_more"]["deadline"] == "2030-01-07"
        history = await bot.store.status_history(m.user_id)
        assert history[-1]["by"] == f"operator:{OPERATOR}" and history[-1]["new"] == "need_more"
        kinds = {r["kind"]: r["state"] for r in await bot.store.reminders_of(m.user_id)}
        assert kinds.get("need_more_deadline") == "pending"
        pushes = [item for chat, item in shown_since(bot.server, mark) if chat == m.user_id]
        assert len(pushes) == 1 and "需补充材料" in pushes[0].text
        assert "<i>补</i>品牌授权书" in pushes[0].text  # shown literally in Telegram too
        assert "2030" in pushes[0].text
        [row] = await bot.store.db.execute_fetchall(
            "SELECT operator_id, action, target, before, after, detail FROM console_audit"
            " WHERE action = 'set_status'"
        )
        assert tuple(row)[:5] == (OPERATOR, "set_status", m.user_id, "submitted", "need_more")
        assert '"delivered": true' in row[5]


async def test_a_blocked_merchant_is_not_pushed_and_the_page_says_so(tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        await m.send("/submitted")  # a result needs a submission
        bot.server.block(m.user_id, notify=False)  # the bot learns it from the failed push
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            url = f"{bot.console.url}/merchants/{m.user_id}"
            csrf = csrf_of(await (await http.get(url)).text())
            done = await http.post(url + "/status", data={"status": "approved", "csrf": csrf})
            html = await done.text()
            assert "没能推送给商家" in html and "已屏蔽机器人" in html
        assert (await bot.store.load_merchant(m.user_id)).data["status"] == "approved"


async def test_documents_images_inline_pdfs_downloaded(tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        await m.press("税务登记证")
        await m.press("上传文件")
        await m.send_document(PDF, "税务.pdf", "application/pdf")
        rows = await bot.store.db.execute_fetchall("SELECT id, mime FROM documents ORDER BY id")
        image, pdf = (r[0] for r in rows)
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            page = await (await http.get(f"{bot.console.url}/merchants/{m.user_id}")).text()
            assert f'src="/files/{image}?preview=1"' in page and f"/files/{pdf}?download=1" in page
            shown = await http.get(f"{bot.console.url}/files/{image}")
            assert shown.headers["Content-Type"] == "image/png"
            assert shown.headers["Content-Disposition"].startswith("inline")
            assert await shown.read() == IMAGE
            got = await http.get(f"{bot.console.url}/files/{pdf}")
            assert got.headers["Content-Disposition"].startswith("attachment")
            assert await got.read() == PDF
            assert (await http.get(f"{bot.console.url}/files/999999")).status == 404


def _seed(uid: int, **data: object) -> MerchantState:
    return MerchantState(uid, created=False, data=data)  # type: ignore[arg-type]


async def test_list_filters_search_keyset_pages_and_csv(tmp_path):
    async with console_bot(tmp_path) as bot:
        now = bot.runtime.clock.now()
        for i in range(120):
            shop = "=cmd|' /C calc'!A0" if i == 7 else f"店铺{i:03d}"
            state = _seed(
                5000 + i,
                route="platform" if i % 2 else "agency",
                status="approved" if i % 3 == 0 else "submitted",
                application={"fields": {"shop_name": shop}},
            )
            await bot.store.save_merchant(
                state,
                chat_id=5000 + i,
                language=None,
                now=now + timedelta(seconds=i),
                stage="review",
            )
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            seen: list[str] = []
            url = bot.console.url + "/merchants"
            while url:
                html = await (await http.get(url)).text()
                assert "共 120 位商家" in html
                seen += re.findall(r'name="user" value="(\d+)"', html)
                nxt = re.search(r'href="(/merchants\?[^"]*after=[^"]+)"', html)
                url = bot.console.url + nxt.group(1).replace("&amp;", "&") if nxt else ""
            assert len(seen) == 120 and len(set(seen)) == 120
            assert seen[0] == "5119"  # the latest change first

            html = await (await http.get(url_of(bot, route="agency", status="approved"))).text()
            ids = re.findall(r'name="user" value="(\d+)"', html)
            assert ids and all(int(i) % 2 == 0 and (int(i) - 5000) % 3 == 0 for i in ids)
            assert f"共 {len(ids)} 位商家" in html
            html = await (await http.get(url_of(bot, q="店铺011"))).text()
            assert re.findall(r'name="user" value="(\d+)"', html) == ["5011"]
            html = await (await http.get(url_of(bot, q="5042"))).text()
            assert re.findall(r'name="user" value="(\d+)"', html) == ["5042"]
            html = await (await http.get(url_of(bot, sort="id"))).text()
            assert re.findall(r'name="user" value="(\d+)"', html)[:2] == ["5000", "5001"]

            answer = await http.get(bot.console.url + "/merchants.csv?route=agency")
            assert answer.headers["Content-Type"].startswith("text/csv")
            table = list(csv.reader(io.StringIO((await answer.read()).decode("utf-8-sig"))))
            assert table[0][0] == "用户ID" and len(table) == 1 + 60
            answer = await http.get(bot.console.url + "/merchants.csv?q=calc")
            table = list(csv.reader(io.StringIO((await answer.read()).decode("utf-8-sig"))))
            assert table[1][1].startswith("'=")  # never run as a formula by a spreadsheet


def url_of(bot, **query: str) -> str:
    from urllib.parse import urlencode

    return f"{bot.console.url}/merchants?{urlencode(query)}"


async def test_queue_shows_who_needs_someone_now(tmp_path):
    async with console_bot(tmp_path) as bot:
        now = bot.runtime.clock.now()
        today = now.astimezone(bot.runtime.timezone).date()
        long_ago = (today - timedelta(days=30)).isoformat()
        seeds = {
            7001: {"route": "platform", "submitted_on": long_ago, "status": "submitted"},
            7002: {"route": "platform", "submitted_on": today.isoformat(), "status": "submitted"},
            7003: {
                "route": "agency",
                "status": "need_more",
                "need_more": {"note": "x", "deadline": (today - timedelta(days=1)).isoformat()},
            },
            7004: {"route": "agency", "status": "approved"},
        }
        for uid, data in seeds.items():
            await bot.store.save_merchant(_seed(uid, **data), chat_id=uid, language=None, now=now)
        await bot.store.set_reachable(7004, False)
        m = await merchant_with_upload(bot, 7005)
        async with session() as http:
            home = await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            html = await home.text()

            def section(key: str) -> str:
                return html.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]

            assert "/merchants/7001" in section("overdue")
            assert "/merchants/7002" not in section("overdue")  # its window is still open
            assert "/merchants/7003" in section("need_more") and "已过期" in section("need_more")
            assert "/merchants/7004" in section("blocked")
            assert f"/merchants/{m.user_id}" in section("uploads")
            assert "&lt;b&gt;星河" in section("uploads")
            assert f"/merchants/{OPERATOR}" not in html  # operators are not merchants
            # looked at: the upload is no longer new
            await http.get(f"{bot.console.url}/merchants/{m.user_id}")
            html = await (await http.get(bot.console.url + "/")).text()
            assert f"/merchants/{m.user_id}" not in section("uploads")


async def test_deleting_a_merchant_forgets_when_an_operator_looked(tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            await http.get(f"{bot.console.url}/merchants/{m.user_id}")
        assert await bot.store.db.execute_fetchall("SELECT * FROM console_seen")
        await m.send("/deletedata")
        await m.press("确认删除")
        assert not await bot.store.db.execute_fetchall("SELECT * FROM console_seen")


async def test_console_off_says_so_in_the_chat(server, tmp_path):
    async with running_bot(server, tmp_path / "b.sqlite3", admin_ids=frozenset({OPERATOR})) as bot:
        [reply] = await bot.merchant(OPERATOR).send("/console")
        assert "没有开启" in reply.text and "http" not in reply.text


async def test_console_link_command_prints_a_link_the_console_accepts(
    tmp_path, monkeypatch, capsys
):
    async with console_bot(tmp_path) as bot:
        monkeypatch.setenv("BOT_DATABASE", str(store_target(tmp_path / "bot.sqlite3")))
        monkeypatch.setenv("BOT_ADMIN_IDS", str(OPERATOR))
        monkeypatch.setenv("BOT_CONSOLE_URL", bot.console.url)
        monkeypatch.chdir(tmp_path)
        assert await _in_thread(lambda: cli_main(["console-link", "1001"])) == 2
        assert "not an operator" in capsys.readouterr().err
        assert await _in_thread(lambda: cli_main(["console-link", str(OPERATOR)])) == 0
        link = capsys.readouterr().out.strip()
        assert link.startswith(bot.console.url + "/login?t=")
        async with session() as http:
            home = await login(http, link)
            assert home.status == 200 and "待处理" in await home.text()


async def _in_thread(call):
    import asyncio

    return await asyncio.to_thread(call)


def test_help_lists_the_console_settings(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    out = capsys.readouterr().out
    for name in ("BOT_CONSOLE_HOST", "BOT_CONSOLE_PORT", "BOT_CONSOLE_URL", "console-link"):
        assert name in out


async def test_one_result_for_several_merchants(tmp_path):
    async with console_bot(tmp_path) as bot:
        for uid in (8001, 8002, 8003):
            m = bot.merchant(uid)
            await m.send("/submitted")  # a result needs a submission
            await press(m, "route_platform")
        async with session() as http:
            home = await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            csrf = csrf_of(await home.text())
            mark = bot.server.mark()
            form = [("csrf", csrf), ("user", "8001"), ("user", "8003"), ("status", "approved")]
            form += [("note", "恭喜"), ("back", "/merchants?status=")]
            done = await http.post(bot.console.url + "/merchants/status", data=form)
            html = await done.text()
            assert "已为 2 位商家记录结果：2 位推送成功，0 位没推送到" in html
            nothing = await http.post(
                bot.console.url + "/merchants/status",
                data=[("csrf", csrf), ("status", "approved")],
            )
            assert "没有选中任何商家" in await nothing.text()
        statuses = [
            (await bot.store.load_merchant(u)).data.get("status") for u in (8001, 8002, 8003)
        ]
        assert statuses == ["approved", "submitted", "approved"]
        pushed = sorted(chat for chat, _ in shown_since(bot.server, mark))
        assert pushed == [8001, 8003]
        rows = await bot.store.db.execute_fetchall(
            "SELECT target FROM console_audit WHERE action = 'set_status' ORDER BY target"
        )
        assert [r[0] for r in rows] == [8001, 8003]
