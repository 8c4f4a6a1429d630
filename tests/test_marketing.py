"""Suppression pushes: each adapter against a real HTTP server on loopback, retried through the
persistent push outbox, idempotent, in order; the file export; erasure keeps only the hash."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from inboxbot.config import MarketingTarget, Secret, Settings, SuppressionSettings, settings_from_dict
from inboxbot.errors import ConfigError
from inboxbot.marketing import SuppressionEvent, make_target, make_targets
from inboxbot.marketing import manage
from inboxbot.marketing.file import FileTarget
from inboxbot.marketing.pushes import deliver_pushes, enqueue, enqueue_new, new_event
from inboxbot.store import close_store, open_store
from inboxbot.store.models import Suppression, SuppressionLog, SuppressionPush
from inboxbot.suppression import address_hash
from tests.marketing_fakes import BrevoApp, FakeServer, ListmonkApp, PardotApp, WebhookApp

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
ANNA = "Anna.Berg@Example.SE"
ANNA_NORM = "anna.berg@example.se"


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[None]:
    await open_store(f"sqlite://{tmp_path / 'db.sqlite3'}")
    try:
        yield
    finally:
        await close_store()


def settings_with(*targets: MarketingTarget, fold: frozenset[str] = frozenset()) -> Settings:
    return Settings(marketing=targets, suppression=SuppressionSettings(fold_plus_domains=fold))


async def rows(target: str) -> list[SuppressionPush]:
    return list(await SuppressionPush.filter(target=target).order_by("id"))


async def drain(targets: list[Any], clock: Clock, *, rounds: int = 6) -> None:
    """Deliver, moving the clock past each backoff, until nothing is pending."""
    for _ in range(rounds):
        await deliver_pushes(targets, clock)
        if not await SuppressionPush.filter(status="pending").exists():
            return
        clock.advance(hours=7)  # past the 6 h backoff cap
    raise AssertionError("pushes still pending")


# -- webhook ------------------------------------------------------------------------------------


async def test_webhook_signed_and_retried_through_the_outbox(store: None) -> None:
    app = WebhookApp(key=b"k3y")
    with FakeServer(app) as srv:
        cfg = MarketingTarget("hook", "webhook", url=srv.url + "/hooks/suppression", secret=Secret("k3y"))
        settings = settings_with(cfg)
        assert await manage.add(settings, ANNA, now=T0, source="ticket PRIV-1")
        srv.fail_next = 2
        clock = Clock()
        target = make_target(cfg)

        report = await deliver_pushes([target], clock)
        assert (report.sent, report.deferred) == (0, 1)
        [row] = await rows("hook")
        assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
        assert row.next_attempt_at > clock()
        # Not due yet: nothing is sent, the server is not asked again.
        await deliver_pushes([target], clock)
        assert len(srv.requests) == 1

        clock.advance(hours=7)
        assert (await deliver_pushes([target], clock)).deferred == 1
        clock.advance(hours=7)
        assert (await deliver_pushes([target], clock)).sent == 1
        assert len(srv.requests) == 3 and srv.problems == []
        [row] = await rows("hook")
        assert row.status == "sent" and row.attempts == 3 and row.sent_at == clock()
        # The same event id on every attempt, so a receiver can drop duplicates.
        assert len({r.headers["x-inboxbot-event"] for r in srv.requests}) == 1
        [event] = app.events
        assert event == {"id": row.event_id, "action": "suppress", "sha256": address_hash(ANNA_NORM),
                         "address": ANNA_NORM, "scope": "all", "at": T0.isoformat()}


async def test_webhook_bad_key_is_refused_by_the_receiver_and_kept_waiting(store: None) -> None:
    with FakeServer(WebhookApp(key=b"right")) as srv:
        cfg = MarketingTarget("hook", "webhook", url=srv.url + "/hooks/suppression", secret=Secret("wrong"))
        await manage.add(settings_with(cfg), ANNA, now=T0)
        report = await deliver_pushes([make_target(cfg)], Clock())
        assert report.deferred == 1 and srv.problems == ["POST /hooks/suppression: bad signature"]
        [row] = await rows("hook")
        assert row.status == "pending" and "401" in row.last_error  # waits for the key to be fixed


async def test_webhook_timeout_then_success_and_hashed_only(store: None) -> None:
    app = WebhookApp(key=b"k")
    with FakeServer(app) as srv:
        cfg = MarketingTarget("hook", "webhook", url=srv.url + "/hooks/suppression", secret=Secret("k"),
                              hashed_only=True, timeout=0.3)
        await manage.add(settings_with(cfg), ANNA, now=T0)
        srv.hang_next, srv.hang_seconds = 1, 1.0
        clock = Clock()
        report = await deliver_pushes([make_target(cfg)], clock)
        assert report.deferred == 1 and "timed out" in report.errors[0]
        await drain([make_target(cfg)], clock)
        [event] = app.events
        assert "address" not in event and event["sha256"] == address_hash(ANNA_NORM)


# -- listmonk -----------------------------------------------------------------------------------


def listmonk_cfg(url: str, **kw: Any) -> MarketingTarget:
    return MarketingTarget("lm", "listmonk", url=url, username="inboxbot", secret=Secret("tok"), **kw)


async def test_listmonk_creates_a_blocklisted_subscriber_after_503s(store: None) -> None:
    app = ListmonkApp("inboxbot", "tok")
    with FakeServer(app) as srv:
        cfg = listmonk_cfg(srv.url)
        await manage.add(settings_with(cfg), ANNA, now=T0)
        srv.fail_next = 2
        clock = Clock()
        await drain([make_target(cfg)], clock)
        assert srv.problems == []
        sub = app.by_email(ANNA_NORM)
        assert sub is not None and sub["status"] == "blocklisted"
        [row] = await rows("lm")
        assert row.attempts == 3 and row.status == "sent"


async def test_listmonk_blocklists_existing_and_is_idempotent(store: None) -> None:
    app = ListmonkApp("inboxbot", "tok")
    sid = app.add(ANNA_NORM, lists=(3,))
    with FakeServer(app) as srv:
        target = make_target(listmonk_cfg(srv.url))
        event = new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0)
        await target.push(event)
        assert app.subscribers[sid]["status"] == "blocklisted"
        assert app.subscribers[sid]["lists"][0]["subscription_status"] == "unsubscribed"
        assert [(r.method, r.path) for r in srv.requests] == [
            ("GET", "/api/subscribers"), ("PUT", f"/api/subscribers/{sid}/blocklist")]
        # Again: already blocklisted is success, and nothing more is changed.
        await target.push(event)
        assert [(r.method, r.path) for r in srv.requests[2:]] == [("GET", "/api/subscribers")]
        assert len(app.subscribers) == 1 and srv.problems == []


async def test_listmonk_lists_race_and_unsuppress(store: None) -> None:
    app = ListmonkApp("inboxbot", "tok")
    sid = app.add("o'brien@example.org", lists=(3, 4))
    with FakeServer(app) as srv:
        target = make_target(listmonk_cfg(srv.url, lists=(("newsletter", "4"),)))
        digest = address_hash("o'brien@example.org")
        await target.push(new_event("suppress", digest, "o'brien@example.org", "newsletter", T0))
        lists = {m["id"]: m["subscription_status"] for m in app.subscribers[sid]["lists"]}
        assert lists == {3: "confirmed", 4: "unsubscribed"} and app.subscribers[sid]["status"] == "enabled"
        # Unmapped scope: the safe side, the whole address is blocklisted.
        await target.push(new_event("suppress", digest, "o'brien@example.org", "offers", T0))
        assert app.subscribers[sid]["status"] == "blocklisted"
        # Unsuppress lifts the block and re-subscribes to nothing.
        await target.push(new_event("unsuppress", digest, "o'brien@example.org", "all", T0))
        assert app.subscribers[sid]["status"] == "enabled"
        assert all(m["subscription_status"] == "unsubscribed" for m in app.subscribers[sid]["lists"])
        # Forget sends nothing to listmonk.
        before = len(srv.requests)
        await target.push(new_event("forget", digest, None, "all", T0))
        assert len(srv.requests) == before and srv.problems == []


async def test_listmonk_409_on_create_finds_and_blocklists(store: None) -> None:
    app = ListmonkApp("inboxbot", "tok")
    original = app.__call__

    def racing(req):  # type: ignore[no-untyped-def]
        # Someone creates the subscriber between our search and our create.
        if req.method == "POST" and not app.subscribers:
            app.add(ANNA_NORM)
        return original(req)

    with FakeServer(racing) as srv:
        await make_target(listmonk_cfg(srv.url)).push(
            new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0))
        assert [r.method for r in srv.requests] == ["GET", "POST", "GET", "PUT"]
        assert app.subscribers[1]["status"] == "blocklisted"


# -- Pardot ------------------------------------------------------------------------------------


async def test_pardot_oauth_opt_out_with_retries_and_token_refresh(store: None) -> None:
    app = PardotApp(business_unit="0Uv000000000001AAA", client_id="cid", client_secret="csecret")
    with FakeServer(app) as srv:
        cfg = MarketingTarget("pardot", "pardot", url=srv.url, business_unit_id="0Uv000000000001AAA",
                              token_url=srv.url + "/services/oauth2/token", client_id="cid",
                              client_secret=Secret("csecret"))
        settings = settings_with(cfg)
        target = make_targets(settings)[0]
        await manage.add(settings, ANNA, now=T0)
        await manage.add(settings, "bo@example.org", now=T0)
        srv.fail_next = 2  # the token request and the first upsert
        clock = Clock()
        await drain([target], clock)
        assert srv.problems == []
        assert app.prospects[ANNA_NORM]["optedOut"] is True
        assert app.prospects["bo@example.org"]["optedOut"] is True
        assert len(app.issued) == 1  # one token served both pushes
        upsert = next(r for r in srv.requests if r.path.endswith("upsertLatestByEmail") and r.body)
        assert upsert.json() == {"matchEmail": ANNA_NORM, "prospect": {"email": ANNA_NORM, "optedOut": True},
                                 "fields": ["id", "email", "optedOut"]}
        # The token expires: a 401 fetches a new one and the push still succeeds at once.
        app.expire_tokens()
        await target.push(new_event("suppress", address_hash("cy@example.org"), "cy@example.org", "all", T0))
        assert app.prospects["cy@example.org"]["optedOut"] is True and len(app.issued) == 1


async def test_pardot_static_token_and_wrong_token_waits(store: None) -> None:
    app = PardotApp(business_unit="0Uv1", static_token="static-ok")
    with FakeServer(app) as srv:
        good = make_target(MarketingTarget("p", "pardot", url=srv.url, business_unit_id="0Uv1",
                                           secret=Secret("static-ok")))
        event = new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0)
        await good.push(event)
        await good.push(event)  # idempotent upsert
        assert len(app.prospects) == 1 and app.prospects[ANNA_NORM]["optedOut"] is True
        await good.push(new_event("unsuppress", event.sha256, ANNA_NORM, "all", T0))
        assert app.prospects[ANNA_NORM]["optedOut"] is True  # never opted back in by us
        bad = MarketingTarget("p", "pardot", url=srv.url, business_unit_id="0Uv1", secret=Secret("nope"))
        await enqueue(event, ["p"])
        report = await deliver_pushes([make_target(bad)], Clock())
        assert report.deferred == 1 and "401" in report.errors[0]


# -- Brevo -------------------------------------------------------------------------------------


async def test_brevo_blocklist_list_removal_and_unsuppress(store: None) -> None:
    app = BrevoApp(api_key="xkeysib-test")
    app.list_members[7] = {ANNA_NORM}
    with FakeServer(app) as srv:
        cfg = MarketingTarget("brevo", "brevo", url=srv.url, secret=Secret("xkeysib-test"),
                              lists=(("newsletter", "7"),))
        settings = settings_with(cfg)
        await manage.add(settings, ANNA, now=T0)
        await manage.add(settings, ANNA, now=T0, scope="newsletter")
        srv.fail_next = 2
        await drain([make_target(cfg)], Clock())
        assert srv.problems == []
        assert app.contacts[ANNA_NORM]["emailBlacklisted"] is True
        assert app.list_members[7] == set()
        post = next(r for r in srv.requests if r.path == "/v3/contacts" and r.method == "POST")
        assert post.json() == {"email": ANNA_NORM, "emailBlacklisted": True, "updateEnabled": True}
        # Pushing both again is harmless: the upsert updates, "already removed" counts as done.
        target = make_target(cfg)
        await target.push(new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0))
        await target.push(new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "newsletter", T0))
        assert len(app.contacts) == 1
        await target.push(new_event("unsuppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0))
        assert app.contacts[ANNA_NORM]["emailBlacklisted"] is False
        await target.push(new_event("unsuppress", address_hash("x@example.org"), "x@example.org", "all", T0))


# -- the outbox itself -------------------------------------------------------------------------


class Recorder:
    """A target that fails as told; for ordering and permanent-failure tests."""

    def __init__(self, name: str, failures: list[Exception | None]) -> None:
        self.name = name
        self.failures = failures
        self.seen: list[tuple[str, str]] = []

    async def push(self, event: SuppressionEvent) -> None:
        outcome = self.failures.pop(0) if self.failures else None
        if outcome is not None:
            raise outcome
        self.seen.append((event.action, event.scope))


async def test_unsuppress_never_overtakes_its_suppress(store: None) -> None:
    from inboxbot.errors import TransientError

    settings = settings_with(MarketingTarget("rec", "file", path=Path("unused")))
    await manage.add(settings, ANNA, now=T0)
    await manage.remove(settings, ANNA, now=T0, reason="added by mistake")
    rec = Recorder("rec", [TransientError("down")])
    clock = Clock()
    await deliver_pushes([rec], clock)
    clock.advance(seconds=1)
    await deliver_pushes([rec], clock)
    assert rec.seen == []  # the unsuppress waits behind the suppress
    await drain([rec], clock)
    assert rec.seen == [("suppress", "all"), ("unsuppress", "all")]


async def test_permanent_refusal_is_recorded_and_the_queue_moves_on(store: None) -> None:
    from inboxbot.errors import PermanentError

    settings = settings_with(MarketingTarget("rec", "file", path=Path("unused")))
    await manage.add(settings, ANNA, now=T0)
    await manage.add(settings, "bo@example.org", now=T0)
    rec = Recorder("rec", [PermanentError("400 bad request")])
    report = await deliver_pushes([rec], Clock())
    assert (report.sent, report.failed) == (1, 1)
    assert [r.status for r in await rows("rec")] == ["failed", "sent"]


async def test_enqueue_twice_is_one_row(store: None) -> None:
    event = new_event("suppress", "ab" * 32, "x@example.org", "all", T0)
    assert await enqueue(event, ["a", "b"]) == 2
    assert await enqueue(event, ["a", "b"]) == 0
    assert await SuppressionPush.all().count() == 2


async def test_enqueue_new_writes_the_rows_enqueue_writes(store: None) -> None:
    """The one-INSERT path for a fresh event: field for field the rows of the checking path."""
    def fields(row: SuppressionPush) -> tuple[Any, ...]:
        return (row.target, row.action, row.address, row.address_hash, row.scope, row.event_at,
                row.status, row.attempts, row.next_attempt_at, row.last_error, row.sent_at)

    checked = new_event("suppress", "ab" * 32, "x@example.org", "all", T0)
    fresh = new_event("suppress", "ab" * 32, "x@example.org", "all", T0)
    assert await enqueue(checked, ["a", "b"]) == 2
    assert await enqueue_new(fresh, ["a", "b"]) == 2
    assert await enqueue_new(new_event("forget", "cd" * 32, None, "all", T0), []) == 0
    by_event = {e.id: [fields(r) for r in await SuppressionPush.filter(event_id=e.id).order_by("id")]
                for e in (checked, fresh)}
    assert by_event[fresh.id] == by_event[checked.id] and len(by_event[fresh.id]) == 2
    assert await SuppressionPush.all().count() == 4


# -- file ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_file_export_follows_every_event(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "out" / f"suppressed.{fmt}"
    target = FileTarget(MarketingTarget("f", "file", path=path, format=fmt))  # type: ignore[arg-type]

    def read() -> list[dict[str, str]]:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if fmt == "json" else list(csv.DictReader(io.StringIO(text)))

    a, b = address_hash(ANNA_NORM), address_hash("bo@example.org")
    suppress_a = new_event("suppress", a, ANNA_NORM, "all", T0)
    await target.push(suppress_a)
    await target.push(suppress_a)  # idempotent
    await target.push(new_event("suppress", b, "bo@example.org", "all", T0 + timedelta(days=1)))
    await target.push(new_event("suppress", b, "bo@example.org", "newsletter", T0))
    assert [(r["sha256"], r["address"], r["scope"]) for r in read()] == [
        (a, ANNA_NORM, "all"), (b, "bo@example.org", "all"), (b, "bo@example.org", "newsletter")]
    await target.push(new_event("unsuppress", b, "bo@example.org", "newsletter", T0))
    await target.push(new_event("forget", a, None, "all", T0))
    assert [(r["sha256"], r["address"], r["scope"]) for r in read()] == [
        (a, "", "all"), (b, "bo@example.org", "all")]
    assert read()[0]["at"] == T0.isoformat()
    c = address_hash("cy@example.org")
    await target.push(new_event("forget", c, None, "all", T0))  # erased, never listed: hash row added
    assert read()[-1] == {"sha256": c, "address": "", "scope": "all", "at": T0.isoformat()}


async def test_file_hashed_only_never_writes_addresses(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    target = FileTarget(MarketingTarget("f", "file", path=path, hashed_only=True))
    await target.push(new_event("suppress", address_hash(ANNA_NORM), ANNA_NORM, "all", T0))
    assert "anna" not in path.read_text() and address_hash(ANNA_NORM) in path.read_text()


# -- erasure, the pipeline action, the worker ---------------------------------------------------


async def test_forget_keeps_only_the_hash_everywhere(store: None, tmp_path: Path) -> None:
    settings = settings_with(MarketingTarget("f", "file", path=tmp_path / "s.csv"))
    await manage.add(settings, ANNA, now=T0, source="ticket PRIV-9")
    await manage.add(settings, ANNA, now=T0, scope="newsletter")
    result = await manage.forget(settings, ANNA, now=T0, reason="erasure PRIV-12")
    assert (result.rows, result.created, result.unsent) == (2, False, 2)
    for row in await Suppression.all():
        assert row.address is None and row.address_hash == address_hash(ANNA_NORM)
    assert all(p.address is None for p in await SuppressionPush.all())
    assert [p.action for p in await rows("f")] == ["suppress", "suppress", "forget"]
    logs = await SuppressionLog.all().order_by("id")
    assert [entry.kind for entry in logs] == ["add", "add", "forget"]
    assert all("anna" not in (entry.detail + entry.address_hash) for entry in logs)
    # Adding the same person again later keeps the entry hash-only.
    assert not await manage.add(settings, ANNA, now=T0)
    assert (await Suppression.get(scope="all")).address is None
    # Erasure of someone who was never on the list still leaves them suppressed, by hash.
    other = await manage.forget(settings, "dan@example.org", now=T0, reason="erasure PRIV-13")
    assert other.created and await Suppression.filter(address_hash=address_hash("dan@example.org"),
                                                      address__isnull=True).exists()


async def test_plus_folding_and_old_hashes_still_match(store: None) -> None:
    plain = settings_with()
    await manage.add(plain, "anna+news@gmail.com", now=T0)
    folded = settings_with(fold=frozenset({"gmail.com"}))
    assert manage.normalised(folded, "Anna+Promo@Gmail.com") == ("anna@gmail.com", address_hash("anna@gmail.com"))
    # Folding switched on later: the entry written before is still found (and not duplicated).
    assert not await manage.add(folded, "anna+news@gmail.com", now=T0)
    assert await manage.add(folded, "anna+promo@gmail.com", now=T0)
    assert not await manage.add(folded, "ANNA@gmail.com", now=T0)


async def test_pipeline_action_queues_pushes_in_the_message_transaction(store: None, tmp_path: Path) -> None:
    from tortoise.transactions import in_transaction

    from inboxbot.actions.suppress import suppress

    settings = settings_with(MarketingTarget("f", "file", path=tmp_path / "s.csv"),
                             MarketingTarget("h", "webhook", url="http://127.0.0.1:9/x", secret=Secret("k")))
    msg = SimpleNamespace(sender=SimpleNamespace(addr=ANNA), message_id="<m1@example.se>")
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            ctx = SimpleNamespace(settings=settings, conn=conn, now=T0, msg=msg, ticket=None,
                                  notes=[], suppressed=False)
            await suppress(ctx, None)  # type: ignore[arg-type]
            assert ctx.suppressed
            raise RuntimeError("crash before commit")
    assert await Suppression.all().count() == 0 and await SuppressionPush.all().count() == 0
    async with in_transaction() as conn:
        ctx = SimpleNamespace(settings=settings, conn=conn, now=T0, msg=msg, ticket=None,
                              notes=[], suppressed=False)
        await suppress(ctx, None)  # type: ignore[arg-type]
    [row] = await Suppression.all()
    assert row.address == ANNA_NORM and row.source == "message <m1@example.se>"
    assert sorted(p.target for p in await SuppressionPush.all()) == ["f", "h"]


async def test_worker_once_delivers_pushes(store: None, tmp_path: Path) -> None:
    from inboxbot.worker import Worker

    path = tmp_path / "export.csv"
    settings = settings_with(MarketingTarget("f", "file", path=path))
    await manage.add(settings, ANNA, now=T0)
    from inboxbot.render import ReplyRenderer

    # No mailboxes, no tickets, no mail: the transport is never used.
    processor = SimpleNamespace(renderer=ReplyRenderer(settings.prompts_dir, settings.organisation))
    worker = Worker(settings, processor=processor, transport=None, clock=Clock())  # type: ignore[arg-type]
    report = await worker.run(once=True)
    assert report.pushed == 1 and ANNA_NORM in path.read_text()


# -- configuration ------------------------------------------------------------------------------


def test_marketing_config_parses_and_names_bad_keys(tmp_path: Path) -> None:
    env = {"HOOK_KEY": "k", "LM_TOKEN": "t", "PARDOT_SECRET": "s"}
    s = settings_from_dict({
        "suppression": {"fold_plus_domains": ["Gmail.com"], "list_unsubscribe_addresses": ["unsub@example.se"]},
        "marketing": [
            {"kind": "webhook", "name": "crm", "url": "https://crm.example.se/hook", "secret_env": "HOOK_KEY",
             "hashed_only": True},
            {"kind": "listmonk", "url": "https://lists.example.se", "username": "inboxbot",
             "token_env": "LM_TOKEN", "lists": {"newsletter": 4}},
            {"kind": "pardot", "business_unit_id": "0Uv1", "token_url": "https://login.example.com/t",
             "client_id": "c", "client_secret_env": "PARDOT_SECRET"},
            {"kind": "file", "path": "export/suppressed.json", "format": "json"},
        ],
    }, base=tmp_path, environ=env)
    assert [t.name for t in s.marketing] == ["crm", "listmonk", "pardot", "file"]
    assert s.marketing[1].list_id("newsletter") == "4" and s.marketing[1].list_id("other") is None
    assert s.marketing[2].url == "https://pi.pardot.com"
    assert s.marketing[3].path == tmp_path / "export/suppressed.json"
    assert s.suppression.fold_plus_domains == frozenset({"gmail.com"})
    assert len(make_targets(s)) == 4

    bad = [
        ({"kind": "webhook", "url": "https://x.example/h"}, "marketing[0].secret"),
        ({"kind": "webhook", "url": "https://x.example/h", "secret": "inline"}, "marketing[0].secret"),
        ({"kind": "webhook", "url": "ftp://x", "secret_env": "HOOK_KEY"}, "marketing[0].url"),
        ({"kind": "mailchimp"}, "marketing[0].kind"),
        ({"url": "https://x.example"}, "marketing[0].kind"),
        ({"kind": "file"}, "marketing[0].path"),
        ({"kind": "file", "path": "x", "token_env": "LM_TOKEN"}, "marketing[0].token_env"),
        ({"kind": "pardot", "business_unit_id": "0Uv1"}, "marketing[0].access_token"),
        ({"kind": "listmonk", "url": "https://l.example", "lists": {"n": True}, "username": "u",
          "token_env": "LM_TOKEN"}, "marketing[0].lists"),
    ]
    for table, key in bad:
        with pytest.raises(ConfigError, match=rf"^{key.replace('[', '.').replace(']', '.')}"):
            settings_from_dict({"marketing": [table]}, base=tmp_path, environ=env)
    with pytest.raises(ConfigError, match="share a name"):
        settings_from_dict({"marketing": [{"kind": "file", "path": "a"}, {"kind": "file", "path": "b"}]},
                           base=tmp_path, environ=env)
    with pytest.raises(ConfigError, match="suppression.fold_plus_domains"):
        settings_from_dict({"suppression": {"fold_plus_domains": "gmail.com"}}, environ=env)
