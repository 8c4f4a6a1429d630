"""`inboxbot suppress add | remove | forget | sync | push | status`: the writing side of the CLI.

(`list`, `check` and `export` are read-only views in inboxbot.reports.) Each command opens the
store, does one thing in one transaction, and prints what it did. Exit codes: 0 done, 1 nothing
to do (not on the list) or a push still waiting, 2 usage error.
"""

from __future__ import annotations

import sys

from inboxbot.clock import now
from inboxbot.config import Settings
from inboxbot.marketing import make_targets
from inboxbot.marketing import manage
from inboxbot.marketing.pushes import deliver_pushes
from inboxbot.store import close_store, open_store
from inboxbot.store.models import SuppressionPush

USAGE = {
    "add": "inboxbot suppress add ADDRESS [--scope all|LIST] [--source TEXT]",
    "remove": "inboxbot suppress remove ADDRESS --reason TEXT [--scope all|LIST]",
    "forget": "inboxbot suppress forget ADDRESS --reason TEXT",
}


def _usage_error(action: str, problem: str) -> int:
    print(f"inboxbot suppress {action}: {problem}\n  usage: {USAGE.get(action, '')}", file=sys.stderr)
    return 2


async def write_command(settings: Settings, action: str, address: str | None, *, scope: str = "all",
                        reason: str = "", source: str = "", actor: str = "dpo",
                        target: str | None = None) -> int:
    """Run one writing `suppress` subcommand; returns the exit code."""
    if action in ("add", "remove", "forget") and not address:
        return _usage_error(action, "give an ADDRESS")
    if action in ("remove", "forget") and not reason.strip():
        return _usage_error(action, "--reason is required: say why (it is recorded)")
    await open_store(settings.db_url)
    try:
        at = now()
        if action == "add":
            assert address is not None
            added = await manage.add(settings, address, now=at, scope=scope,
                                     source=source or f"added by {actor}", actor=actor)
            norm = manage.normalised(settings, address)[0]
            print(f"{norm}: {'suppressed' if added else 'already suppressed'} (scope {scope})"
                  + _queued_note(settings, added))
            return 0
        if action == "remove":
            assert address is not None
            removed = await manage.remove(settings, address, now=at, reason=reason, scope=scope,
                                          actor=actor)
            if not removed:
                print(f"{address}: not on the suppression list (scope {scope})")
                return 1
            print(f"{address}: removed from the suppression list (scope {scope}); reason recorded"
                  + _queued_note(settings, True)
                  + "\n  Marketing systems are not asked to re-subscribe anyone: that needs the "
                    "person's own opt-in there.")
            return 0
        if action == "forget":
            assert address is not None
            result = await manage.forget(settings, address, now=at, reason=reason, actor=actor)
            what = "added as a hash-only entry" if result.created else f"{result.rows} entr" + \
                ("y" if result.rows == 1 else "ies") + " now hash-only"
            print(f"address forgotten: {what}; `suppress check` still answers from the hash"
                  + _queued_note(settings, bool(settings.marketing)))
            if result.unsent:
                print(f"  warning: {result.unsent} push(es) had not reached their system yet and now "
                      "carry no address; suppress the person there by hand (see `suppress status`)",
                      file=sys.stderr)
            return 0
        if action == "sync":
            count = await manage.sync(settings, now=at, target=target, actor=actor)
            names = target or ", ".join(t.name for t in settings.marketing) or "no targets"
            print(f"{count} entr{'y' if count == 1 else 'ies'} queued for {names}; "
                  "`inboxbot suppress push` (or the worker) delivers them")
            return 0
        if action == "push":
            targets = [t for t in make_targets(settings) if target is None or t.name == target]
            report = await deliver_pushes(targets, now)
            waiting = await SuppressionPush.filter(
                status="pending", target__in=[t.name for t in targets]).count()
            print(f"{report.sent} delivered, {report.deferred} deferred, {report.failed} refused, "
                  f"{waiting} waiting")
            for error in report.errors:
                print(f"  {error}", file=sys.stderr)
            return 1 if waiting else 0
        return await _status()
    finally:
        await close_store()


def _queued_note(settings: Settings, queued: bool) -> str:
    if not queued or not settings.marketing:
        return ""
    return f"; queued for {', '.join(t.name for t in settings.marketing)}"


async def _status() -> int:
    rows = await SuppressionPush.all().order_by("target", "id")
    if not rows:
        print("no suppression pushes")
        return 0
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[(r.target, r.status)] = counts.get((r.target, r.status), 0) + 1
    for (target_name, status), n in sorted(counts.items()):
        print(f"{target_name:<20} {status:<8} {n}")
    for r in rows:
        if r.status == "failed" or (r.status == "pending" and r.attempts):
            print(f"  {r.target}: {r.action} {r.address_hash[:12]}… {r.status} after {r.attempts} "
                  f"attempt(s): {r.last_error}")
    return 0
