"""A full pass over real servers with DEBUG logging: no body text and no unredacted address in
the logs.

The sample mailbox goes into Dovecot, the worker runs as `run --once` would and sends its
acknowledgements to aiosmtpd. Logs are captured twice: by caplog at DEBUG (every record that
reaches the root logger, before any filter), and through the CLI's own configuration
(`inboxbot.logs.configure("DEBUG")`, what an operator sees on stderr). The SMTP server runs in
this process for the test, but its "mail.log" records are the receiving side's, not ours, and
are left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from inboxbot.logs import configure
from inboxbot.parse import parse
from rig import Dovecot, MailUser, RecordingSMTP
from tests.test_e2e_imap import append_all, make_settings, run_once, sample_files, store  # noqa: F401

pytestmark = pytest.mark.integration

_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def distinctive_sentences(raw: bytes) -> list[str]:
    """Up to three of the longest sentences of a message's body: text only the body holds."""
    body = parse(raw).body
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", body)]
    return sorted((s for s in sentences if len(s) >= 30), key=len, reverse=True)[:3]


@pytest.fixture
def cli_logging(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in
             ("tortoise", "aiosqlite", "asyncio", "imapclient", "mail.log")}
    configure("DEBUG")
    yield capfd
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)


async def test_debug_logs_hold_no_body_text_and_no_address(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path,  # noqa: F811
    cli_logging: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("inboxbot").setLevel(logging.DEBUG)
    files = sample_files()
    append_all(dovecot, mailbox_user, files)
    settings = make_settings(dovecot, mailbox_user, smtp_server, store)
    await run_once(settings)
    assert len(smtp_server.messages) > 20  # the pass really ran

    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(r.levelno == logging.DEBUG for r in ours) or len(ours) > 10
    captured = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in ours)
    stderr = "\n".join(line for line in cli_logging.readouterr().err.splitlines()
                       if " mail.log: " not in line)
    assert "inboxbot" in stderr  # the CLI's handler saw the run too
    for where, text in (("caplog", captured), ("stderr", stderr)):
        for f in files:
            for sentence in distinctive_sentences(f.read_bytes()):
                assert sentence not in text, f"{where}: body text of {f.name} logged: {sentence!r}"
        unredacted = [a for a in _ADDRESS.findall(text) if "***@" not in a]
        assert not unredacted, f"{where}: unredacted addresses logged: {sorted(set(unredacted))[:5]}"
    # The net holds: a body sentence logged at DEBUG by a pipeline module would have been seen.
    assert sum(1 for f in files if distinctive_sentences(f.read_bytes())) >= len(files) - 5
    probe = distinctive_sentences(files[0].read_bytes())[0]
    logging.getLogger("inboxbot.pipeline").debug("probe: %s", probe)
    assert probe in caplog.text and probe in cli_logging.readouterr().err
