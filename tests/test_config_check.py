"""`inboxbot config check` against the rig: real Dovecot logins, a real SMTP server, SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inboxbot.configcheck import check_command
from rig import Dovecot, MailUser, RecordingSMTP
from tests.ops_config import REPO, password_var, write_config

pytestmark = pytest.mark.integration


def lines_for(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if prefix in line]


async def test_one_good_and_one_bad_mailbox(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = dovecot.add_user(f"other-{mailbox_user.name}", "right-pw")
    config = tmp_path / "inboxbot.toml"
    env = write_config(config, dovecot, [mailbox_user, other], smtp_port=smtp_server.port)
    env[password_var(1)] = "wrong-pw"  # the second mailbox's password is wrong
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    assert await check_command(config) == 1
    out = capsys.readouterr().out
    good, bad = lines_for(out, "imap box0/INBOX"), lines_for(out, "imap box1/INBOX")
    assert len(good) == 1 and good[0].startswith("PASS") and "selected" in good[0], out
    assert len(bad) == 1 and bad[0].startswith("FAIL") and "login refused" in bad[0], out
    assert "wrong-pw" not in out and "right-pw" not in out  # secrets never printed
    assert lines_for(out, "smtp 127.0.0.1")[0].startswith("PASS"), out
    assert "EHLO" in lines_for(out, "smtp 127.0.0.1")[0]
    db = lines_for(out, "database")
    assert db[0].startswith("PASS") and "first `run` creates the schema" in db[0], out
    assert lines_for(out, "classifier (model)")[0].startswith("PASS"), out
    assert "probe: erasure" in lines_for(out, "classifier (model)")[0], out
    assert [line[:4] for line in lines_for(out, "reply templates")] == ["PASS", "PASS"]
    assert out.rstrip().endswith(f"1 of {len(out.splitlines()) - 1} checks failed"), out
    assert not smtp_server.messages  # EHLO only: nothing was sent


async def test_unreachable_smtp_missing_templates_and_outdated_schema(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "inboxbot.toml"
    env = write_config(config, dovecot, [mailbox_user], smtp_port=smtp_server.port)
    text = config.read_text().replace('dpo_email = "dpo@example.com"',
                                      'dpo_email = "dpo@example.com"\nlanguages = ["sv", "en", "de"]')
    config.write_text(text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    smtp_server.stop()
    # A database made by an older release: one migration applied, the rest pending.
    from tortoise import connections

    from inboxbot.store import close_store, open_store
    from inboxbot.store.migrate import available

    db = tmp_path / "state" / "inboxbot.sqlite3"
    await open_store(f"sqlite://{db}")
    latest = available("sqlite")[-1]
    await connections.get("sqlite").execute_query("DELETE FROM aerich WHERE version = ?", [latest])
    await close_store()

    assert await check_command(config) == 1
    out = capsys.readouterr().out
    assert lines_for(out, "imap box0/INBOX")[0].startswith("PASS"), out
    smtp = lines_for(out, "smtp 127.0.0.1")[0]
    assert smtp.startswith("FAIL") and "connect failed" in smtp, out
    database = lines_for(out, "database")[0]
    assert database.startswith("FAIL") and "inboxbot db upgrade" in database, out
    assert lines_for(out, "reply templates [de]")[0].startswith("FAIL"), out
    assert lines_for(out, "reply templates [sv]")[0].startswith("PASS"), out


def test_cli_all_pass(dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP,
                      tmp_path: Path) -> None:
    config = tmp_path / "inboxbot.toml"
    env = write_config(config, dovecot, [mailbox_user], smtp_port=smtp_server.port)
    proc = subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "config", "check"],
                          cwd=REPO, env={**os.environ, **env}, check=False, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout and proc.stdout.rstrip().endswith("checks passed"), proc.stdout


def test_cli_invalid_config_fails_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "inboxbot.toml"
    config.write_text('[[mailbox]]\nname = "x"\nkind = "imap"\n')  # no username
    proc = subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "config", "check"],
                          cwd=REPO, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.startswith("FAIL  config") and "username" in proc.stdout, proc.stdout


async def test_database_check_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    from dataclasses import replace

    from inboxbot.config import Settings, TransportSettings
    from inboxbot.configcheck import run_checks

    base = Settings(transport=TransportSettings(kind="folder", path=tmp_path / "out"))
    checks = {c.item: c for c in await run_checks(replace(base, database_url=postgres_url))}
    assert checks["database"].ok and "(postgres)" in checks["database"].detail, checks["database"]
    assert checks["outgoing folder"].ok
    gone = postgres_url.rsplit("/", 1)[0].rsplit(":", 1)[0] + ":9/inboxbot"  # nothing listens there
    checks = {c.item: c for c in await run_checks(replace(base, database_url=gone))}
    assert not checks["database"].ok, checks["database"]
