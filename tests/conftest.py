"""Shared fixtures. The servers are real ones from rig/, on loopback; see rig/README.md.

- `dovecot`: one Dovecot for the whole session. Do not restart it; ask `dovecot_factory` for
  a private one when a test needs to stop, kill or reconfigure its server.
- `mailbox_user`: a fresh login on `dovecot` per test, so tests never see each other's mail.
- `smtp_server`: a RecordingSMTP per test.
- `postgres`: one PostgreSQL cluster for the session (skips when PostgreSQL is not installed).
- `postgres_url`: a fresh empty database in that cluster per test.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from rig import Dovecot, MailUser, Postgres, RecordingSMTP, RigUnavailable

_users = itertools.count(1)
_Server = TypeVar("_Server", Dovecot, Postgres)


def _started(kind: Callable[..., _Server], **kwargs: Any) -> _Server:
    """Build and start a server; skip when it is not installed (fail instead in CI, where
    INBOXBOT_REQUIRE_RIG=1 says it must be). A server that is installed but fails to start
    is an error, never a skip."""
    try:
        server = kind(**kwargs)
    except RigUnavailable as exc:
        if os.environ.get("INBOXBOT_REQUIRE_RIG") == "1":
            raise
        pytest.skip(str(exc))
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    return server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = _started(Dovecot)
    yield server
    server.cleanup()


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., Dovecot]]:
    """Start private Dovecots (kwargs go to Dovecot(), e.g. idle=False); all stopped after."""
    servers: list[Dovecot] = []

    def start(**kwargs: Any) -> Dovecot:
        server = _started(Dovecot, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.cleanup()


@pytest.fixture
def mailbox_user(dovecot: Dovecot) -> MailUser:
    tag = f"{next(_users)}-{uuid.uuid4().hex[:6]}"
    return dovecot.add_user(f"user{tag}@example.com", f"pw-{tag}")


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTP]:
    server = RecordingSMTP()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = _started(Postgres)
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, empty database in the session's cluster for one test; dropped after it."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)
