"""Configuration: validated once, errors name the key, secrets never come from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxbot.config import ConfigError, Secret, load_settings, settings_from_dict

GOOD = """
[organisation]
name = "Qlocx AB"
country = "SE"
timezone = "Europe/Stockholm"
languages = ["sv", "en"]
domain = "qlocx.example"
reply_from = "privacy@qlocx.example"
dpo_email = "dpo@qlocx.example"

[organisation.authority]
name = "Integritetsskyddsmyndigheten"

[[mailbox]]
name = "privacy"
host = "imap.qlocx.example"
username = "privacy@qlocx.example"
password_env = "QLOCX_IMAP_PASSWORD"

[transport]
host = "smtp.qlocx.example"
security = "starttls"

[replies]
max_per_sender_per_day = 2
"""


def test_good_config_loads(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(GOOD)
    s = load_settings(f, environ={"QLOCX_IMAP_PASSWORD": "hunter2"})
    assert s.organisation.name == "Qlocx AB"
    assert s.mailboxes[0].port == 993  # tls default
    assert s.mailboxes[0].password == Secret("hunter2")
    assert s.transport.port == 587
    assert s.replies.max_per_sender_per_day == 2
    assert s.db_url == f"sqlite://{(tmp_path / 'state' / 'inboxbot.sqlite3').resolve()}"
    # the secret never shows in a repr (logs, tracebacks)
    assert "hunter2" not in repr(s)


@pytest.mark.parametrize(
    ("data", "env", "message"),
    [
        ({"mailbox": [{"name": "p", "username": "u", "port": "x"}]}, {}, "mailbox[0].port: expected an integer"),
        ({"mailbox": [{"name": "p", "username": "u", "port": 70000}]}, {}, "mailbox[0].port"),
        ({"mailbox": [{"name": "p", "username": "u", "password": "pw"}]}, {}, "mailbox[0].password: secrets may not"),
        ({"mailbox": [{"name": "p", "username": "u", "password_env": "NOPE"}]}, {}, "NOPE is not set"),
        ({"mailbox": [{"name": "p", "username": "u", "security": "ssl"}]}, {}, "mailbox[0].security: expected one of"),
        ({"mailbox": [{"name": "p", "kind": "maildir"}]}, {}, "mailbox[0].path"),
        ({"mailbox": [{"name": "p", "username": "u"}, {"name": "p", "username": "v"}]}, {}, "share a name"),
        ({"organisation": {"timezone": "Mars/Olympus"}}, {}, "organisation.timezone"),
        ({"organisation": {"dpo_email": "nobody"}}, {}, "organisation.dpo_email"),
        ({"organisation": {"languages": []}}, {}, "organisation.languages"),
        ({"organisatio": {}}, {}, "organisatio: unknown key"),
        ({"replies": {"max_per_sender_per_day": True}}, {}, "replies.max_per_sender_per_day"),
        ({"store": {"url": "mysql://x"}}, {}, "store.url"),
        ({"classifier": {"review_threshold": 3}}, {}, "classifier.review_threshold"),
        ({"classifier": {"encoder_process": "yes"}}, {}, "classifier.encoder_process"),
        ({"mailbox": [{"name": "p", "username": "u", "idle_timeout": 3600}]}, {}, "29 minutes"),
        ({"organisation": {"rights": ["access", "forgetting"]}}, {}, "organisation.rights: 'forgetting'"),
        ({"organisation": {"rights": ["unsubscribe"]}}, {}, "organisation.rights: 'unsubscribe'"),
        ({"organisation": {"retention_years": -1}}, {}, "organisation.retention_years"),
        ({"organisation": {"retention_after": "forever"}}, {}, "organisation.retention_after: expected one of"),
        ({"organisation": {"disputes_body": 3}}, {}, "organisation.disputes_body: expected a string"),
        ({"mailbox": [{"name": "p", "username": "u", "intents": ["deletion"]}]}, {}, "mailbox[0].intents: 'deletion'"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(data, environ=env)
    assert message in str(err.value)


def test_the_worker_runs_its_encoder_in_a_process_of_its_own_unless_told_not_to() -> None:
    assert settings_from_dict({}).classifier.encoder_process is True
    assert settings_from_dict({"classifier": {"encoder_process": False}}).classifier.encoder_process is False


def test_secret_from_file_and_credential(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    s = settings_from_dict({"mailbox": [{"name": "p", "username": "u", "password_file": str(tmp_path / "pw")}]})
    assert s.mailboxes[0].password == Secret("s3cret")
    s = settings_from_dict(
        {"mailbox": [{"name": "p", "username": "u", "password_credential": "pw"}]},
        environ={"CREDENTIALS_DIRECTORY": str(tmp_path)},
    )
    assert s.mailboxes[0].password == Secret("s3cret")
    with pytest.raises(ConfigError, match="CREDENTIALS_DIRECTORY"):
        settings_from_dict({"mailbox": [{"name": "p", "username": "u", "password_credential": "pw"}]}, environ={})


def test_not_toml(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[organisation\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(f)
