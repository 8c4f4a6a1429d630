"""config/profiles/: every seed profile loads, says what its policy says, and runs as the demo."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from inboxbot import cli
from inboxbot.config import Settings, load_settings, settings_from_dict
from inboxbot.demo import demo_config
from inboxbot.errors import ConfigError
from inboxbot.profiles import (
    PROFILES_DIR,
    demo_profile,
    profile_names,
    profile_path,
    read_profile,
    to_toml,
)

SEEDS = ["axsensor", "elastx", "nexus", "qlocx", "roxen"]


def credentials(data: Any, folder: Path) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("_credential"):
                (folder / value).write_text("x")
            else:
                credentials(value, folder)
    elif isinstance(data, list):
        for item in data:
            credentials(item, folder)


def load(name: str, tmp: Path) -> Settings:
    data = read_profile(name)
    credentials(data, tmp)
    return load_settings(profile_path(name), environ={"CREDENTIALS_DIRECTORY": str(tmp)})


def test_the_five_seeds_are_there() -> None:
    assert profile_names() == SEEDS


@pytest.mark.parametrize("name", SEEDS)
def test_profile_loads_with_placeholders_and_no_secrets(name: str, tmp_path: Path) -> None:
    text = profile_path(name).read_text(encoding="utf-8")
    s = load(name, tmp_path)
    org = s.organisation
    assert org.country == "SE" and org.timezone == "Europe/Stockholm"
    assert set(org.languages) == {"sv", "en"}
    assert "IMY" in org.authority.name and org.authority.url.startswith("https://www.imy.se")
    assert s.mailboxes and all(m.host.endswith(".example") for m in s.mailboxes)
    assert s.transport.host.endswith(".example")
    assert all(m.password is not None for m in s.mailboxes)  # from a credential, not the file
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        assert key not in ("password", "client_secret", "access_token", "secret"), line
    # Every value drawn from the policy says where: the file cites the policy it came from.
    assert re.search(r"\b\d{3}_[0-9a-f]{16}\.txt\b", text)


@pytest.mark.parametrize(("name", "facts"), [
    ("roxen", {"sends_marketing": False, "disputes_body": "Stockholm Chamber of Commerce"}),
    ("axsensor", {"legal_name": "AXsensor AB", "retention_years": 7, "retention_after": "last_contact",
                  "rights": ("access", "rectification", "erasure", "portability", "consent_withdrawal",
                             "objection")}),
    ("qlocx", {"legal_name": "Qlocx AB", "org_number": "556881-4833", "reply_from": "info@qlocx.com"}),
    ("elastx", {"reply_from": "privacy@elastx.com", "retention_years": 10,
                "retention_after": "relationship_end"}),
    ("nexus", {"legal_name": "Technology Nexus Secured Business Solutions AB", "org_number": "556258-0414",
               "dpo_email": "dpo@nexusgroup.com", "transactional_mail_continues": True}),
])
def test_profile_says_what_its_policy_says(name: str, facts: dict[str, object], tmp_path: Path) -> None:
    org = load(name, tmp_path).organisation
    for key, value in facts.items():
        assert getattr(org, key) == value, key


def test_elastx_watches_privacy_and_support(tmp_path: Path) -> None:
    s = load("elastx", tmp_path)
    boxes = {m.name: m for m in s.mailboxes}
    assert boxes["privacy"].username == "privacy@elastx.com" and boxes["privacy"].intents == ()
    assert boxes["support"].username == "support@elastx.se"
    assert "erasure" in boxes["support"].intents and "general" not in boxes["support"].intents


def test_nexus_suppresses_in_pardot(tmp_path: Path) -> None:
    (target,) = load("nexus", tmp_path).marketing
    assert target.kind == "pardot" and target.client_secret is not None


def test_unknown_profile_lists_the_names() -> None:
    with pytest.raises(ConfigError) as err:
        profile_path("acme")
    assert "'acme'" in str(err.value)
    for name in SEEDS:
        assert name in str(err.value)


def test_to_toml_round_trips() -> None:
    data = {
        "organisation": {"name": 'Quote "and" å', "languages": ["sv", "en"], "flag": True, "n": 3,
                         "authority": {"name": "IMY"}},
        "mailbox": [{"name": "a", "kind": "maildir", "path": "x"}, {"name": "b", "intents": []}],
        "marketing": [{"kind": "file", "lists": {"news letter": "3"}}],
        "deadlines": {"reminder_days": [7, 2], "ratio": 0.5},
    }
    assert tomllib.loads(to_toml(data)) == data


@pytest.mark.parametrize("name", SEEDS)
def test_demo_config_keeps_the_organisation_and_replaces_the_outside_world(name: str, tmp_path: Path) -> None:
    text = demo_config(tmp_path, name)
    data = tomllib.loads(text)
    assert data["organisation"] == read_profile(name)["organisation"]
    assert [m["kind"] for m in data["mailbox"]] == ["maildir"]
    assert data["transport"] == {"kind": "folder", "path": "outbox"}
    assert all(t["kind"] == "file" for t in data.get("marketing", []))
    assert "credential" not in text and ".example" not in text.split("[organisation]")[1].split("[[mailbox]]")[1]
    s = settings_from_dict(data, base=tmp_path, environ={})  # loads with no credentials at all
    assert s.mailboxes[0].path == tmp_path / "mailbox"


def test_demo_profile_maps_pardot_to_a_file() -> None:
    out = demo_profile(read_profile("nexus"))
    assert out["marketing"] == [{"kind": "file", "name": "pardot", "path": "marketing-pardot.csv"}]


def test_demo_with_profile_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--profile", "nexus"]) == 0
    printed = capsys.readouterr().out
    assert "NEXUS-" in printed
    mails = [p.read_text(encoding="utf-8", errors="replace") for p in (out / "outbox").iterdir()]
    assert mails and all("dpo@nexusgroup.com" in m for m in mails)
    assert (out / "marketing-pardot.csv").read_text().count("\n") >= 2  # header and suppressions


def test_demo_with_unknown_profile_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--profile", "acme"]) == 2
    err = capsys.readouterr().err
    assert "unknown profile 'acme'" in err and "roxen" in err
    assert not out.exists()


def test_profiles_dir_is_in_the_repository() -> None:
    assert PROFILES_DIR.is_dir()
