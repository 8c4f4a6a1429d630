"""Prometheus metrics, /healthz and JSON logs.

The metrics test runs the worker as a service on real servers (Dovecot, RecordingSMTP, SQLite)
and compares what /metrics says with what the worker and the store did.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inboxbot.classify import make_classifier
from inboxbot.config import (
    MetricsSettings,
    Organisation,
    Settings,
    TransportSettings,
    settings_from_dict,
)
from inboxbot.errors import ConfigError
from inboxbot.lifecycle import OPEN_STATES
from inboxbot.metrics import Metrics, StoreSnapshot
from inboxbot.metrics.snapshot import FolderState, health
from inboxbot.pipeline import Processor
from inboxbot.sdnotify import Notifier
from inboxbot.service import serve
from inboxbot.store import close_store, open_store
from inboxbot.store.models import Ticket
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP, make_message
from tests.ops_config import REPO, write_maildir_config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.mark.integration
async def test_metrics_follow_the_worker(dovecot: Dovecot, mailbox_user: MailUser,
                                         smtp_server: RecordingSMTP, tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=70)
    dovecot.append(mailbox_user.name, make_message(
        "Radera mina uppgifter", "Hej,\nJag vill att ni raderar alla mina personuppgifter.\nAnna\n",
        sender="Anna Exempel <anna@example.org>"), msg_time=long_ago)  # due long ago: overdue
    dovecot.append(mailbox_user.name, make_message(
        "Access request", "Hello,\nUnder Article 15 GDPR I request a copy of my personal data.\nBo\n",
        sender="Bo Exempel <bo@example.org>"))
    dovecot.append(mailbox_user.name, make_message(
        "Unsubscribe", "Please unsubscribe me from your newsletter.\n", sender="cai@example.net"))
    dovecot.append(mailbox_user.name, make_message(
        "Out of office", "I am away until Monday.\n", sender="dan@example.net",
        headers=[("Auto-Submitted", "auto-replied")]))
    settings = Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(mailbox_user.name, security="tls", idle_timeout=5.0),),
        transport=TransportSettings(kind="smtp", host="127.0.0.1", port=smtp_server.port, security="plain"),
        state_dir=tmp_path, outbox_interval=0.2,
        metrics=MetricsSettings(listen="127.0.0.1:0", refresh_seconds=0.2, stale_after_minutes=1),
    )
    await open_store(settings.db_url)
    metrics = Metrics(settings.metrics)
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport), metrics=metrics)
    running = asyncio.create_task(serve(settings, worker, notifier=Notifier({})))
    try:
        await wait_until(lambda: len(worker.report.outcomes) == 4)
        acks = sum(o.acknowledged for o in worker.report.outcomes)
        assert acks >= 2
        await smtp_server.wait_for(acks, timeout=10)
        await wait_until(lambda: metrics.snapshot is not None and metrics.snapshot.outbox_depth == 0)
        await asyncio.sleep(0.5)  # one more refresh after the last delivery
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics.port}") as http:
            page = await http.get("/metrics")
            healthz = await http.get("/healthz")
        samples = scrape(page.text)

        by_kind = Counter((o.label or "none", o.outcome) for o in worker.report.outcomes)
        for (intent, outcome), n in by_kind.items():
            assert value(samples, "inboxbot_messages_total", intent=intent, outcome=outcome) == n
        assert sum(v for (name, _), v in samples.items() if name == "inboxbot_messages_total") == 4
        assert value(samples, "inboxbot_acknowledgements_total", result="queued") == acks
        assert value(samples, "inboxbot_acknowledgements_total", result="withheld") == 4 - acks
        assert value(samples, "inboxbot_outbox_deliveries_total", purpose="ack", result="sent") == acks
        assert value(samples, "inboxbot_outbox_depth") == 0

        today = datetime.now(settings.organisation.tz).date()
        open_tickets = await Ticket.filter(status__in=tuple(OPEN_STATES)).count()
        overdue = await Ticket.filter(status__in=tuple(OPEN_STATES), due_date__lt=today).count()
        assert open_tickets >= 2 and overdue == 1
        assert value(samples, "inboxbot_tickets_open") == open_tickets
        assert value(samples, "inboxbot_tickets_overdue") == overdue
        age = value(samples, "inboxbot_mailbox_last_success_age_seconds", mailbox="privacy", folder="INBOX")
        assert 0 <= age < 30
        assert value(samples, "inboxbot_healthy") == 1
        assert healthz.status_code == 200 and "ok privacy/INBOX" in healthz.text, healthz.text
    finally:
        worker.stop.set()
        await asyncio.wait_for(running, 10)
        await close_store()
    assert metrics.port is None  # the endpoint closed with the worker


def snapshot(at: datetime, last_success: datetime | None, error: str = "") -> StoreSnapshot:
    return StoreSnapshot(taken_at=at, outbox_depth=3, outbox_failed=0, dead_letters=1, tickets_open=5,
                         tickets_overdue=2, folders=(FolderState("privacy", "INBOX", last_success, error),))


def test_health_rules() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    ten = timedelta(minutes=10)
    started = now - timedelta(hours=1)
    assert health(snapshot(now, now - timedelta(minutes=9)), now, stale_after=ten, started_at=started).ok
    stale = health(snapshot(now, now - timedelta(minutes=11), "login refused"), now, stale_after=ten,
                   started_at=started)
    assert not stale.ok and "STALE privacy/INBOX" in stale.text and "login refused" in stale.text
    # Never reached: the worker gets stale_after from its start to connect.
    assert health(snapshot(now, None), now, stale_after=ten, started_at=now - timedelta(minutes=5)).ok
    assert not health(snapshot(now, None), now, stale_after=ten, started_at=started).ok
    # Figures that stopped coming (database gone) are unhealthy too.
    assert not health(snapshot(now - timedelta(minutes=20), now), now, stale_after=ten, started_at=started).ok
    assert not health(None, now, stale_after=ten, started_at=started).ok


def test_healthz_endpoint_and_disabled_metrics() -> None:
    metrics = Metrics(MetricsSettings(listen="127.0.0.1:0", stale_after_minutes=10))
    metrics.serve()
    try:
        now = datetime.now(UTC)
        url = f"http://127.0.0.1:{metrics.port}"
        metrics.publish(snapshot(now, now - timedelta(minutes=1)))
        assert httpx.get(url + "/healthz").status_code == 200
        metrics.publish(snapshot(now, now - timedelta(hours=2), "connection refused"))
        answer = httpx.get(url + "/healthz")
        assert answer.status_code == 503 and "STALE privacy/INBOX" in answer.text
        samples = scrape(httpx.get(url + "/metrics").text)
        assert value(samples, "inboxbot_outbox_depth") == 3 and value(samples, "inboxbot_dead_letters") == 1
        assert value(samples, "inboxbot_healthy") == 0
        assert httpx.get(url + "/other").status_code == 404
    finally:
        metrics.close()
    off = Metrics(MetricsSettings())  # no listen: no server, counting costs nothing
    off.serve()
    off.count_delivery("ack", "sent")
    assert not off.enabled and off.port is None


def test_json_logs(tmp_path: Path) -> None:
    config = write_maildir_config(tmp_path, [make_message(
        "Unsubscribe", "Please unsubscribe me.\n", sender="anna.svensson@example.se")])
    proc = subprocess.run([sys.executable, "-m", "inboxbot.cli", "--json-logs", "-c", str(config),
                           "run", "--once"], cwd=REPO, check=False, capture_output=True, text=True,
                          timeout=60,
                          env={**os.environ, "INBOXBOT_LOG_LEVEL": "INFO"})
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "inboxbot.pipeline" and "a***@example.se" in r["message"] for r in records)
    assert "anna.svensson" not in proc.stderr  # addresses are redacted in JSON too


def test_metrics_config() -> None:
    assert settings_from_dict({}).metrics.listen == ""  # off by default
    on = settings_from_dict({"metrics": {"listen": "127.0.0.1:9464", "stale_after_minutes": 40}})
    assert on.metrics.host_port == ("127.0.0.1", 9464) and on.metrics.stale_after_minutes == 40
    assert settings_from_dict({"metrics": {"listen": "[::1]:9464"}}).metrics.host_port == ("::1", 9464)
    with pytest.raises(ConfigError, match=r"metrics\.listen: expected HOST:PORT"):
        settings_from_dict({"metrics": {"listen": "9464"}})
    with pytest.raises(ConfigError, match=r"metrics\.stale_after_minutes: must be longer than mailbox 'a'"):
        settings_from_dict({"mailbox": [{"name": "a", "username": "u", "idle_timeout": 1500}],
                            "metrics": {"stale_after_minutes": 20}})
    with pytest.raises(ConfigError, match=r"metrics\.port: unknown key"):
        settings_from_dict({"metrics": {"port": 9464}})
