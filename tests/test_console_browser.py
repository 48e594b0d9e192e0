"""The operator console in a real browser: headless Chromium (Debian's, driven by Playwright)
against the console served by the real bot, which talks to the local Bot API server.

Skipped, with the reason, when /usr/bin/chromium or Playwright is missing (`make test` installs
Chromium when it can: tests/setup_browser.sh). A screenshot of every page goes to
tests/output/console/ (git-ignored)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devserver.client import shown_since
from tests.consolekit import (
    OPERATOR,
    SHOP,
    console_bot,
    link_from_chat,
    merchant_with_upload,
)
from tests.contentkit import press

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent / "output" / "console"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # pragma: no cover - the [test] extra brings it
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        async_playwright is None, reason="browser tests: playwright is not installed"
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests: /usr/bin/chromium is missing (apt-get install chromium, as root)",
    ),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, nothing fetched from the network on its own."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot for a person to look at."""
    await page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


async def test_operator_logs_in_finds_a_merchant_and_records_need_more(browser, tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        await m.send("/submitted")
        operator = bot.merchant(OPERATOR)
        link = await link_from_chat(operator)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})

        # the link from the operator's chat: a page with one button, then the queue
        await page.goto(link)
        await shot(page, "01-login")
        await page.get_by_role("button", name="进入控制台").click()
        await page.wait_for_url(bot.console.url + "/")
        assert "待处理" in await page.locator("h1").inner_text()
        uploads = page.locator("#uploads")
        assert SHOP in await uploads.inner_text()  # literally, tags and all
        await shot(page, "02-queue")

        # find the merchant in the list by part of the shop name
        await page.get_by_role("link", name="商家", exact=True).click()
        await page.get_by_label("搜索店铺名称、联系方式或用户 ID").fill("星河")
        await page.get_by_role("button", name="筛选").click()
        assert "共 1 位商家" in await page.locator(".total").inner_text()
        await shot(page, "03-merchants")
        await page.locator("table.list a.merchant").first.click()
        await page.wait_for_url(f"{bot.console.url}/merchants/{m.user_id}")
        assert SHOP in await page.locator("h1").inner_text()
        assert await page.locator("#documents img").count() == 1
        width = await page.locator("#documents img").evaluate("img => img.naturalWidth")
        assert width == 120  # the uploaded picture really loads in the page
        await shot(page, "04-merchant")

        # open the uploaded image
        await page.locator("#documents a.preview").click()
        assert await page.evaluate("document.contentType") == "image/png"
        await shot(page, "05-image")
        await page.go_back()

        # record need_more with a note: the /setstatus path, pushed to the merchant
        note = "<script>alert(1)</script>请补充<b>品牌授权书</b>"
        mark = bot.server.mark()
        form = page.locator("form.record")
        await form.get_by_label("审核结果").select_option("need_more")
        await form.get_by_label("备注（会推送给商家）").fill(note)
        await form.get_by_label("补充材料截止日").fill("2030-01-07")
        await form.get_by_role("button", name="保存并推送").click()
        flash = page.locator("#result")
        assert "已推送给商家" in await flash.inner_text()
        history = await page.locator("#history").inner_text()
        assert note in history and "需补充材料" in history
        await shot(page, "06-recorded")
        pushes = [item for chat, item in shown_since(bot.server, mark) if chat == m.user_id]
        assert len(pushes) == 1 and note in pushes[0].text and "需补充材料" in pushes[0].text

        # the audit row
        await page.get_by_role("link", name="操作记录").click()
        row = page.locator("table.audit tbody tr").first
        text = await row.inner_text()
        assert "记录审核结果" in text and note in text and "已推送" in text
        assert str(m.user_id) in text and "已提交 → 需补充材料" in text
        await shot(page, "07-audit")

        # the same pages on a phone
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.context.add_cookies(await page.context.cookies())
        await phone.goto(f"{bot.console.url}/merchants/{m.user_id}")
        await shot(phone, "08-merchant-phone")
        await phone.goto(bot.console.url + "/")
        await shot(phone, "09-queue-phone")
        scroll = await phone.evaluate("document.documentElement.scrollWidth")
        assert scroll <= 390  # no sideways scrolling on a phone


async def test_refused_links_and_a_post_without_csrf(browser, tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        operator = bot.merchant(OPERATOR)
        page = await browser.new_page(viewport={"width": 1000, "height": 700})

        # a merchant gets no link at all; a link whose operator was removed is refused
        [refused] = await m.send("/console")
        assert "只对运营人员开放" in refused.text
        link = await link_from_chat(operator)
        bot.runtime.admin_ids = frozenset()
        await page.goto(link)
        assert "不是运营人员" in await page.locator("main").inner_text()
        assert "星河" not in await page.content()
        await shot(page, "10-not-operator")
        bot.runtime.admin_ids = frozenset({OPERATOR})

        # a link is used once
        link = await link_from_chat(operator)
        await page.goto(link)
        await page.get_by_role("button", name="进入控制台").click()
        await page.wait_for_url(bot.console.url + "/")
        other = await browser.new_page()
        await other.goto(link)
        assert "已经用过" in await other.locator("main").inner_text()
        await shot(other, "11-used-link")

        # a form posted without its CSRF token changes nothing
        await page.goto(f"{bot.console.url}/merchants/{m.user_id}")
        form = page.locator("form.record")
        await form.locator("input[name=csrf]").evaluate("input => input.remove()")
        await form.get_by_label("审核结果").select_option("approved")
        await form.get_by_role("button", name="保存并推送").click()
        assert "没有做任何改动" in await page.locator("main").inner_text()
        await shot(page, "12-csrf-refused")
        assert (await bot.store.load_merchant(m.user_id)).data.get("status") is None
        assert not await bot.store.db.execute_fetchall(
            "SELECT 1 FROM console_audit WHERE action = 'set_status'"
        )

        # logout
        await page.goto(bot.console.url + "/")
        await page.get_by_role("button", name="退出登录").click()
        assert "已退出登录" in await page.locator("main").inner_text()
        await page.goto(bot.console.url + "/")
        assert "请先登录" in await page.locator("main").inner_text()
        await shot(page, "13-logged-out")


async def test_one_result_for_several_merchants_each_pushed(browser, tmp_path):
    async with console_bot(tmp_path) as bot:
        chosen, other = (8101, 8103), 8102
        for uid in (*chosen, other):
            m = bot.merchant(uid)
            await m.send("/submitted")  # a result needs a submission
            await press(m, "route_platform")
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(await link_from_chat(bot.merchant(OPERATOR)))
        await page.get_by_role("button", name="进入控制台").click()
        await page.wait_for_url(bot.console.url + "/")

        # tick two merchants in the list, open the bulk form, record one result
        await page.get_by_role("link", name="商家", exact=True).click()
        for uid in chosen:
            await page.get_by_label(f"选择 {uid}").check()
        bulk = page.locator("form.bulk")
        await bulk.locator("summary").click()
        note = "请补充<b>品牌授权书</b>"
        await bulk.get_by_label("审核结果").select_option("need_more")
        await bulk.get_by_label("备注（会推送给商家）").fill(note)
        await shot(page, "14-bulk-form")
        mark = bot.server.mark()
        await bulk.get_by_role("button", name="保存并推送").click()
        flash = await page.locator("#bulk-result").inner_text()
        assert "已为 2 位商家记录结果：2 位推送成功，0 位没推送到" in flash
        await shot(page, "15-bulk-done")

        # each chosen merchant's chat got its own push; the other one nothing
        pushed = shown_since(bot.server, mark)
        assert sorted(chat for chat, _ in pushed) == sorted(chosen)
        for _chat, item in pushed:
            assert "需补充材料" in item.text and note in item.text
        for uid in chosen:
            assert (await bot.store.load_merchant(uid)).data["status"] == "need_more"
        assert (await bot.store.load_merchant(other)).data["status"] == "submitted"

        # one audit row each
        await page.get_by_role("link", name="操作记录").click()
        rows = page.locator("table.audit tbody tr")
        texts = [await rows.nth(i).inner_text() for i in range(2)]
        assert all("记录审核结果" in t and "已推送" in t for t in texts)
        assert {uid for uid in chosen if any(str(uid) in t for t in texts)} == set(chosen)

        # the funnel: two results this week, both 需补充材料
        await page.get_by_role("link", name="漏斗").click()
        assert await page.locator("svg.chart rect.bar").count() >= 1
        review = await page.locator("#review").inner_text()
        assert "需补充 2" in review
        await shot(page, "16-funnel")
        phone = await browser.new_page(viewport={"width": 390, "height": 844})
        await phone.context.add_cookies(await page.context.cookies())
        await phone.goto(f"{bot.console.url}/funnel")
        await shot(phone, "17-funnel-phone")
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
        await phone.goto(f"{bot.console.url}/merchants")
        await shot(phone, "18-merchants-phone")
        await phone.goto(f"{bot.console.url}/audit")
        await shot(phone, "19-audit-phone")
