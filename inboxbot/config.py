"""Settings: one TOML file, validated once at start, passed in everywhere (never global).

Secrets never live in the TOML: a key ending in `_env` names an environment variable, one ending in
`_file` names a file, and one ending in `_credential` names a systemd credential (read from
$CREDENTIALS_DIRECTORY). Errors name the bad key and say what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inboxbot.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROMPTS = REPO_ROOT / "prompts"
DEFAULT_MODEL = REPO_ROOT / ".models" / "e5-small"
DEFAULT_HEAD = Path(__file__).resolve().parent / "classify" / "data" / "head.npz"

Security = Literal["tls", "starttls", "plain"]
AuthMethod = Literal["password", "xoauth2", "oauthbearer"]
AUTH_METHODS: tuple[str, ...] = ("password", "xoauth2", "oauthbearer")
OAuthFlow = Literal["client_credentials", "refresh_token"]
OAUTH_FLOWS: tuple[str, ...] = ("client_credentials", "refresh_token")


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


# Every GDPR right an inbox request can name; a profile lists those its policy names.
RIGHTS_OFFERED_DEFAULT: tuple[str, ...] = (
    "access", "rectification", "erasure", "restriction", "objection", "portability",
    "consent_withdrawal",
)
RetentionStart = Literal["last_contact", "relationship_end"]
RETENTION_STARTS: tuple[str, ...] = ("last_contact", "relationship_end")


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
    # What the privacy policy itself promises, so that replies never claim more or less.
    rights: tuple[str, ...] = RIGHTS_OFFERED_DEFAULT  # rights intents the policy names
    retention_years: int = 0  # 0: the policy states no period for contact data
    retention_after: RetentionStart = "last_contact"  # what the period counts from
    disputes_body: str = ""  # a named body that settles formal disputes (e.g. an arbitration rule)
    postal_address: str = ""  # where to write to the controller or its DPO

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class OAuthSettings:
    """Where an IMAP or SMTP login gets its OAuth 2.0 access token (`[mailbox.oauth]`,
    `[transport.oauth]`). inboxbot/oauth.py does the asking; this is only what to ask."""

    flow: OAuthFlow
    token_url: str
    client_id: str
    client_secret: Secret | None = None
    refresh_token: Secret | None = None  # the refresh_token flow's starting token
    scope: str = ""  # empty: sent without a scope (the grant's own)
    refresh_margin: float = 300.0  # fetch a new token when less than this many seconds remain
    timeout: float = 30.0  # seconds per token request
    # Where a refresh token the server rotated is kept (0600), under state_dir; set by the loader.
    store: Path | None = None


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
    # A shared mailbox (support@) where only some requests are ours: handle mail with one of
    # these intents (or a follow-up to one of our tickets) and leave the rest alone. Empty: all.
    intents: tuple[str, ...] = ()
    timeout: float = 60.0  # socket connect/read timeout: a server that stops answering is dropped
    idle_probe: float = 300.0  # this long without a word during IDLE: check the server still answers
    auth: AuthMethod = "password"  # or SASL XOAUTH2 / OAUTHBEARER with a token from `oauth`
    oauth: OAuthSettings | None = None


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
    allow_plain_login: bool = False  # AUTH without TLS to a host off loopback only when set
    auth: AuthMethod = "password"  # as MailboxSettings.auth
    oauth: OAuthSettings | None = None


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
class VerificationSettings:
    """Identity checks (Art. 12(6)) before acting on a request."""

    intents: tuple[str, ...] = ("access", "erasure", "portability", "rectification")
    clock_pauses: bool = False  # the safe reading of Art. 12(3): the month runs on meanwhile


@dataclass(frozen=True)
class RetentionSettings:
    closed_ticket_days: int = 3 * 365  # then bodies and addresses go; statistics stay
    duplicate_window_days: int = 14  # the same person, the same request, within this: a duplicate


@dataclass(frozen=True)
class ClassifierSettings:
    """`model`: rules in front, the multilingual encoder and trained head behind (the default);
    `rules`: the phrase lexicons alone (no PyTorch needed)."""

    kind: Literal["rules", "model"] = "model"
    model_path: Path = DEFAULT_MODEL  # the encoder folder built by scripts/build_encoder.py
    head_path: Path = DEFAULT_HEAD  # the trained head, committed beside the code
    review_threshold: float = 0.55
    # How the encoder runs: `onnx` (the int8 graph scripts/export_encoder.py writes into
    # model_path; no torch in the process), `transformers` (the reference, in torch), or `auto`:
    # onnx where the graph was built, else transformers.
    runtime: Literal["auto", "onnx", "transformers"] = "auto"
    # Threads the encoder may use. The worker stores one batch on its main thread while the
    # next is classified: with one encoder thread the two never fight over a core (run --once
    # on 2 cores: 134 msg/s with 1 thread, 102 with 2). Raise it for `classify`/`eval` on a
    # machine with cores to spare.
    threads: int = 1
    # The worker runs the encoder in a child process, where the model does not share a GIL
    # with the store and the outbox (run --once on 2 cores: 190.4 vs 176.2 msg/s). Off: in the
    # worker's own process, one interpreter less (about 55 MB).
    encoder_process: bool = True


MarketingKind = Literal["webhook", "file", "listmonk", "pardot", "brevo"]
MARKETING_KINDS: tuple[str, ...] = ("webhook", "file", "listmonk", "pardot", "brevo")


@dataclass(frozen=True)
class MarketingTarget:
    """One marketing system (or export) that must learn of every suppression. `[[marketing]]`.

    `secret` is the kind's credential: the webhook's HMAC key (`secret_*`), listmonk's API token
    (`token_*`), Brevo's API key (`api_key_*`), Pardot's access token (`access_token_*`, or
    leave it out and give `token_url`, `client_id` and `client_secret_*` for the OAuth
    client-credentials flow). `lists` maps our scope names to the system's list ids.
    """

    name: str
    kind: MarketingKind
    url: str = ""
    secret: Secret | None = None
    username: str = ""  # listmonk API user
    hashed_only: bool = False  # webhook and file: send and keep the SHA-256, never the address
    lists: tuple[tuple[str, str], ...] = ()  # (scope, list id)
    path: Path | None = None  # file
    format: Literal["csv", "json"] = "csv"  # file
    business_unit_id: str = ""  # pardot: the Pardot-Business-Unit-Id header
    token_url: str = ""  # pardot: OAuth token endpoint (client-credentials flow)
    client_id: str = ""
    client_secret: Secret | None = None
    timeout: float = 10.0  # seconds per HTTP request

    def list_id(self, scope: str) -> str | None:
        """The system's list id for a named scope, or None (the scope is applied as 'all')."""
        return dict(self.lists).get(scope)


@dataclass(frozen=True)
class SuppressionSettings:
    # Domains whose mailboxes ignore "+tag" (anna+news@ is anna@): folded before hashing.
    fold_plus_domains: frozenset[str] = frozenset()
    # Our own List-Unsubscribe mailto addresses (RFC 2369): mail to them asks to unsubscribe.
    list_unsubscribe_addresses: tuple[str, ...] = ()


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DigestSettings:
    """The weekly digest to the DPO: when (local wall-clock time), to whom, in which language."""

    enabled: bool = True
    weekday: str = "monday"  # one of WEEKDAYS
    time: str = "08:00"  # HH:MM, 24-hour
    timezone: str = ""  # empty: the organisation's time zone
    recipients: tuple[str, ...] = ()  # empty: the organisation's dpo_email
    language: str = ""  # empty: the organisation's first language

    @property
    def weekday_index(self) -> int:
        """Monday is 0, as in date.weekday()."""
        return WEEKDAYS.index(self.weekday)

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, _, minute = self.time.partition(":")
        return int(hour), int(minute)


@dataclass(frozen=True)
class SecuritySettings:
    """`[security]`: whose word about the sender's domain we take (RFC 8601), and what then.

    Only `Authentication-Results` headers starting with one of `trusted_authserv_ids` count.
    With none named, senders are not judged at all. Mail whose From: domain a trusted server
    did not authenticate is flagged for review and, unless `ack_unauthenticated`, gets no
    acknowledgement: that would be backscatter to whoever was forged.
    """

    trusted_authserv_ids: tuple[str, ...] = ()
    ack_unauthenticated: bool = False


@dataclass(frozen=True)
class MetricsSettings:
    """`[metrics]`: Prometheus metrics and /healthz on a local port. Off unless `listen` is set."""

    listen: str = ""  # "127.0.0.1:9464"; empty: no HTTP server, counters cost nothing
    # /healthz answers 503 when a mailbox has gone this long without a successful fetch. Longer
    # than any mailbox's idle_timeout: a quiet IDLE connection checks in once per idle_timeout.
    stale_after_minutes: float = 30.0
    refresh_seconds: float = 15.0  # how often the worker reads gauges from the store

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Settings:
    organisation: Organisation = field(default_factory=Organisation)
    mailboxes: tuple[MailboxSettings, ...] = ()
    transport: TransportSettings = field(default_factory=TransportSettings)
    replies: ReplySettings = field(default_factory=ReplySettings)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    verification: VerificationSettings = field(default_factory=VerificationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    database_url: str = ""  # empty: sqlite file in state_dir
    state_dir: Path = Path("state")
    prompts_dir: Path = DEFAULT_PROMPTS
    outbox_interval: float = 5.0
    # An outbox item claimed for sending is its worker's for this long; after a crash mid-send
    # it is sent again (same Message-ID) once this has passed. Longer than one SMTP transaction.
    sending_timeout: float = 120.0
    suppression: SuppressionSettings = field(default_factory=SuppressionSettings)
    marketing: tuple[MarketingTarget, ...] = ()
    lease_ttl: float = 45.0  # seconds a worker holds a mailbox without renewing (store/lease.py)
    worker_id: str = ""  # empty: "host:pid"
    security: SecuritySettings = field(default_factory=SecuritySettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.state_dir / 'inboxbot.sqlite3').resolve()}"


# ---------------------------------------------------------------------------------------------
# Loading and validation. One pass over the TOML; every error names the key path.


class _Table:
    """A view of one TOML table that remembers its path and which keys were read."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path or 'config'}: expected a table, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python: refuse true/false where a number is expected.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConfigError(f"{self.key(name)}: expected {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise ConfigError(f"{self.key(name)}: expected {_kind_name(kind)}, got {value!r}")
        return value

    def string(self, name: str, default: str) -> str:
        value: str = self.get(name, str, default)
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise ConfigError(f"{self.key(name)}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = float(self.get(name, (int, float), default))
        if value < minimum:
            raise ConfigError(f"{self.key(name)}: expected a number >= {minimum}, got {value!r}")
        return value

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value: int = self.get(name, int, default)
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and <= {maximum}" if maximum is not None else ""
            raise ConfigError(f"{self.key(name)}: expected an integer >= {minimum}{upper}, got {value!r}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value: bool = self.get(name, bool, default)
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(name, list, list(default))
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.key(name)}: expected a list of strings, got {value!r}")
        return tuple(value)

    def integers(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        value = self.get(name, list, list(default))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{self.key(name)}: expected a list of integers, got {value!r}")
        return tuple(value)

    def path_value(self, name: str, base: Path) -> Path | None:
        value = self.get(name, str, None)
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (base / p)

    def table(self, name: str) -> _Table:
        self.seen.add(name)
        return _Table(self.data.get(name, {}), self.key(name))

    def secret(self, stem: str, environ: Mapping[str, str]) -> Secret | None:
        """Read `<stem>_env`, `<stem>_file` or `<stem>_credential`; refuse `<stem>` itself."""
        self.seen.add(stem)
        if stem in self.data:
            raise ConfigError(
                f"{self.key(stem)}: secrets may not be written in the config file; "
                f"use {stem}_env (an environment variable), {stem}_file or {stem}_credential"
            )
        env_name = self.get(f"{stem}_env", str, None)
        file_name = self.get(f"{stem}_file", str, None)
        cred_name = self.get(f"{stem}_credential", str, None)
        given = [n for n in (env_name, file_name, cred_name) if n is not None]
        if len(given) > 1:
            raise ConfigError(f"{self.key(stem)}: give only one of {stem}_env, {stem}_file, {stem}_credential")
        if env_name is not None:
            if env_name not in environ:
                raise ConfigError(f"{self.key(stem + '_env')}: environment variable {env_name} is not set")
            return Secret(environ[env_name])
        if file_name is not None:
            return Secret(_read_secret_file(Path(file_name), self.key(stem + "_file")))
        if cred_name is not None:
            cred_dir = environ.get("CREDENTIALS_DIRECTORY")
            if not cred_dir:
                raise ConfigError(
                    f"{self.key(stem + '_credential')}: $CREDENTIALS_DIRECTORY is not set "
                    "(use LoadCredential= in the systemd unit)"
                )
            return Secret(_read_secret_file(Path(cred_dir) / cred_name, self.key(stem + "_credential")))
        return None

    def check_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read_secret_file(path: Path, key: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None


_SECURITY = ("tls", "starttls", "plain")
_MAILBOX_INTENTS = RIGHTS_OFFERED_DEFAULT + ("unsubscribe", "complaint", "general")


def _check_intents(t: _Table, key: str, names: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for name in names:
        if name not in allowed:
            raise ConfigError(f"{t.key(key)}: {name!r} is not one of {', '.join(allowed)}")


def _organisation(t: _Table) -> Organisation:
    d = Organisation()
    a = t.table("authority")
    authority = Authority(
        name=a.string("name", d.authority.name),
        url=a.string("url", d.authority.url),
        address=a.string("address", d.authority.address),
        email=a.string("email", d.authority.email),
    )
    a.check_unknown()
    org = Organisation(
        name=t.string("name", d.name),
        legal_name=t.string("legal_name", t.data.get("name", d.legal_name)),
        org_number=t.string("org_number", d.org_number),
        country=t.string("country", d.country).upper(),
        timezone=t.string("timezone", d.timezone),
        languages=t.strings("languages", d.languages),
        domain=t.string("domain", d.domain).lower(),
        reply_from=t.string("reply_from", d.reply_from),
        dpo_email=t.string("dpo_email", d.dpo_email),
        escalation_emails=t.strings("escalation_emails", d.escalation_emails),
        reference_prefix=t.string("reference_prefix", d.reference_prefix),
        authority=authority,
        sends_marketing=t.boolean("sends_marketing", d.sends_marketing),
        transactional_mail_continues=t.boolean(
            "transactional_mail_continues", d.transactional_mail_continues
        ),
        policy_notes=t.strings("policy_notes", d.policy_notes),
        rights=t.strings("rights", d.rights),
        retention_years=t.integer("retention_years", d.retention_years, maximum=100),
        retention_after=t.choice("retention_after", RETENTION_STARTS, d.retention_after),  # type: ignore[arg-type]
        disputes_body=t.string("disputes_body", d.disputes_body),
        postal_address=t.string("postal_address", d.postal_address),
    )
    _check_intents(t, "rights", org.rights, RIGHTS_OFFERED_DEFAULT)
    try:
        ZoneInfo(org.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{t.key('timezone')}: unknown time zone {org.timezone!r}") from None
    if not org.languages:
        raise ConfigError(f"{t.key('languages')}: expected at least one reply language")
    for key, addr in (("reply_from", org.reply_from), ("dpo_email", org.dpo_email)):
        if "@" not in addr:
            raise ConfigError(f"{t.key(key)}: expected an email address, got {addr!r}")
    t.check_unknown()
    return org


def _mailbox(t: _Table, base: Path, environ: Mapping[str, str]) -> MailboxSettings:
    d = MailboxSettings(name="")
    name = t.string("name", "")
    if not name:
        raise ConfigError(f"{t.key('name')}: every mailbox needs a name")
    kind = t.choice("kind", ("imap", "maildir"), d.kind)
    security = t.choice("security", _SECURITY, d.security)
    default_port = {"tls": 993, "starttls": 143, "plain": 143}[security]
    mb = MailboxSettings(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        host=t.string("host", d.host),
        port=t.integer("port", default_port, minimum=1, maximum=65535),
        security=security,  # type: ignore[arg-type]
        username=t.string("username", d.username),
        password=t.secret("password", environ),
        folders=t.strings("folders", d.folders),
        path=t.path_value("path", base),
        idle=t.boolean("idle", d.idle),
        poll_interval=t.number("poll_interval", d.poll_interval, minimum=0.1),
        idle_timeout=t.number("idle_timeout", d.idle_timeout, minimum=1.0),
        verify_tls=t.boolean("verify_tls", d.verify_tls),
        ca_file=t.path_value("ca_file", base),
        allow_plain_login=t.boolean("allow_plain_login", d.allow_plain_login),
        fetch_batch=t.integer("fetch_batch", d.fetch_batch, minimum=1),
        done_keyword=t.string("done_keyword", d.done_keyword),
        intents=t.strings("intents", d.intents),
        timeout=t.number("timeout", d.timeout, minimum=0.1),
        idle_probe=t.number("idle_probe", d.idle_probe, minimum=0.1),
        **_auth(t, environ),
    )
    _check_intents(t, "intents", mb.intents, _MAILBOX_INTENTS)
    if mb.idle_timeout > 29 * 60:
        raise ConfigError(f"{t.key('idle_timeout')}: must be at most 1740 s (RFC 2177: re-IDLE within 29 minutes)")
    if kind == "maildir" and mb.path is None:
        raise ConfigError(f"{t.key('path')}: a maildir mailbox needs a path")
    if kind == "imap" and not mb.username:
        raise ConfigError(f"{t.key('username')}: an imap mailbox needs a username")
    t.check_unknown()
    return mb


def _transport(t: _Table, base: Path, environ: Mapping[str, str]) -> TransportSettings:
    d = TransportSettings()
    kind = t.choice("kind", ("smtp", "folder"), d.kind)
    security = t.choice("security", _SECURITY, d.security)
    default_port = {"tls": 465, "starttls": 587, "plain": 25}[security]
    tr = TransportSettings(
        kind=kind,  # type: ignore[arg-type]
        host=t.string("host", d.host),
        port=t.integer("port", default_port, minimum=1, maximum=65535),
        security=security,  # type: ignore[arg-type]
        username=t.string("username", d.username),
        password=t.secret("password", environ),
        verify_tls=t.boolean("verify_tls", d.verify_tls),
        ca_file=t.path_value("ca_file", base),
        path=t.path_value("path", base),
        timeout=t.number("timeout", d.timeout, minimum=1.0),
        allow_plain_login=t.boolean("allow_plain_login", d.allow_plain_login),
        **_auth(t, environ),
    )
    if kind == "folder" and tr.path is None:
        raise ConfigError(f"{t.key('path')}: the folder transport needs a path")
    if plain_login_refused(tr.security, tr.host, tr.password is not None, tr.allow_plain_login):
        raise ConfigError(
            f"{t.key('security')}: 'plain' would send the SMTP password unencrypted to {tr.host}; "
            "use 'tls' or 'starttls', or set transport.allow_plain_login = true"
        )
    t.check_unknown()
    return tr


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: where a password in clear never leaves the machine."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _auth(t: _Table, environ: Mapping[str, str]) -> dict[str, Any]:
    """`auth` and its `[....oauth]` table, checked together: the fields for the settings."""
    auth = t.choice("auth", AUTH_METHODS, "password")
    has_oauth = "oauth" in t.data
    if auth == "password":
        if has_oauth:
            raise ConfigError(f"{t.key('oauth')}: given, but auth is 'password'; "
                              "set auth = \"xoauth2\" or \"oauthbearer\" to use it")
        return {"auth": auth}
    if not has_oauth:
        raise ConfigError(f"{t.key('oauth')}: auth = {auth!r} needs an oauth table "
                          "(token_url, client_id, and client_secret_* or refresh_token_*)")
    if any(k.startswith("password") for k in t.data):
        raise ConfigError(f"{t.key('password')}: not used with auth = {auth!r}; remove it")
    return {"auth": auth, "oauth": _oauth(t.table("oauth"), environ)}


def _oauth(t: _Table, environ: Mapping[str, str]) -> OAuthSettings:
    secret = t.secret("client_secret", environ)
    refresh = t.secret("refresh_token", environ)
    flow = t.choice("flow", OAUTH_FLOWS, "refresh_token" if refresh is not None else "client_credentials")
    token_url = t.string("token_url", "")
    if not token_url:
        raise ConfigError(f"{t.key('token_url')}: the OAuth token endpoint is required")
    scheme, _, rest = token_url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2].rsplit(":", 1)[0] if rest else ""
    if scheme != "https" and not (scheme == "http" and is_loopback(host)):
        raise ConfigError(f"{t.key('token_url')}: expected an https:// URL (http:// only on loopback), "
                          f"got {token_url!r}")
    oauth = OAuthSettings(
        flow=flow,  # type: ignore[arg-type]
        token_url=token_url,
        client_id=t.string("client_id", ""),
        client_secret=secret,
        refresh_token=refresh,
        scope=t.string("scope", ""),
        refresh_margin=t.number("refresh_margin", 300.0),
        timeout=t.number("timeout", 30.0, minimum=1.0),
    )
    if not oauth.client_id:
        raise ConfigError(f"{t.key('client_id')}: the OAuth client (application) id is required")
    if flow == "client_credentials" and secret is None:
        raise ConfigError(f"{t.key('client_secret')}: the client_credentials flow needs "
                          "client_secret_env, client_secret_file or client_secret_credential")
    if flow == "client_credentials" and refresh is not None:
        raise ConfigError(f"{t.key('refresh_token')}: not used by the client_credentials flow; "
                          "set flow = \"refresh_token\" or remove it")
    if flow == "refresh_token" and refresh is None:
        raise ConfigError(f"{t.key('refresh_token')}: the refresh_token flow needs "
                          "refresh_token_env, refresh_token_file or refresh_token_credential")
    t.check_unknown()
    return oauth


def plain_login_refused(security: str, host: str, has_password: bool, allowed: bool) -> bool:
    """True when a login would cross the network in clear and nobody said that was fine."""
    return security == "plain" and has_password and not allowed and not is_loopback(host)


def _security(t: _Table) -> SecuritySettings:
    d = SecuritySettings()
    ids = t.strings("trusted_authserv_ids", d.trusted_authserv_ids)
    for value in ids:
        if not value.strip() or any(ch.isspace() or ch == ";" for ch in value.strip()):
            raise ConfigError(f"{t.key('trusted_authserv_ids')}: expected host names such as "
                              f"\"mx.example.com\", got {value!r}")
    security = SecuritySettings(
        trusted_authserv_ids=tuple(v.strip().lower() for v in ids),
        ack_unauthenticated=t.boolean("ack_unauthenticated", d.ack_unauthenticated),
    )
    t.check_unknown()
    return security


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "_"


def _place_token_stores(
    mailboxes: tuple[MailboxSettings, ...], transport: TransportSettings, state_dir: Path
) -> tuple[tuple[MailboxSettings, ...], TransportSettings]:
    """Give every OAuth login its own file under state_dir for a rotated refresh token."""
    folder = state_dir / "oauth"
    boxes = tuple(
        replace(m, oauth=replace(m.oauth, store=folder / f"mailbox-{_file_safe(m.name)}.json"))
        if m.oauth else m
        for m in mailboxes
    )
    if transport.oauth is not None:
        transport = replace(transport, oauth=replace(transport.oauth, store=folder / "transport.json"))
    return boxes, transport


_SECRET_STEM = {"webhook": "secret", "listmonk": "token", "brevo": "api_key", "pardot": "access_token"}
_DEFAULT_URL = {"pardot": "https://pi.pardot.com", "brevo": "https://api.brevo.com"}


def _marketing(t: _Table, base: Path, environ: Mapping[str, str]) -> MarketingTarget:
    if "kind" not in t.data:
        raise ConfigError(f"{t.key('kind')}: every marketing target needs a kind "
                          f"({', '.join(MARKETING_KINDS)})")
    kind = t.choice("kind", MARKETING_KINDS, "")
    name = t.string("name", kind)
    url = t.string("url", _DEFAULT_URL.get(kind, "")).rstrip("/")
    if kind != "file":
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{t.key('url')}: expected an http(s) URL for a {kind} target, got {url!r}")
    lists_raw = t.get("lists", dict, {})
    for scope, list_id in lists_raw.items():
        if not isinstance(list_id, (str, int)) or isinstance(list_id, bool):
            raise ConfigError(f"{t.key('lists')}.{scope}: expected a list id (string or integer)")
    stem = _SECRET_STEM.get(kind)
    target = MarketingTarget(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        url=url,
        secret=t.secret(stem, environ) if stem else None,
        username=t.string("username", "") if kind == "listmonk" else "",
        hashed_only=t.boolean("hashed_only", False) if kind in ("webhook", "file") else False,
        lists=tuple((str(k), str(v)) for k, v in lists_raw.items()),
        path=t.path_value("path", base) if kind == "file" else None,
        format=t.choice("format", ("csv", "json"), "csv") if kind == "file" else "csv",  # type: ignore[arg-type]
        business_unit_id=t.string("business_unit_id", "") if kind == "pardot" else "",
        token_url=t.string("token_url", "") if kind == "pardot" else "",
        client_id=t.string("client_id", "") if kind == "pardot" else "",
        client_secret=t.secret("client_secret", environ) if kind == "pardot" else None,
        timeout=t.number("timeout", 10.0, minimum=0.05),
    )
    if kind == "file" and target.path is None:
        raise ConfigError(f"{t.key('path')}: a file target needs a path")
    if kind == "webhook" and target.secret is None:
        raise ConfigError(f"{t.key('secret')}: a webhook needs a signing key (secret_env, secret_file "
                          "or secret_credential)")
    if kind == "listmonk" and (not target.username or target.secret is None):
        raise ConfigError(f"{t.key('username')}: listmonk needs username and token_env/_file/_credential")
    if kind == "brevo" and target.secret is None:
        raise ConfigError(f"{t.key('api_key')}: brevo needs api_key_env, api_key_file or api_key_credential")
    if kind == "pardot":
        if not target.business_unit_id:
            raise ConfigError(f"{t.key('business_unit_id')}: pardot needs the business unit id (0Uv...)")
        oauth = bool(target.token_url or target.client_id or target.client_secret)
        if oauth and (not target.token_url or not target.client_id or target.client_secret is None):
            raise ConfigError(f"{t.key('token_url')}: the OAuth flow needs token_url, client_id and "
                              "client_secret_env/_file/_credential together")
        if oauth == (target.secret is not None):
            raise ConfigError(f"{t.key('access_token')}: give either access_token_env/_file/_credential "
                              "or token_url + client_id + client_secret, not both and not neither")
    t.check_unknown()
    return target


def _suppression(t: _Table) -> SuppressionSettings:
    d = SuppressionSettings()
    domains = t.strings("fold_plus_domains", tuple(sorted(d.fold_plus_domains)))
    addresses = t.strings("list_unsubscribe_addresses", d.list_unsubscribe_addresses)
    for addr in addresses:
        if "@" not in addr:
            raise ConfigError(f"{t.key('list_unsubscribe_addresses')}: expected email addresses, got {addr!r}")
    t.check_unknown()
    return SuppressionSettings(
        fold_plus_domains=frozenset(dom.strip().lower().rstrip(".") for dom in domains),
        list_unsubscribe_addresses=tuple(a.strip().lower() for a in addresses),
    )
def _digest(t: _Table, prompts_dir: Path) -> DigestSettings:
    d = DigestSettings()
    dg = DigestSettings(
        enabled=t.boolean("enabled", d.enabled),
        weekday=t.choice("weekday", WEEKDAYS, d.weekday),
        time=t.string("time", d.time),
        timezone=t.string("timezone", d.timezone),
        recipients=t.strings("recipients", d.recipients),
        language=t.string("language", d.language),
    )
    hour, colon, minute = dg.time.partition(":")
    if not (colon and len(hour) == 2 and len(minute) == 2 and hour.isdigit() and minute.isdigit()
            and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(f"{t.key('time')}: expected HH:MM (24-hour), got {dg.time!r}")
    if dg.timezone:
        try:
            ZoneInfo(dg.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{t.key('timezone')}: unknown time zone {dg.timezone!r}") from None
    for addr in dg.recipients:
        if "@" not in addr:
            raise ConfigError(f"{t.key('recipients')}: expected email addresses, got {addr!r}")
    templates = prompts_dir / "digest"
    if dg.language and not (templates / dg.language).is_dir():
        have = sorted(p.name for p in templates.iterdir() if p.is_dir()) if templates.is_dir() else []
        raise ConfigError(f"{t.key('language')}: no digest templates for {dg.language!r} in {templates} "
                          f"(there are: {', '.join(have) or 'none'})")
    t.check_unknown()
    return dg


def _metrics(t: _Table, mailboxes: tuple[MailboxSettings, ...]) -> MetricsSettings:
    d = MetricsSettings()
    m = MetricsSettings(
        listen=t.string("listen", d.listen),
        stale_after_minutes=t.number("stale_after_minutes", d.stale_after_minutes, minimum=1.0),
        refresh_seconds=t.number("refresh_seconds", d.refresh_seconds, minimum=0.1),
    )
    if m.listen:
        host, colon, port = m.listen.rpartition(":")
        if not (colon and host and port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(f"{t.key('listen')}: expected HOST:PORT such as \"127.0.0.1:9464\", "
                              f"got {m.listen!r}")
    for mb in mailboxes:
        quiet = mb.idle_timeout if mb.idle else mb.poll_interval
        if mb.kind == "imap" and quiet >= m.stale_after_minutes * 60:
            raise ConfigError(f"{t.key('stale_after_minutes')}: must be longer than mailbox "
                              f"{mb.name!r}'s {'idle_timeout' if mb.idle else 'poll_interval'} "
                              f"({quiet:.0f} s), or /healthz fails while all is well")
    t.check_unknown()
    return m


def settings_from_dict(
    data: Mapping[str, Any], *, base: Path = Path("."), environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate a parsed TOML document. Relative paths are taken from `base` (the file's folder)."""
    env = os.environ if environ is None else environ
    root = _Table(dict(data), "")
    org = _organisation(root.table("organisation"))
    boxes_raw = root.get("mailbox", list, [])
    mailboxes = tuple(
        _mailbox(_Table(item, f"mailbox[{i}]"), base, env) for i, item in enumerate(boxes_raw)
    )
    names = [m.name for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("mailbox: two mailboxes share a name; names must be unique")
    transport = _transport(root.table("transport"), base, env)

    r = root.table("replies")
    dr = ReplySettings()
    replies = ReplySettings(
        enabled=r.boolean("enabled", dr.enabled),
        max_per_sender_per_day=r.integer("max_per_sender_per_day", dr.max_per_sender_per_day),
        max_per_domain_per_hour=r.integer("max_per_domain_per_hour", dr.max_per_domain_per_hour),
        max_per_hour=r.integer("max_per_hour", dr.max_per_hour),
        grace_days=r.integer("grace_days", dr.grace_days),
    )
    r.check_unknown()

    dl = root.table("deadlines")
    dd = DeadlineSettings()
    deadlines = DeadlineSettings(
        rights_months=dl.integer("rights_months", dd.rights_months, minimum=1, maximum=1),
        extension_months=dl.integer("extension_months", dd.extension_months, minimum=0, maximum=2),
        internal_target_business_days=dl.integer(
            "internal_target_business_days", dd.internal_target_business_days, minimum=1
        ),
        extra_non_working_days=dl.strings("extra_non_working_days", dd.extra_non_working_days),
        reminder_days=dl.integers("reminder_days", dd.reminder_days),
    )
    dl.check_unknown()

    c = root.table("classifier")
    dc = ClassifierSettings()
    classifier = ClassifierSettings(
        kind=c.choice("kind", ("rules", "model"), dc.kind),  # type: ignore[arg-type]
        model_path=c.path_value("model_path", base) or dc.model_path,
        head_path=c.path_value("head_path", base) or dc.head_path,
        review_threshold=c.number("review_threshold", dc.review_threshold),
        runtime=c.choice("runtime", ("auto", "onnx", "transformers"), dc.runtime),  # type: ignore[arg-type]
        threads=c.integer("threads", dc.threads, minimum=1, maximum=256),
        encoder_process=c.boolean("encoder_process", dc.encoder_process),
    )
    if not 0.0 <= classifier.review_threshold <= 1.0:
        raise ConfigError("classifier.review_threshold: expected a number between 0 and 1")
    c.check_unknown()

    v = root.table("verification")
    dv = VerificationSettings()
    verification = VerificationSettings(
        intents=v.strings("intents", dv.intents),
        clock_pauses=v.boolean("clock_pauses", dv.clock_pauses),
    )
    from inboxbot.domain import RIGHTS_INTENTS  # here: domain imports nothing from config

    rights = {str(i) for i in RIGHTS_INTENTS}
    for name in verification.intents:
        if name not in rights:
            raise ConfigError(f"verification.intents: {name!r} is not a rights intent ({', '.join(sorted(rights))})")
    v.check_unknown()

    rt = root.table("retention")
    drt = RetentionSettings()
    retention = RetentionSettings(
        closed_ticket_days=rt.integer("closed_ticket_days", drt.closed_ticket_days, minimum=1),
        duplicate_window_days=rt.integer("duplicate_window_days", drt.duplicate_window_days),
    )
    rt.check_unknown()

    s = root.table("store")
    database_url = s.string("url", "")
    if s.data.get("url_env"):
        env_name = s.string("url_env", "")
        if env_name not in env:
            raise ConfigError(f"store.url_env: environment variable {env_name} is not set")
        database_url = env[env_name]
    if database_url and not database_url.startswith(("sqlite://", "postgres://", "asyncpg://")):
        raise ConfigError(f"store.url: expected a sqlite:// or postgres:// URL, got {database_url.split(':')[0]}://...")
    state_dir = s.path_value("state_dir", base) or (base / "state")
    s.check_unknown()

    w = root.table("worker")
    prompts_dir = w.path_value("prompts_dir", base) or DEFAULT_PROMPTS
    outbox_interval = w.number("outbox_interval", 5.0, minimum=0.05)
    sending_timeout = w.number("sending_timeout", 120.0, minimum=0.1)
    lease_ttl = w.number("lease_ttl", 45.0, minimum=1.0)
    worker_name = w.string("worker_id", "")
    w.check_unknown()
    suppression = _suppression(root.table("suppression"))
    marketing_raw = root.get("marketing", list, [])
    marketing = tuple(
        _marketing(_Table(item, f"marketing[{i}]"), base, env) for i, item in enumerate(marketing_raw)
    )
    target_names = [m.name for m in marketing]
    if len(set(target_names)) != len(target_names):
        raise ConfigError("marketing: two targets share a name; give each a unique name")
    digest = _digest(root.table("digest"), prompts_dir)
    security = _security(root.table("security"))
    mailboxes, transport = _place_token_stores(mailboxes, transport, state_dir)
    metrics = _metrics(root.table("metrics"), mailboxes)
    root.seen.add("mailbox")
    root.check_unknown()
    return Settings(
        organisation=org,
        mailboxes=mailboxes,
        transport=transport,
        replies=replies,
        deadlines=deadlines,
        classifier=classifier,
        verification=verification,
        retention=retention,
        digest=digest,
        database_url=database_url,
        state_dir=state_dir,
        prompts_dir=prompts_dir,
        outbox_interval=outbox_interval,
        sending_timeout=sending_timeout,
        suppression=suppression,
        marketing=marketing,
        lease_ttl=lease_ttl,
        worker_id=worker_name,
        security=security,
        metrics=metrics,
    )


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate one TOML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return settings_from_dict(data, base=path.resolve().parent, environ=environ)
