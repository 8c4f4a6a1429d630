"""What the rig's servers share: free ports, the unprivileged run user, clean shutdown."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class RigUnavailable(RuntimeError):
    """A server the rig needs is not installed here. Tests skip on it (see tests/conftest.py)."""


class RigError(RuntimeError):
    """An installed server would not start or answer: a real failure, never a skip."""


@dataclass(frozen=True)
class RunUser:
    """Who the servers run as. Dovecot and PostgreSQL both refuse to run as root."""

    name: str
    group: str
    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.getuid()

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` as this user (unchanged when that is us)."""
        if self.is_self:
            return argv
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise RigUnavailable("running as root needs setpriv (util-linux) to drop privileges")
        return [setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", *argv]

    def own(self, path: Path) -> None:
        """Hand a folder tree to the run user, so the server can write where it must."""
        if self.is_self:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid, follow_symlinks=False)


def run_user() -> RunUser:
    """`nobody` when we are root, else whoever we are."""
    if os.getuid() == 0:
        pw = pwd.getpwnam("nobody")
        return RunUser("nobody", grp.getgrgid(pw.pw_gid).gr_name, pw.pw_uid, pw.pw_gid)
    pw = pwd.getpwuid(os.getuid())
    return RunUser(pw.pw_name, grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid())


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now. Racy in theory; fine for one machine's tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def make_rig_dir(prefix: str) -> Path:
    """A fresh folder under the system temp dir (pytest's tmp dirs are 0700 root: no use)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, wait, and only then SIGKILL: a killed Dovecot leaves a pidfile behind."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
