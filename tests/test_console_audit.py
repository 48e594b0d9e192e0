"""The audit of document views: who opened which document when (a preview on the merchant's
page, the file opened, a download), shown on the audit page and the merchant's page; the same
look repeated within minutes is one row."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.consolekit import (
    OPERATOR,
    console_bot,
    link_from_chat,
    login,
    merchant_with_upload,
    session,
)
from tests.test_documents import PDF


async def test_document_views_are_audited(tmp_path):
    async with console_bot(tmp_path) as bot:
        m = await merchant_with_upload(bot)
        await m.press("税务登记证")
        await m.press("上传文件")
        await m.send_document(PDF, "税务.pdf", "application/pdf")
        rows = await bot.store.db.execute_fetchall("SELECT id FROM documents ORDER BY id")
        image, pdf = (r[0] for r in rows)
        base = bot.console.url
        async with session() as http:
            await login(http, await link_from_chat(bot.merchant(OPERATOR)))
            await http.get(f"{base}/merchants/{m.user_id}")
            for url in (
                f"/files/{image}?preview=1",  # the page's thumbnail
                f"/files/{image}?preview=1",  # shown again: not a new look
                f"/files/{image}",
                f"/files/{pdf}?download=1",
            ):
                assert (await http.get(base + url)).status == 200
            audit = await (await http.get(f"{base}/audit")).text()
            views = await (await http.get(f"{base}/audit?action=view_document")).text()
            merchant = await (await http.get(f"{base}/merchants/{m.user_id}")).text()
            bot.runtime.clock.advance(timedelta(minutes=11))
            await http.get(f"{base}/files/{image}?preview=1")  # a new look, later
            assert (await http.get(f"{base}/files/999999")).status == 404  # nothing to audit

        found = await bot.store.db.execute_fetchall(
            "SELECT operator_id, target, detail FROM console_audit"
            " WHERE action = 'view_document' ORDER BY id"
        )
        details = [(r[0], r[1], json.loads(r[2])) for r in found]
        assert [(op, target, d["document"], d["how"]) for op, target, d in details] == [
            (OPERATOR, m.user_id, image, "preview"),
            (OPERATOR, m.user_id, image, "open"),
            (OPERATOR, m.user_id, pdf, "download"),
            (OPERATOR, m.user_id, image, "preview"),
        ]
        assert "登录" in audit.split("<tbody>", 1)[1]
        assert "登录" not in views.split("<tbody>", 1)[1]  # only the document views
        for html in (audit, merchant, views):
            assert html.count("查看资料") >= 3
            assert "营业执照" in html and "执照.png" in html and "税务.pdf" in html
            assert "在商家页面预览" in html and "打开原文件" in html and "下载" in html
