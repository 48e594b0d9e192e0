"""End to end: an operator cannot record a result for a merchant who has not submitted (no
route, or no submission on the current route), neither with /setstatus in the chat nor in the
web console; nothing changes and nothing is pushed. The real Application over HTTP."""

from __future__ import annotations

from devserver.client import shown_since
from tests.consolekit import OPERATOR as CONSOLE_OPERATOR
from tests.consolekit import console_bot, csrf_of, link_from_chat, login, session
from tests.contentkit import data, press, template
from tests.harness import running_bot
from tests.test_e2e_back_and_forth import OPERATOR, pending
from tests.test_e2e_foundation import assert_clean


async def test_setstatus_needs_a_route_and_a_submission(server, tmp_path):
    async with running_bot(server, tmp_path / "db", admin_ids=frozenset({OPERATOR})) as bot:
        m, op = bot.merchant(10003), bot.merchant(OPERATOR)
        await m.send("/start")
        before = (await bot.store.load_merchant(10003)).data
        mark = server.mark()
        [refused] = await op.send("/setstatus 10003 approved")
        assert template(refused) == "operator_usage" and data(refused)["error"] == "no_route"
        assert "/setstatus 10003 submitted" in refused.text  # how to go on
        assert [chat for chat, _ in shown_since(server, mark)] == [OPERATOR]  # no push
        assert (await bot.store.load_merchant(10003)).data == before
        assert await bot.store.status_history(10003) == []
        assert await pending(bot, 10003) == []

        await m.send("/route")
        await press(m, "route_platform")
        mark = server.mark()
        [refused] = await op.send("/setstatus 10003 已通过")
        assert template(refused) == "operator_usage" and data(refused)["error"] == "no_submission"
        assert data(refused)["status"] == "approved"
        assert [chat for chat, _ in shown_since(server, mark)] == [OPERATOR]
        [status] = await m.send("/status")
        assert template(status) == "status" and data(status)["status"] is None

        # submitted outside the bot: the operator records the submission, then the result
        [done] = await op.send("/setstatus 10003 submitted")
        assert template(done) == "operator_done" and data(done)["delivered"]
        stored = (await bot.store.load_merchant(10003)).data
        assert stored["status"] == "submitted" and stored["submitted_on"]
        [done] = await op.send("/setstatus 10003 approved")
        assert template(done) == "operator_done" and data(done)["status"] == "approved"
        [status] = await m.send("/status")
        assert data(status)["status"] == "approved" and data(status)["submitted_on"]
    assert_clean(server)


async def test_the_console_shows_the_refusal_and_changes_nothing(tmp_path):
    async with console_bot(tmp_path) as bot:
        for uid in (8101, 8102):
            await bot.merchant(uid).send("/start")
        submitted = bot.merchant(8102)
        await submitted.send("/submitted")
        await press(submitted, "route_platform")
        errors = bot.console.pages.labels["record"]["errors"]
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(CONSOLE_OPERATOR)))
            url = f"{bot.console.url}/merchants/8101"
            csrf = csrf_of(await (await http.get(url)).text())
            mark = bot.server.mark()
            refused = await http.post(url + "/status", data={"status": "approved", "csrf": csrf})
            assert refused.status == 409
            assert errors["no_route"] in await refused.text()
            assert shown_since(bot.server, mark) == []
            assert "status" not in (await bot.store.load_merchant(8101)).data

            form = [("csrf", csrf), ("user", "8101"), ("user", "8102"), ("status", "approved")]
            form += [("back", "/merchants")]
            done = await http.post(bot.console.url + "/merchants/status", data=form)
            html = await done.text()
            labels = bot.console.pages.labels["record"]
            assert labels["bulk_done"].format(n=1, ok=1, failed=0) in html
            assert labels["bulk_skipped"].format(n=1) in html
        assert "status" not in (await bot.store.load_merchant(8101)).data
        assert (await bot.store.load_merchant(8102)).data["status"] == "approved"
        rows = await bot.store.db.execute_fetchall(
            "SELECT target FROM console_audit WHERE action = 'set_status'"
        )
        assert [r[0] for r in rows] == [8102]
