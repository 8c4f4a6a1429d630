"""A TOML configuration for the operations tests (systemd, metrics, backfill, config check),
pointing at the rig's Dovecot users and RecordingSMTP. Passwords go through the environment,
as an operator's would (password_env), never into the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rig import Dovecot, MailUser

REPO = Path(__file__).resolve().parent.parent


def password_var(index: int) -> str:
    return f"INBOXBOT_TEST_PW_{index}"


def write_config(path: Path, dovecot: Dovecot, users: Sequence[MailUser], *, smtp_port: int | None,
                 db_url: str = "", extra: str = "", idle_timeout: float = 5.0) -> dict[str, str]:
    """Write the config; return the environment variables that carry the passwords."""
    boxes = []
    env = {}
    for i, user in enumerate(users):
        mb = dovecot.mailbox_settings(user.name, security="tls")
        env[password_var(i)] = user.password
        boxes.append(f"""
[[mailbox]]
name = "box{i}"
host = "{mb.host}"
port = {mb.port}
security = "tls"
username = "{user.name}"
password_env = "{password_var(i)}"
ca_file = "{mb.ca_file}"
idle_timeout = {idle_timeout}
""")
    transport = (f'kind = "smtp"\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "plain"'
                 if smtp_port else f'kind = "folder"\npath = "{path.parent / "outgoing"}"')
    store = f'url = "{db_url}"' if db_url else f'state_dir = "{path.parent / "state"}"'
    path.write_text(f"""
[organisation]
name = "Example AB"
domain = "example.com"
reply_from = "privacy@example.com"
dpo_email = "dpo@example.com"
{"".join(boxes)}
[transport]
{transport}

[store]
{store}

[worker]
outbox_interval = 0.2

{extra}
""", encoding="utf-8")
    return env


def write_maildir_config(tmp_path: Path, messages: Sequence[bytes]) -> Path:
    """A Maildir under `tmp_path` holding `messages` (new, in order), and a configuration that
    reads it, writes mail into a folder and keeps its store beside them: a whole worker without
    servers. Returns the configuration's path."""
    maildir = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n, raw in enumerate(messages):
        (maildir / "new" / f"{n}.msg").write_bytes(raw)
    config = tmp_path / "inboxbot.toml"
    config.write_text(f"""
[[mailbox]]
name = "local"
kind = "maildir"
path = "{maildir}"

[transport]
kind = "folder"
path = "{tmp_path / 'out'}"

[store]
state_dir = "{tmp_path / 'state'}"
""")
    return config
