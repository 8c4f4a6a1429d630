"""`inboxbot demo`: the bundled sample mailbox through the real pipeline, into a folder.

The sample Maildir is copied, read by the Maildir source, and answered through the folder
transport: exactly the same pipeline as IMAP and SMTP, with nothing to install or configure.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import shutil
from pathlib import Path

from inboxbot.config import Settings, load_settings
from inboxbot.pipeline import Outcome

SAMPLE = Path(__file__).resolve().parent / "sample_mailbox"
MARKER = ".inboxbot-demo"


DEMO_CONFIG = """\
# Written by `inboxbot demo`. Use it to look around:
#   inboxbot -c {out}/inboxbot.toml tickets list
#   inboxbot -c {out}/inboxbot.toml suppress list
[organisation]
name = "Example AB"
org_number = "556000-0000"
domain = "example.com"
reply_from = "privacy@example.com"
dpo_email = "dpo@example.com"

[[mailbox]]
name = "privacy"
kind = "maildir"
path = "mailbox"

[transport]
kind = "folder"
path = "outbox"

[store]
state_dir = "."
"""


def demo_settings(out: Path) -> Settings:
    return load_settings(out / "inboxbot.toml")


def demo_config(out: Path, profile: str | None = None) -> str:
    """The demo folder's config: Example AB, or the named profile with its mailboxes, transport
    and marketing systems replaced by files in the demo folder (see inboxbot.profiles)."""
    if profile is None:
        return DEMO_CONFIG.format(out=out)
    from inboxbot.profiles import demo_profile, profile_path, read_profile, to_toml

    head = (f"# Written by `inboxbot demo --profile {profile}` from {profile_path(profile)}:\n"
            "# the same organisation, with a Maildir, a folder transport and file marketing targets.\n"
            f"#   inboxbot -c {out}/inboxbot.toml tickets list\n")
    return head + to_toml(demo_profile(read_profile(profile)))


def prepare(out: Path, sample: Path = SAMPLE, profile: str | None = None) -> None:
    """A fresh copy of the sample mailbox. Refuses to clear a folder that is not an old demo."""
    config = demo_config(out, profile)  # an unknown profile fails before anything is touched
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise SystemExit(f"inboxbot demo: {out} exists and is not a demo folder; choose --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("created by inboxbot demo; safe to delete\n")
    (out / "inboxbot.toml").write_text(config)
    box = out / "mailbox"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    for src in sorted((sample / "new").iterdir()):
        if src.name.startswith("."):
            continue
        dst = box / "new" / src.name
        shutil.copyfile(src, dst)
        # Receipt time is the file's delivery time; make it the message's own date so the
        # demo's due dates look like those of real mail, not of the moment of checkout.
        msg = email.message_from_bytes(src.read_bytes(), policy=email.policy.compat32)
        try:
            stamp = email.utils.parsedate_to_datetime(str(msg["Date"])).timestamp()
            os.utime(dst, (stamp, stamp))
        except (TypeError, ValueError):
            pass


def print_table(outcomes: list[Outcome]) -> None:
    header = f"{'#':>2}  {'lang':<4} {'label':<19} {'also':<20} {'outcome':<11} {'ticket':<17} {'ack':<4} note"
    print(header)
    print("-" * len(header))
    for n, o in enumerate(outcomes, 1):
        also = ",".join(i for i in o.intents[1:])[:20]
        note = "" if o.acknowledged else (o.withheld or "")
        if o.suppressed:
            note = ("suppressed; " + note).rstrip("; ")
        print(f"{n:>2}  {o.language:<4} {o.label:<19} {also:<20} {o.outcome:<11} {o.ticket or '-':<17} "
              f"{'yes' if o.acknowledged else 'no':<4} {note[:60]}")


async def run_demo(out: Path, profile: str | None = None) -> int:
    from inboxbot.classify import close_classifiers, make_classifier
    from inboxbot.pipeline import Processor
    from inboxbot.store import close_store, open_store
    from inboxbot.store.models import Suppression, Ticket
    from inboxbot.transport import make_transport
    from inboxbot.worker import Worker

    prepare(out, profile=profile)
    settings = demo_settings(out)
    await open_store(settings.db_url)
    try:
        worker = Worker(settings, Processor(settings, make_classifier(settings, worker=True)),
                        make_transport(settings.transport))
        report = await worker.run(once=True)
        tickets = await Ticket.all().count()
        suppressions = await Suppression.all().count()
    finally:
        close_classifiers()
        await close_store()
    print_table(report.outcomes)
    acks = sum(1 for o in report.outcomes if o.acknowledged)
    print()
    print(f"{len(report.outcomes)} messages: {tickets} tickets, {suppressions} suppressions, "
          f"{acks} acknowledgements, {report.sent} mails written to {out / 'outbox'}")
    print(f"database: {settings.db_url}")
    print(f"look around: inboxbot -c {out / 'inboxbot.toml'} tickets list")
    return 0
