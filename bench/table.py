"""The table `python -m bench` prints: one row per figure, sections in brackets, the targets
last. Two value columns; each section's title says what they are."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from bench import pgconv, pgscale, replicas
from bench import sweep as sweep_mod


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(res: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def section(title: str) -> None:
        rows.append((f"[{title}]", "", ""))

    def row(name: str, ours: Any, base: Any = None, digits: int = 1) -> None:
        rows.append(("  " + name, _fmt(ours, digits), "" if base is None else _fmt(base, digits)))

    conv = res.get("conversation")
    if conv:
        c, o = conv["closed"], conv["open"]
        section(
            f"conversation: {c['ours']['merchants']} merchants x "
            f"{c['ours']['steps_per_merchant']} steps; columns: ours | echo baseline"
        )
        row(
            "closed loop: answers per second",
            c["ours"]["answers_per_s"],
            c["echo"]["answers_per_s"],
        )
        spread = {
            bot: "–".join(
                f"{f(x['answers_per_s'] for x in c['repeats'][bot]):.0f}" for f in (min, max)
            )
            for bot in ("ours", "echo")
        }
        row("closed loop: answers per second, min–max of runs", spread["ours"], spread["echo"])
        row(
            f"closed loop: ours / baseline (median of {len(c['repeats']['ours'])})",
            c["ratio"],
            digits=2,
        )
        row(
            "closed loop: latency p50 ms",
            c["ours"]["latency_ms"]["p50"],
            c["echo"]["latency_ms"]["p50"],
        )
        row(
            "closed loop: latency p99 ms",
            c["ours"]["latency_ms"]["p99"],
            c["echo"]["latency_ms"]["p99"],
        )
        rate = o["ours"]["offered_per_s"]
        row("open loop: offered updates per second", rate, o["echo"]["offered_per_s"])
        for p in ("p50", "p95", "p99"):
            row(
                f"open loop: latency {p} ms", o["ours"]["latency_ms"][p], o["echo"]["latency_ms"][p]
            )
        row(
            "open loop: load generator behind schedule p99 ms",
            o["ours"]["lateness_ms"]["p99"],
            o["echo"]["lateness_ms"]["p99"],
        )
        row(
            "CPU s per 1,000 updates (closed)",
            c["ours"]["cpu_s_per_1000_updates"],
            c["echo"]["cpu_s_per_1000_updates"],
            2,
        )
        row(
            "CPU s per 1,000 updates (open)",
            o["ours"]["cpu_s_per_1000_updates"],
            o["echo"]["cpu_s_per_1000_updates"],
            2,
        )
        split = o["ours"].get("cpu_split_s") or {}
        if split.get("other_threads_s") is not None:
            row(
                "  of which in the aiosqlite thread (open)",
                split["other_threads_s"] / max(1, o["ours"]["updates"]) * 1000,
                digits=2,
            )
        row(
            "bot CPU use, open loop (share of a core)",
            o["ours"]["bot_cpu_util"],
            o["echo"]["bot_cpu_util"],
            2,
        )
        row(
            "emulator CPU use, closed loop (share of a core)",
            c["ours"]["server_cpu_util"],
            c["echo"]["server_cpu_util"],
            2,
        )
        row(
            "peak memory MiB",
            max(c["ours"]["peak_rss_mb"], o["ours"]["peak_rss_mb"]),
            max(c["echo"]["peak_rss_mb"], o["echo"]["peak_rss_mb"]),
        )
        for key, label in (
            ("lost", "lost answers"),
            ("out_of_order", "out-of-order answers"),
            ("wrong", "wrong answers"),
            ("extra", "unexpected extra answers"),
        ):
            row(
                f"{label} (closed + open)",
                c["ours"][key] + o["ours"][key],
                c["echo"][key] + o["echo"][key],
            )
        errors = sum(c["ours"]["errors"].values()) + sum(o["ours"]["errors"].values())
        row("calls refused by the server (ours)", errors)
    sw = res.get("sweep")
    if sw:
        section(
            f"per-update cost, closed loop, medians of {sw['repeat']} runs; "
            "columns: ours | echo baseline"
        )
        for name, ours, echo, digits in sweep_mod.rows(sw):
            row(name, ours, echo, digits)
        runtime = sw["runtime"]
        section(
            f"runtime changes, conversation x{runtime['level']} ({runtime['updates']:,} "
            "updates), medians; columns: CPU s per 1,000 updates | answers/s"
        )
        for name, cpu, rate, digits in sweep_mod.ablation_rows(runtime):
            row(name, cpu, rate, digits)
    fan = res.get("fanout")
    if fan:
        section(f"reminder fan-out: {fan['n']:,} due at the same minute, 30/s and 1/s per chat")
        row("time to deliver all, s", fan["time_to_all_s"])
        row("achieved rate per s", fan["rate_per_s"], digits=2)
        row("share of the allowed 30 per s", fan["rate_share_of_allowed"], digits=3)
        row("429 answers", fan["http_429"])
        row("duplicates", fan["duplicates"])
        row("lost", fan["lost"])
        row("bot CPU ms per reminder", fan["cpu_ms_per_reminder"], digits=2)
        row("peak memory MiB", fan["peak_rss_mb"])
    sc = res.get("scale")
    if sc:
        b = sc["build"]
        section(
            f"state at scale: {b['merchants']:,} merchants, {b['reminders']:,} reminders, "
            f"{b['db_mb']:.0f} MiB database"
        )
        row("start-up s (Store.open … first getUpdates), restart", sc["startup_s"], digits=3)
        changed = sc.get("after_change")
        if changed:
            name = "  first start after the file changed (whole-file check)"
            row(name, changed["startup_s"], digits=3)
        row("cold start s (process spawn … first getUpdates)", sc["cold_start_s"], digits=2)
        row("memory at rest MiB", sc["rss_rest_mb"])
        row("peak memory MiB", sc["peak_rss_mb"])
        lat = sc["status_latency_ms"]
        row(f"/status latency p50 ms ({lat['count']} random merchants)", lat["p50"], digits=2)
        row("/status latency p99 ms", lat["p99"], digits=2)
        row("operator /stats query ms", sc["queries"]["stage_counts_ms"], digits=2)
        row("scheduler next_due query ms", sc["queries"]["next_due_ms"], digits=3)
    co = res.get("console")
    if co:
        b = co["build"]
        section(
            f"console at scale: {b['merchants']:,} merchants, {b['documents']:,} documents, "
            f"{b['db_mb']:.0f} MiB; {co['requests']} requests a page; columns: server ms p50 | p99"
        )
        for name, page in co["pages"].items():
            server = page["server_ms"]
            row(f"{name}  {unquote(page['url'])[:40]}", server["p50"], server["p99"], 2)
        for name, ms in co.get("baseline_ms", {}).items():
            row(f"before: {name} (one query, best of 3) ms", ms, digits=2)
    pc = res.get("postgres")
    if pc and not pc.get("skipped"):
        c, runs = pc["closed"]["sqlite"], len(pc["closed"]["repeats"]["sqlite"])
        section(
            f"PostgreSQL column: conversation, {c['merchants']} merchants x "
            f"{c['steps_per_merchant']} steps, ours, closed loop median of {runs}; "
            f"PostgreSQL {pc['server_version']}; columns: SQLite | PostgreSQL"
        )
        for name, lite, pg, digits in pgconv.rows(pc):
            row(name, lite, pg, digits)
    rp = res.get("replicas")
    if rp and not rp.get("skipped"):
        c = rp["closed"]["1"]
        section(
            f"replicas on webhooks, one PostgreSQL: conversation, {c['merchants']} merchants x "
            f"{c['steps_per_merchant']} steps; columns: 1 replica | 3 replicas"
        )
        for name, one, three, digits in replicas.rows(rp):
            row(name, one, three, digits)
        fan = rp["fanout"]
        section(
            f"reminder fan-out with {fan['replicas']} replicas: {fan['n']:,} due at the same "
            "minute, 30/s and 1/s per chat"
        )
        for name, value, digits in replicas.fanout_rows(fan):
            row(name, value, digits=digits)
    bs = res.get("bigscale")
    if bs:
        b = bs["build"]
        section(
            f"state at scale on each store: {b['merchants']:,} merchants, {b['reminders']:,} "
            "reminders; columns: SQLite | PostgreSQL"
        )
        for name, lite, pg, digits in pgscale.rows(bs):
            row(name, lite, pg, digits)
    targets_ = res.get("targets") or []
    if targets_:
        section("targets")
        for t in targets_:
            rows.append(
                (
                    f"  {t['target']} {t['goal']}",
                    _fmt(t["value"], 2),
                    "met" if t["met"] else "MISSED",
                )
            )
    width = max(len(r[0]) for r in rows if r[1] or r[2]) + 2  # section titles may overhang
    lines = []
    for name, a, b in rows:
        lines.append(name if not a and not b else f"{name:<{width}}{a:>12}  {b:>12}")
    return "\n".join(lines)
