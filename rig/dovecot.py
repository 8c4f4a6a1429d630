"""A real Dovecot IMAP server on loopback, for tests and for trying inboxbot by hand.

    with Dovecot() as imap:
        user = imap.add_user("someone@example.com")
        uid = imap.append(user.name, b"Subject: hi\r\n\r\nhello\r\n")

Everything lives in one temp folder (config, users file, certificate, maildirs, logs). As root the
server runs as `nobody` through setpriv, because Dovecot will not run its mail processes as root.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient  # type: ignore[import-untyped]

from inboxbot.config import MailboxSettings, Secret
from rig._common import RigError, RigUnavailable, free_port, make_rig_dir, run_user, stop_process
from rig.dovecot_conf import CAPABILITIES_WITHOUT_IDLE, CONFIG, OAUTH2_CONF, OAUTH2_PASSDB

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"

@dataclass(frozen=True)
class MailUser:
    """A login on the rig server. `name` is the full address, which is also the IMAP username."""

    name: str
    password: str


class Dovecot:
    """One Dovecot instance: build the folder, start, stop, restart; plus small IMAP helpers.

    `idle=False` removes IDLE from the advertised capabilities (the server still has it, but a
    well-behaved client will not use it), to test polling.

    `oauth2_introspection_url` adds SASL XOAUTH2 and OAUTHBEARER, with each token checked by a
    POST to that RFC 7662 introspection endpoint (rig.OAuthServer is one); passwords still work.
    """

    host = "127.0.0.1"

    def __init__(self, *, idle: bool = True, base: Path | None = None,
                 oauth2_introspection_url: str | None = None) -> None:
        if not Path(DOVECOT).exists():
            raise RigUnavailable(f"{DOVECOT} not found: apt-get install dovecot-imapd dovecot-core")
        if shutil.which("openssl") is None:
            raise RigUnavailable("openssl not found: it makes the rig's TLS certificate")
        self.idle = idle
        self.oauth2_introspection_url = oauth2_introspection_url
        self.dir = base if base is not None else make_rig_dir("inboxbot-dovecot-")
        self.port = free_port()
        self.ssl_port = free_port()
        self.runas = run_user()
        self.users: dict[str, MailUser] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._build()
        self.add_user("privacy@example.com", "privacy-pw")
        self.add_user("dpo@example.com", "dpo-pw")

    # -- the rig folder ---------------------------------------------------------------------

    @property
    def conf(self) -> Path:
        return self.dir / "dovecot.conf"

    @property
    def ca_file(self) -> Path:
        """The self-signed server certificate; use it as the CA file to verify TLS."""
        return self.dir / "ssl" / "cert.pem"

    @property
    def log_file(self) -> Path:
        return self.dir / "log" / "dovecot.log"

    def _build(self) -> None:
        for sub in ("run", "state", "log", "ssl", "mail", "users"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        ssl_dir = self.dir / "ssl"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(ssl_dir / "key.pem"), "-out", str(ssl_dir / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        capability = "" if self.idle else f"  imap_capability = {CAPABILITIES_WITHOUT_IDLE}\n"
        oauth = self.oauth2_introspection_url
        if oauth is not None:
            (self.dir / "dovecot-oauth2.conf.ext").write_text(OAUTH2_CONF.format(url=oauth))
        self.conf.write_text(
            CONFIG.format(
                rig=self.dir, user=self.runas.name, group=self.runas.group, uid=self.runas.uid,
                gid=self.runas.gid, port=self.port, ssl_port=self.ssl_port, capability=capability,
                oauth2_mechanisms=" xoauth2 oauthbearer" if oauth else "",
                passwd_mechanisms="  mechanisms = plain login\n" if oauth else "",
                oauth2_passdb=OAUTH2_PASSDB.format(rig=self.dir) if oauth else "",
            )
        )  # fmt: skip
        self.runas.own(self.dir)

    def add_user(self, name: str, password: str = "secret-pw") -> MailUser:
        """Add a login; it works at once, even while the server runs.

        Changing the password of a user who logged in during the last second may go unseen
        for that second (Dovecot's passwd-file re-check interval).
        """
        if "/" in name or name.startswith("."):
            raise ValueError(f"not a rig user name: {name!r}")
        user = MailUser(name, password)
        self.users[name] = user
        path = self.dir / "users" / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        tmp.chmod(0o644)
        tmp.replace(path)
        return user

    # -- running ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start in the foreground (-F) and wait for the `* OK` greeting on both ports."""
        if self.running:
            return
        (self.dir / "run" / "anvil-auth-penalty").unlink(missing_ok=True)
        log = open(self.dir / "log" / "stderr.log", "ab")
        with log:
            self._proc = subprocess.Popen(
                self.runas.wrap([DOVECOT, "-F", "-c", str(self.conf)]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        for port in (self.port, self.ssl_port):
            self._wait_ready(port, deadline, tls=port == self.ssl_port)

    def _wait_ready(self, port: int, deadline: float, tls: bool) -> None:
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise RigError(f"dovecot exited at start:\n{self.tail_log()}")
            try:
                with socket.create_connection((self.host, port), timeout=1.0) as sock:
                    if tls:
                        ctx = ssl.create_default_context(cafile=str(self.ca_file))
                        with ctx.wrap_socket(sock, server_hostname=self.host) as tsock:
                            greeting = tsock.recv(200)
                    else:
                        greeting = sock.recv(200)
                if greeting.startswith(b"* OK"):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RigError(f"dovecot did not greet on port {port}:\n{self.tail_log()}")
            time.sleep(0.02)

    def stop(self, graceful: bool = False) -> None:
        """Stop the server.

        Dovecot's mail processes outlive a SIGTERMed master by about 10 s and then say BYE.
        By default the leftovers are killed at once, so clients see their connection drop now
        (EOF), as after a hard restart; `graceful=True` leaves them to say BYE in their own time.
        """
        if self._proc is None:
            return
        pgid = self._proc.pid
        stop_process(self._proc)
        self._proc = None
        if not graceful:
            _kill_group(pgid)

    def restart(self, graceful: bool = False) -> None:
        self.stop(graceful)
        self.start()

    def kill(self) -> None:
        """SIGKILL master and children together, the way a crash or an OOM kill looks."""
        if self._proc is not None:
            _kill_group(self._proc.pid)
            self._proc.wait()
            self._proc = None
            # A killed master leaves its pidfile behind; the next start must not trip on it.
            (self.dir / "run" / "master.pid").unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Stop and delete the rig folder. Kills rather than stops: nothing will start again."""
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def tail_log(self, lines: int = 30) -> str:
        text = ""
        for path in (self.log_file, self.dir / "log" / "stderr.log"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- IMAP helpers for tests -------------------------------------------------------------

    @contextmanager
    def connect(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in imapclient connection over the plain port (loopback only)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            client.login(user, self.users[user].password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Iterable[str] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """Deliver a message by IMAP APPEND and return its UID (from APPENDUID)."""
        with self.connect(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            resp = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        text = resp.decode() if isinstance(resp, bytes) else str(resp)
        match = re.search(r"APPENDUID \d+ (\d+)", text)
        if match is None:
            raise RigError(f"no APPENDUID in {text!r}")
        return int(match.group(1))

    def list_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self.connect(user) as client:
            client.select_folder(folder, readonly=True)
            return sorted(int(u) for u in client.search(["ALL"]))

    def folder_status(self, user: str, folder: str = "INBOX") -> dict[bytes, Any]:
        with self.connect(user) as client:
            return dict(client.folder_status(folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"]))

    def mailbox_settings(
        self, user: str, security: str = "tls", name: str = "privacy", **overrides: Any
    ) -> MailboxSettings:
        """inboxbot settings that reach this server as `user`, TLS verified against our CA."""
        port = self.ssl_port if security == "tls" else self.port
        fields: dict[str, Any] = dict(
            name=name, kind="imap", host=self.host, port=port, security=security,
            username=user, password=Secret(self.users[user].password), ca_file=self.ca_file,
        )  # fmt: skip
        fields.update(overrides)
        return MailboxSettings(**fields)

    def set_uidvalidity(self, user: str, value: int, folder: str = "INBOX") -> None:
        """Force a new UIDVALIDITY (doveadm mailbox update), as after a server-side rebuild."""
        if not Path(DOVEADM).exists():
            raise RigUnavailable(f"{DOVEADM} not found")
        cmd = [DOVEADM, "-c", str(self.conf), "mailbox", "update", "-u", user,
               "--uid-validity", str(value), folder]  # fmt: skip
        done = subprocess.run(self.runas.wrap(cmd), capture_output=True, text=True)
        if done.returncode != 0:
            raise RigError(f"doveadm failed: {done.stderr.strip()}")


def _kill_group(pgid: int, timeout: float = 5.0) -> None:
    """SIGKILL a process group and wait until none of it runs: until then a dying login
    process may still hold the listening socket, and clients see resets, not refusals."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _group_running(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _group_running(pgid: int) -> bool:
    """Whether a process of the group is still alive. Zombies do not count: they hold no
    sockets, and where PID 1 does not reap orphans (some containers) they never go away."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False
