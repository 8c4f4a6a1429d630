"""Settings: one TOML file, validated once at start, passed in everywhere (never global).

Secrets never live in the TOML: a key ending in `_env` names an environment variable, one ending in
`_file` names a file, and one ending in `_credential` names a systemd credential (read from
$CREDENTIALS_DIRECTORY). Errors name the bad key and say what was expected.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inboxbot.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROMPTS = REPO_ROOT / "prompts"

Security = Literal["tls", "starttls", "plain"]


@dataclass(frozen=True)
class Secret:
    """A secret value that never prints itself."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Authority:
    name: str = "Integritetsskyddsmyndigheten (IMY)"
    url: str = "https://www.imy.se"
    address: str = "Box 8114, 104 20 Stockholm"
    email: str = "imy@imy.se"


@dataclass(frozen=True)
class Organisation:
    name: str = "Example AB"
    legal_name: str = "Example AB"
    org_number: str = ""
    country: str = "SE"
    timezone: str = "Europe/Stockholm"
    languages: tuple[str, ...] = ("sv", "en")  # reply languages; the first is the fallback
    domain: str = "example.com"  # our Message-IDs are <...@domain>
    reply_from: str = "privacy@example.com"
    dpo_email: str = "dpo@example.com"
    escalation_emails: tuple[str, ...] = ()
    reference_prefix: str = "PRIV"
    authority: Authority = field(default_factory=Authority)
    sends_marketing: bool = True
    transactional_mail_continues: bool = False
    policy_notes: tuple[str, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class MailboxSettings:
    """One IMAP account or one Maildir to watch."""

    name: str
    kind: Literal["imap", "maildir"] = "imap"
    host: str = "localhost"
    port: int = 993
    security: Security = "tls"
    username: str = ""
    password: Secret | None = None
    folders: tuple[str, ...] = ("INBOX",)
    path: Path | None = None  # maildir only
    idle: bool = True  # use IDLE where the server offers it
    poll_interval: float = 60.0  # seconds between polls when IDLE is off or missing
    idle_timeout: float = 25 * 60.0  # re-issue IDLE before the 29-minute limit of RFC 2177
    verify_tls: bool = True
    ca_file: Path | None = None
    allow_plain_login: bool = False  # plain-text login off loopback only when set
    fetch_batch: int = 200
    done_keyword: str = "$InboxbotDone"


@dataclass(frozen=True)
class TransportSettings:
    kind: Literal["smtp", "folder"] = "smtp"
    host: str = "localhost"
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: Secret | None = None
    verify_tls: bool = True
    ca_file: Path | None = None
    path: Path | None = None  # folder transport: where .eml files are written
    timeout: float = 30.0


@dataclass(frozen=True)
class ReplySettings:
    enabled: bool = True
    max_per_sender_per_day: int = 3
    max_per_domain_per_hour: int = 20
    max_per_hour: int = 200
    grace_days: int = 0  # not used yet: reserved for a per-sender grace period


@dataclass(frozen=True)
class DeadlineSettings:
    rights_months: int = 1
    extension_months: int = 2
    internal_target_business_days: int = 10  # complaints and general questions
    extra_non_working_days: tuple[str, ...] = ("midsummer_eve", "christmas_eve", "new_years_eve")
    reminder_days: tuple[int, ...] = (7, 2)


@dataclass(frozen=True)
class ClassifierSettings:
    kind: Literal["rules", "model"] = "rules"
    model_path: Path | None = None
    review_threshold: float = 0.55


@dataclass(frozen=True)
class Settings:
    organisation: Organisation = field(default_factory=Organisation)
    mailboxes: tuple[MailboxSettings, ...] = ()
    transport: TransportSettings = field(default_factory=TransportSettings)
    replies: ReplySettings = field(default_factory=ReplySettings)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    database_url: str = ""  # empty: sqlite file in state_dir
    state_dir: Path = Path("state")
    prompts_dir: Path = DEFAULT_PROMPTS
    outbox_interval: float = 5.0

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.state_dir / 'inboxbot.sqlite3').resolve()}"
