"""`inboxbot config check`: is this configuration going to work? One PASS/FAIL line per item.

Validates the file, then tries everything the worker will need, without changing anything:
IMAP login and SELECT of every folder, the SMTP server (EHLO, STARTTLS and login as
configured; nothing is sent), the database (connects, reads the schema state; migrations are
not applied), the classifier's files, and the reply templates for every reply language.

Exit status 0 when every item passed, 1 otherwise. Secrets are never printed; addresses in
server answers are redacted as in the log.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from inboxbot.config import MailboxSettings, Settings, TransportSettings, load_settings
from inboxbot.errors import InboxbotError
from inboxbot.logs import redact_text

CONNECT_TIMEOUT = 15.0  # seconds: a check should say "unreachable" soon, not after a minute
REPLY_TEMPLATES = ("ack.txt.j2", "escalation.txt.j2", "reminder.txt.j2", "extension.txt.j2")
DIGEST_TEMPLATES = ("digest.txt.j2", "digest.html.j2")


@dataclass(frozen=True)
class Check:
    item: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.item}: {self.detail}"


async def _attempt(item: str, work: Awaitable[str]) -> Check:
    """Run one check; any error becomes a FAIL line with its message."""
    try:
        return Check(item, True, await work)
    except (InboxbotError, OSError, TimeoutError) as exc:
        return Check(item, False, redact_text(str(exc)) or type(exc).__name__)


async def _imap(mb: MailboxSettings, folder: str) -> str:
    from inboxbot.source.imap import ImapFolder

    box = ImapFolder(mb, folder, timeout=CONNECT_TIMEOUT)
    try:
        status = await box.open()
        idle = "IDLE" if box.supports_idle else f"no IDLE: polls every {mb.poll_interval:.0f} s"
        return (f"logged in as {mb.username}, selected ({status.exists} messages, "
                f"uidvalidity {status.uidvalidity}, {idle})")
    finally:
        await box.close()


async def _maildir(mb: MailboxSettings) -> str:
    assert mb.path is not None
    missing = [d for d in ("cur", "new", "tmp") if not (mb.path / d).is_dir()]
    if missing:
        raise InboxbotError(f"{mb.path} is not a Maildir (no {', '.join(missing)}/)")
    return f"{mb.path} is a Maildir"


async def _transport(t: TransportSettings) -> str:
    if t.kind == "folder":
        assert t.path is not None
        t.path.mkdir(parents=True, exist_ok=True)
        probe = t.path / ".inboxbot-config-check"
        probe.write_text("")
        probe.unlink()
        return f"{t.path} is writable"
    from dataclasses import replace

    from inboxbot.transport.smtp import probe as smtp_probe

    return await smtp_probe(replace(t, timeout=min(t.timeout, CONNECT_TIMEOUT)))


async def _database(settings: Settings) -> str:
    from inboxbot.store import close_store, open_store
    from inboxbot.store.admin import redact_url
    from inboxbot.store.migrate import schema_state

    url = settings.db_url
    try:
        # Not under wait_for: tortoise keeps its connections in a context variable, which a
        # task of its own would keep to itself.
        await open_store(url, create=False)
        state = await schema_state(url)
    except InboxbotError:
        raise
    except Exception as exc:  # noqa: BLE001 - unreachable, wrong password, no such database
        raise InboxbotError(f"{redact_url(url)}: {type(exc).__name__}: {exc}") from None
    finally:
        await close_store()
    where = f"{redact_url(url)} ({state.dialect})"
    if state.unknown:
        raise InboxbotError(f"{where}: upgraded by a newer inboxbot ({', '.join(state.unknown)})")
    if state.pending and (state.applied or state.has_tables):
        raise InboxbotError(f"{where}: {len(state.pending)} migration(s) pending; back up, then "
                            "run `inboxbot db upgrade`")
    if state.pending:
        return f"{where}: empty; the first `run` creates the schema"
    return f"{where}: schema current ({len(state.applied)} migrations)"


async def _classifier(settings: Settings) -> str:
    c = settings.classifier
    lexicons = sorted(p.stem for p in (settings.prompts_dir / "lexicon").glob("*.toml"))
    if not lexicons:
        raise InboxbotError(f"no rule lexicons in {settings.prompts_dir / 'lexicon'}")
    if c.kind == "rules":
        return f"rules, lexicons for {len(lexicons)} languages"
    if not (c.model_path / "config.json").is_file():
        raise InboxbotError(f"no encoder at {c.model_path} (scripts/build_encoder.py builds it)")
    if not c.head_path.is_file():
        raise InboxbotError(f"no trained head at {c.head_path}")
    # Load it and classify one message: files that exist but do not load are a failure too.
    import asyncio

    from inboxbot.classify import make_classifier
    from inboxbot.parse import parse

    probe = parse(b"From: a@example.se\r\nSubject: Radera mina uppgifter\r\n\r\nRadera mina uppgifter, tack.\r\n")
    verdict = (await asyncio.to_thread(lambda: make_classifier(settings).classify([probe])))[0]
    return (f"model at {c.model_path} loads and runs (probe: {verdict.label}), head "
            f"{c.head_path.name}, lexicons for {len(lexicons)} languages")


async def _templates(settings: Settings, folder: str, lang: str, names: tuple[str, ...]) -> str:
    from jinja2 import Environment, FileSystemLoader, TemplateError

    base = settings.prompts_dir / folder / lang
    missing = [n for n in names if not (base / n).is_file()]
    if missing:
        raise InboxbotError(f"missing in {base}: {', '.join(missing)}")
    env = Environment(loader=FileSystemLoader(str(settings.prompts_dir)))
    files = sorted(p for p in base.rglob("*.j2"))
    for path in files:  # parse each one: a syntax error should show now, not at the first reply
        try:
            env.get_template(path.relative_to(settings.prompts_dir).as_posix())
        except TemplateError as exc:
            raise InboxbotError(f"{path}: {exc}") from None
    return f"{len(files)} templates in {base}"


async def run_checks(settings: Settings) -> list[Check]:
    """Every check for a loaded configuration, in the order they print."""
    checks: list[Check] = []
    for mb in settings.mailboxes:
        if mb.kind == "maildir":
            checks.append(await _attempt(f"maildir {mb.name}", _maildir(mb)))
            continue
        for folder in mb.folders:
            where = f"imap {mb.name}/{folder} ({mb.host}:{mb.port}, {mb.security})"
            checks.append(await _attempt(where, _imap(mb, folder)))
    t = settings.transport
    what = f"smtp {t.host}:{t.port} ({t.security})" if t.kind == "smtp" else "outgoing folder"
    checks.append(await _attempt(what, _transport(t)))
    checks.append(await _attempt("database", _database(settings)))
    checks.append(await _attempt(f"classifier ({settings.classifier.kind})", _classifier(settings)))
    for lang in settings.organisation.languages:
        checks.append(await _attempt(f"reply templates [{lang}]",
                                     _templates(settings, "replies", lang, REPLY_TEMPLATES)))
    if settings.digest.enabled:
        lang = settings.digest.language or settings.organisation.languages[0]
        checks.append(await _attempt(f"digest templates [{lang}]",
                                     _templates(settings, "digest", lang, DIGEST_TEMPLATES)))
    return checks


async def check_command(path: Path) -> int:
    """Load `path`, run every check, print one line each; 0 when all passed, else 1."""
    try:
        settings = load_settings(path)
    except InboxbotError as exc:
        print(Check(f"config {path}", False, str(exc)).line())
        return 1
    n = len(settings.mailboxes)
    print(Check(f"config {path}", True, f"valid ({n} mailbox{'es' if n != 1 else ''}, "
                                        f"{settings.transport.kind} transport)").line())
    checks = await run_checks(settings)
    for check in checks:
        print(check.line(), flush=True)
    failed = sum(not c.ok for c in checks)
    total = len(checks) + 1  # and the file itself
    print(f"{failed} of {total} checks failed" if failed else f"all {total} checks passed")
    return 1 if failed else 0
