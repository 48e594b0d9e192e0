"""The command line: configuration errors in one line with exit status 2, content-check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content import CONTENT_ROOT, ContentRegistry
from bot.content_check import check

REPO = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("merchant-bot"))


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the console script with a clean configuration environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    base["BOT_CONSOLE_PORT"] = "0"  # no console (`chat`, `run`): never a fight over port 8080
    base.update(env or {})
    return subprocess.run(
        [EXE, *args],
        env=base,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a configuration error (no traceback)."""
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_run_without_token_names_the_variable_and_points_to_chat(tmp_path):
    line = one_line_error(run_cli("run", cwd=tmp_path))
    assert "TELEGRAM_BOT_TOKEN" in line and "make chat" in line


def test_run_with_bad_admin_ids(tmp_path):
    line = one_line_error(
        run_cli("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "BOT_ADMIN_IDS": "12,abc"}, cwd=tmp_path)
    )
    assert "BOT_ADMIN_IDS" in line and "abc" in line


def test_run_with_bad_timezone(tmp_path):
    line = one_line_error(
        run_cli("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "BOT_TIMEZONE": "Mars/Base"}, cwd=tmp_path)
    )
    assert "BOT_TIMEZONE" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; use a file as parent")
def test_run_with_unwritable_database_as_user(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    line = one_line_error(
        run_cli("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "BOT_DATABASE": str(ro / "db.sqlite3")})
    )
    assert "BOT_DATABASE" in line


def test_run_with_unwritable_database(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    line = one_line_error(
        run_cli(
            "run",
            env={"TELEGRAM_BOT_TOKEN": "1:x", "BOT_DATABASE": str(blocker / "db.sqlite3")},
            cwd=tmp_path,
        )
    )
    assert "BOT_DATABASE" in line


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("BOT_ADMIN_IDS=1,zz\n", encoding="utf-8")
    line = one_line_error(run_cli("run", env={"TELEGRAM_BOT_TOKEN": "1:x"}, cwd=tmp_path))
    assert "BOT_ADMIN_IDS" in line


def test_content_check_passes_on_the_shipped_content():
    result = run_cli("content-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_content_check_reports_a_too_long_message_and_bad_html(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    (root / "zh-CN" / "templates" / "help.j2").write_text("帮" * 5000, encoding="utf-8")
    (root / "zh-CN" / "templates" / "menu.j2").write_text("<b>主菜单", encoding="utf-8")
    problems, checked = check(ContentRegistry(root))
    text = "\n".join(map(str, problems))
    assert checked > 50
    assert "help" in text and "5000 characters" in text
    assert "menu" in text and "invalid Telegram HTML" in text


def test_callback_codec_refuses_more_than_64_bytes_and_decodes_garbage_to_none():
    from bot import callbacks
    from flows.core import Button, Press

    ok = Button.of("ship", "ship", "s", "7")
    assert callbacks.decode(callbacks.encode(ok)) == Press("ship", ("s", "7"))
    with pytest.raises(callbacks.CallbackDataError):
        callbacks.encode(Button.of("x", "ship", "发货" * 11))  # 66 bytes
    with pytest.raises(callbacks.CallbackDataError):
        callbacks.encode(Button.of("x", "ship", "a:b"))
    assert callbacks.decode("") is None
    assert callbacks.decode("🙂:1") is None
    assert callbacks.decode("a" * 65) is None


def test_a_locale_without_its_own_file_falls_back_to_zh_cn(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT_ROOT, root)
    (root / "zh-TW" / "templates").mkdir(parents=True)
    (root / "zh-TW" / "ui.yaml").write_text("labels:\n  next: 下一頁\n", encoding="utf-8")
    registry = ContentRegistry(root)
    tw = registry.for_language("zh-TW")
    assert tw.locale == "zh-TW"
    assert tw.data["ui"]["labels"]["next"] == "下一頁"
    assert tw.data["ui"]["labels"]["prev"] == registry.default.data["ui"]["labels"]["prev"]
    assert "托管助手" in tw.render_text("welcome")
    assert registry.for_language("en").locale == "zh-CN"


def test_playground_with_piped_input_prints_the_seven_steps_in_order(tmp_path):
    import yaml

    steps = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "shipping.yaml").read_text("utf-8"))
    titles = [s["title"] for s in steps["guides"]["seller"]["steps"]]
    script = "/start\n怎么发货\n" + "#下一步\n" * 6
    result = run_cli("chat", "--data", str(tmp_path / "pg"), stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    positions = [out.index(f"第 {n} 步 / 共 7 步：{t}") for n, t in enumerate(titles, start=1)]
    assert positions == sorted(positions)
    assert "你(10001) › 怎么发货" in out
    assert "已更新" in out
    assert (tmp_path / "pg" / "merchant-bot.sqlite3").exists()
