"""`inboxbot suppress ...` end to end: a real SQLite store, a webhook receiver on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inboxbot.cli import main
from inboxbot.suppression import address_hash
from tests.marketing_fakes import FakeServer, WebhookApp

CONFIG = """
[organisation]
name = "Nexus Example AB"
domain = "nexus.example"
reply_from = "privacy@nexus.example"
dpo_email = "dpo@nexus.example"
transactional_mail_continues = true

[store]
state_dir = "state"

[suppression]
fold_plus_domains = ["gmail.com"]

[[marketing]]
kind = "webhook"
name = "crm"
url = "{url}/hooks/suppression"
secret_env = "INBOXBOT_TEST_HOOK_KEY"

[[marketing]]
kind = "file"
name = "export"
path = "export/suppressed.csv"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    app = WebhookApp(key=b"cli-key")
    with FakeServer(app) as srv:
        config = tmp_path / "inboxbot.toml"
        config.write_text(CONFIG.replace("{url}", srv.url))
        monkeypatch.setenv("INBOXBOT_CONFIG", str(config))
        monkeypatch.setenv("INBOXBOT_TEST_HOOK_KEY", "cli-key")
        monkeypatch.setenv("INBOXBOT_NOW", "2026-11-02T10:00+01:00")
        yield tmp_path, app, srv


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["suppress", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_check_push_remove_forget_sync(env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tmp_path, app, srv = env
    code, out, _ = run(capsys, "add", "Eva.Lind+news@Gmail.com", "--source", "phone call 2 Nov")
    assert code == 0 and "eva.lind@gmail.com: suppressed (scope all); queued for crm, export" in out
    assert run(capsys, "add", "eva.lind@gmail.com")[1].startswith("eva.lind@gmail.com: already suppressed")
    code, out, _ = run(capsys, "check", "EVA.LIND+other@gmail.com")
    assert code == 0 and "suppressed since 2026-" in out and "phone call 2 Nov" in out
    assert run(capsys, "check", "nobody@example.org")[0] == 1

    srv.fail_next = 2
    code, out, err = run(capsys, "push")
    assert code == 1 and "1 delivered, 1 deferred" in out and "503" in err  # the file got it
    assert "eva.lind@gmail.com" in (tmp_path / "export/suppressed.csv").read_text()
    code, out, _ = run(capsys, "status")
    assert "crm                  pending  1" in out and "after 1 attempt(s)" in out

    # Removal without a reason is refused, clearly, and changes nothing.
    code, _, err = run(capsys, "remove", "eva.lind@gmail.com")
    assert code == 2 and "--reason is required" in err
    assert run(capsys, "check", "eva.lind@gmail.com")[0] == 0
    code, out, _ = run(capsys, "remove", "eva.lind@gmail.com", "--reason", "typed by mistake")
    assert code == 0 and "reason recorded" in out and "re-subscribe" in out
    assert run(capsys, "check", "eva.lind@gmail.com")[0] == 1
    assert run(capsys, "remove", "eva.lind@gmail.com", "--reason", "again")[0] == 1

    # Erasure: the address goes, the hash stays and still answers.
    run(capsys, "add", "jonas@example.se", "--scope", "newsletter")
    assert run(capsys, "forget", "jonas@example.se")[0] == 2
    code, out, err = run(capsys, "forget", "jonas@example.se", "--reason", "erasure NEX-2026-000042")
    assert code == 0 and "1 entry now hash-only" in out and "warning" in err
    code, out, _ = run(capsys, "check", "Jonas@Example.se")
    assert code == 0 and "scope newsletter" in out and "address erased, hash kept" in out
    listing = run(capsys, "list")[1]
    assert "jonas" not in listing and "(erased; hash only)" in listing
    exported = json.loads(run(capsys, "export", "--format", "json")[1])
    assert [(r["address"], r["sha256"]) for r in exported] == [("", address_hash("jonas@example.se"))]

    # Retries go out later (the backoff is at most 6 h here: move the frozen clock on).
    assert run(capsys, "push")[0] == 1  # not due yet: nothing asked of the server
    assert len(srv.requests) == 1
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-02T18:00+01:00")
    assert run(capsys, "push")[0] == 1  # the second 503
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-03T02:00+01:00")
    code, out, _ = run(capsys, "push")
    assert code == 0 and srv.problems == [] and "4 delivered" in out
    actions = [(e["action"], e.get("address")) for e in app.events]
    assert actions == [("suppress", "eva.lind@gmail.com"), ("unsuppress", "eva.lind@gmail.com"),
                       ("suppress", None), ("forget", None)]  # scrubbed before it was sent
    assert "jonas" not in (tmp_path / "export/suppressed.csv").read_text()

    # Sync re-pushes everything (here to one target); an unknown target is an error.
    code, out, _ = run(capsys, "sync", "--target", "crm")
    assert code == 0 and "1 entry queued for crm" in out
    assert run(capsys, "sync", "--target", "mailchimp")[0] == 1
    run(capsys, "push")
    assert app.events[-1]["action"] == "forget" and app.events[-1]["sha256"] == address_hash("jonas@example.se")
    assert run(capsys, "status")[0] == 0


def test_usage_errors_name_what_is_missing(env, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "add")
    assert code == 2 and "give an ADDRESS" in err and "usage: inboxbot suppress add" in err
    code, _, err = run(capsys, "forget", "x@example.org", "--reason", "   ")
    assert code == 2 and "--reason is required" in err
