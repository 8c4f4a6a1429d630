"""The systemd notification protocol (sd_notify), without a dependency: a few datagrams.

Under `Type=notify` systemd passes the path of a datagram socket in $NOTIFY_SOCKET; the service
sends newline-separated `KEY=value` assignments to it: READY=1 once it serves, WATCHDOG=1 at
least every $WATCHDOG_USEC microseconds (else systemd kills and restarts it), STOPPING=1 when it
begins to shut down, and STATUS=... for `systemctl status`. A path that starts with '@' names
a socket in Linux's abstract namespace (a leading NUL byte on the wire).

Outside systemd (no $NOTIFY_SOCKET) every call does nothing, so the worker runs the same under a
terminal, a container or a test.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _address(path: str) -> str | bytes:
    # Abstract-namespace sockets have no file: the name begins with a NUL byte instead of '@'.
    if path.startswith("@"):
        return b"\0" + path[1:].encode()
    return path


class Notifier:
    """Sends notifications to systemd, or nothing when not started by it."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address: str | bytes | None = _address(path) if path else None
        self.watchdog_interval = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, **fields: str) -> bool:
        """Send one notification, e.g. send(READY="1", STATUS="watching 2 mailboxes").

        Returns True when it was handed to the socket. Never raises: a lost notification costs
        at most one watchdog period, and the worker must not stop over it."""
        if self.address is None or not fields:
            return False
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)  # a full queue must not stall the event loop
                sock.sendto(payload.encode("utf-8"), self.address)
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send(READY="1", **({"STATUS": status} if status else {}))

    def watchdog(self, status: str = "") -> bool:
        return self.send(WATCHDOG="1", **({"STATUS": status} if status else {}))

    def stopping(self, status: str = "stopping") -> bool:
        return self.send(STOPPING="1", STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)


def _one_line(value: str) -> str:
    # Each assignment ends at a newline: a value must not smuggle a second one in.
    return value.replace("\n", " ")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog period systemd asked for, in seconds; None when there is none for us.

    $WATCHDOG_PID, when set, names the process the watchdog is meant for: a child that
    inherited the environment must not answer for its parent."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
