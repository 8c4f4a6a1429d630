"""A throwaway PostgreSQL cluster on loopback, for the store's tests against the real thing.

    with Postgres() as pg:
        ... connect to pg.url ...   # postgres://postgres@127.0.0.1:PORT/inboxbot

initdb in a temp folder (trust auth, fsync off: test data only), started with pg_ctl as `nobody`
when we are root. Raises RigUnavailable when no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

from rig._common import RigError, RigUnavailable, free_port, make_rig_dir, run_user

DATABASE = "inboxbot"


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/N/bin with initdb, or the one on PATH."""
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RigUnavailable("PostgreSQL server not installed (apt-get install postgresql)")


class Postgres:
    """One cluster with one database, `inboxbot`, owned by the superuser `postgres`."""

    host = "127.0.0.1"

    def __init__(self, database: str = DATABASE) -> None:
        self.bindir = find_bindir()
        self.database = database
        self.runas = run_user()
        self.dir = make_rig_dir("inboxbot-postgres-")
        self.port = free_port()
        self._started = False
        self.runas.own(self.dir)
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{self.database}"

    def _run(self, tool: str, *args: str, as_server: bool = True) -> None:
        argv = [str(self.bindir / tool), *args]
        if as_server:
            argv = self.runas.wrap(argv)
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.dir)
        if done.returncode != 0:
            raise RigError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        if self._started:
            return
        options = (
            f"-k {self.dir} -p {self.port} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"),
                  "-o", options, "-w", "start")  # fmt: skip
        self._started = True
        self._run("createdb", "-h", self.host, "-p", str(self.port), "-U", "postgres",
                  self.database, as_server=False)  # fmt: skip

    def url_for(self, database: str) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A further empty database in this cluster (one per test); returns its URL."""
        self._run("createdb", "-h", self.host, "-p", str(self.port), "-U", "postgres", name,
                  as_server=False)  # fmt: skip
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database made by create_database, closing any sessions still on it."""
        self._run("dropdb", "-h", self.host, "-p", str(self.port), "-U", "postgres", "--force",
                  "--if-exists", name, as_server=False)  # fmt: skip

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self._started = False

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
