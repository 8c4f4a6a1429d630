"""The systemd unit and the notify protocol.

- `systemd-analyze verify` accepts the unit with no warning, and `systemd-analyze security`
  rates its exposure below 2.5 (skipped where systemd-analyze is missing, unless
  INBOXBOT_REQUIRE_RIG=1 says it must be there: scripts/install-servers.sh installs it).
- A real worker process, given a NOTIFY_SOCKET this test owns, sends READY=1, WATCHDOG=1 and,
  on SIGTERM, STOPPING=1. In-process: the watchdog stops being fed when a worker loop dies.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import MailboxSettings, Settings, TransportSettings
from inboxbot.metrics import Metrics
from inboxbot.pipeline import Processor
from inboxbot.sdnotify import Notifier
from inboxbot.service import serve
from inboxbot.store import close_store, open_store
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser
from tests.ops_config import REPO, write_config

UNITS = sorted((REPO / "systemd").glob("*.service")) + sorted((REPO / "systemd").glob("*.timer"))
EXPOSURE_TARGET = 2.5


def systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("INBOXBOT_REQUIRE_RIG") == "1":
            pytest.fail("systemd-analyze is missing (scripts/install-servers.sh installs it)")
        pytest.skip("systemd-analyze is not installed")
    return tool


def installed_copy(unit: Path, tmp: Path) -> Path:
    """The unit as it would be installed, with ExecStart pointing at an executable that exists
    here (verify checks that the program is there; /opt/inboxbot is not)."""
    text = unit.read_text().replace("/opt/inboxbot/.venv/bin/inboxbot", f"{sys.executable} -m inboxbot.cli")
    copy = tmp / unit.name
    copy.write_text(text)
    return copy


def test_unit_keeps_its_promises() -> None:
    """What the README and the issue promise, read from the unit itself."""
    lines = [ln.strip() for ln in (REPO / "systemd" / "inboxbot.service").read_text().splitlines()]
    settings = [ln for ln in lines if ln and not ln.startswith(("#", "["))]
    keys = {ln.split("=", 1)[0] for ln in settings}
    for expected in ("Type=notify", "NotifyAccess=main", "DynamicUser=yes", "StateDirectory=inboxbot",
                     "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                     "Restart=on-failure", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                     "SystemCallFilter=@system-service"):
        assert expected in settings, expected
    assert {"WatchdogSec", "LoadCredential", "ExecStart"} <= keys
    # Upgrades are the operator's, after a backup: never implicit at start.
    assert "ExecStartPre" not in keys


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    tool = systemd_analyze()
    proc = subprocess.run([tool, "verify", str(installed_copy(unit, tmp_path))],
                          check=False, capture_output=True, text=True, timeout=60)
    # Unknown keys are only warnings (exit 0): any output at all fails the test.
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout + proc.stderr


def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:
    tool = systemd_analyze()
    unit = installed_copy(REPO / "systemd" / "inboxbot.service", tmp_path)
    proc = subprocess.run([tool, "security", "--offline=yes", "--no-pager", str(unit)],
                          check=False, capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for inboxbot\.service: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security: exposure {exposure} (target below {EXPOSURE_TARGET})")
    assert exposure < EXPOSURE_TARGET, proc.stdout


# -- the notify protocol ------------------------------------------------------------------------


def test_notifier_path_abstract_and_watchdog_pid(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify"))
        n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "3000000",
                      "WATCHDOG_PID": str(os.getpid())})
        assert n.watchdog_interval == 3.0
        assert n.ready("watching 1 mailbox\nFAKE=1")
        assert listener.recv(4096) == b"READY=1\nSTATUS=watching 1 mailbox FAKE=1"
    name = f"inboxbot-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(b"\0" + name.encode())
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).stopping()
        assert listener.recv(4096) == b"STOPPING=1\nSTATUS=stopping"
    # Outside systemd, or a watchdog meant for another process: nothing is sent or promised.
    assert not Notifier({}).ready()
    assert Notifier({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    # A socket nobody listens on: a warning, never an exception.
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")}).watchdog()


def receive_until(sock: socket.socket, want: str, deadline: float, seen: list[str], start: int = 0) -> None:
    """Append datagrams to `seen` until one from index `start` on carries `want`."""
    while not any(want in m.split("\n") for m in seen[start:]):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {want} within the time; got {seen}")
        sock.settimeout(left)
        seen.append(sock.recv(4096).decode())


@pytest.mark.integration
def test_worker_process_speaks_sd_notify(dovecot: Dovecot, mailbox_user: MailUser, tmp_path: Path) -> None:
    config = tmp_path / "inboxbot.toml"
    env = write_config(config, dovecot, [mailbox_user], smtp_port=None)
    name = f"inboxbot-notify-{uuid.uuid4().hex}"  # abstract namespace: the '@' form
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        proc = subprocess.Popen(
            [sys.executable, "-m", "inboxbot.cli", "-c", str(config), "run"], cwd=REPO,
            env={**os.environ, **env, "NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen: list[str] = []
        try:
            receive_until(sock, "READY=1", time.monotonic() + 20, seen)
            ready = next(m for m in seen if "READY=1" in m.split("\n"))
            assert "STATUS=watching 1 mailbox; 0 in outbox" in ready, ready
            n = len(seen)
            receive_until(sock, "WATCHDOG=1", time.monotonic() + 5, seen, start=n)  # after READY
            proc.send_signal(signal.SIGTERM)
            receive_until(sock, "STOPPING=1", time.monotonic() + 5, seen)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err


async def test_watchdog_starves_when_a_worker_loop_dies(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    settings = Settings(mailboxes=(MailboxSettings(name="local", kind="maildir", path=maildir,
                                                   poll_interval=0.2),),
                        transport=TransportSettings(kind="folder", path=tmp_path / "out"),
                        state_dir=tmp_path, outbox_interval=0.2)
    await open_store(settings.db_url)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    try:
        worker = Worker(settings, Processor(settings, make_classifier(settings)),
                        make_transport(settings.transport), metrics=Metrics.disabled())
        notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"})
        running = asyncio.create_task(serve(settings, worker, notifier=notifier))

        async def next_message() -> list[str]:
            return (await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)).decode().split("\n")

        healthy: list[list[str]] = []
        while not any("READY=1" in m for m in healthy) or sum("WATCHDOG=1" in m for m in healthy) < 2:
            healthy.append(await next_message())
        worker.tasks["outbox"].cancel()  # as if the loop had crashed
        after = [await next_message() for _ in range(6)]
        assert any(line.startswith("STATUS=") and "STOPPED LOOPS: outbox" in line
                   for m in after for line in m), after
        assert all("WATCHDOG=1" not in m for m in after[1:]), after  # one may have been in flight
        worker.stop.set()
        await asyncio.wait_for(running, 5)
    finally:
        sock.close()
        await close_store()
