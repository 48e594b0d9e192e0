"""What a benchmark merchant does: one realistic conversation, one reply per update.

Each step is sent as the real update a Telegram client would send; a press targets the message
the previous reply showed (the shipping guide and the checklist edit one message in place).
`expect` is a substring of the reply that must arrive for that step, so a lost, wrong or
out-of-order answer is detected. The echo baseline runs the same updates; its replies repeat
the text or name the pressed data instead.
"""

from __future__ import annotations

from typing import Any

# (kind, text or callback data, substring of our reply)
CONVERSATION: list[tuple[str, str, str]] = [
    ("text", "/start", "托管助手"),
    ("text", "/menu", "主菜单"),
    ("text", "怎么发货", "发货指南"),
    *[("press", f"ship:s:{n}", f"第 {n} 步") for n in range(2, 8)],
    ("text", "/docs", "两条路线"),
    ("press", "setroute:platform:docs", "已选择"),
    ("press", "docs", "品牌授权书"),
    ("press", "dcq:brand:y:l", "行业许可证"),
    ("press", "dcq:permit:n:l", "资料清单"),
    ("text", "审核要多久", "审核要多久"),
    ("text", "/apply", "第 1/4 项"),
    ("text", "星河家居", "第 2/4 项"),
    ("text", "家居收纳、厨房小工具", "第 3/4 项"),
    ("text", "/status", "审核进度"),
]

# one question asked again and again: the free-text path alone (issue 13's second load)
FAQ: list[tuple[str, str, str]] = [("text", "怎么发货", "发货指南")] * 8

SCRIPTS = {"conversation": CONVERSATION, "faq": FAQ}

# /status of a merchant already in the database (state at scale)
STATUS: list[tuple[str, str, str]] = [("text", "/status", "审核进度")]


def steps(script: list[tuple[str, str, str]], bot: str) -> list[dict[str, Any]]:
    """The script as the emulator's load generator takes it, for "ours" or "echo"."""
    out = []
    for kind, payload, expect in script:
        if bot == "echo":
            expect = payload if kind == "text" else f"pressed {payload} #"
        out.append({"kind": kind, "payload": payload, "expect": expect})
    return out
