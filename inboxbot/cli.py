"""Command line: `inboxbot run | demo | classify | tickets | purge | digest | suppress`.

The only module that configures logging. Exit codes: 0 ok, 1 some input was bad (reported),
2 configuration or usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from inboxbot import logs
from inboxbot.config import Settings, load_settings
from inboxbot.errors import ConfigError, InboxbotError

log = logging.getLogger("inboxbot")

DEFAULT_CONFIG = Path("/etc/inboxbot/inboxbot.toml")


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or os.environ.get("INBOXBOT_CONFIG")
    if path:
        return load_settings(Path(path))
    if DEFAULT_CONFIG.exists():
        return load_settings(DEFAULT_CONFIG)
    raise ConfigError(
        "no configuration: pass --config FILE or set INBOXBOT_CONFIG "
        f"(see config/inboxbot.example.toml); {DEFAULT_CONFIG} does not exist"
    )


# -- run ---------------------------------------------------------------------------------------


async def _run(settings: Settings, once: bool) -> int:
    from inboxbot.classify import close_classifiers, make_classifier
    from inboxbot.language import load_in_background
    from inboxbot.metrics import Metrics
    from inboxbot.pipeline import Processor
    from inboxbot.service import serve
    from inboxbot.store import close_store, open_store
    from inboxbot.transport import make_transport
    from inboxbot.worker import Worker

    load_in_background()  # the language identifier, needed by the first message parsed
    await open_store(settings.db_url)
    try:
        worker = Worker(settings, Processor(settings, make_classifier(settings, worker=True)),
                        make_transport(settings.transport), metrics=Metrics(settings.metrics))
        if once:
            report = await worker.run(once=True)
        else:
            log.info("watching %d mailbox(es)", len(settings.mailboxes))
            report = await serve(settings, worker)  # SIGTERM stops it; tells systemd
        log.info("done: %d message(s), %d sent, %d waiting in the outbox",
                 len(report.outcomes), report.sent, report.pending)
        return 1 if report.errors and once else 0
    finally:
        close_classifiers()
        await close_store()


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return asyncio.run(_run(settings, args.once))


# -- demo --------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from inboxbot.demo import run_demo

    return asyncio.run(run_demo(Path(args.out), profile=args.profile))


# -- classify ----------------------------------------------------------------------------------


def cmd_classify(args: argparse.Namespace) -> int:
    from inboxbot.classify import make_classifier
    from inboxbot.parse import parse

    settings = _settings(args) if (args.config or os.environ.get("INBOXBOT_CONFIG")) else Settings()
    classifier = make_classifier(settings)
    status = 0
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
            msg = parse(raw)
            verdict = classifier.classify([msg])[0]
        except (OSError, InboxbotError) as exc:
            status = 1
            error = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if args.json:
                print(json.dumps({"file": name, "error": error}, ensure_ascii=False))
            else:
                print(f"{name}: error: {error}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({
                "file": name,
                "label": str(verdict.label),
                "confidence": round(verdict.confidence, 4),
                "language": verdict.language,
                "automated": verdict.automated,
                "intents": [{"label": str(s.intent), "confidence": round(s.confidence, 4)}
                            for s in verdict.intents],
                "needs_review": verdict.needs_review,
                "breach_reported": verdict.breach_reported,
                "reasons": list(verdict.reasons),
            }, ensure_ascii=False), flush=True)
        else:
            extra = ", ".join(str(s.intent) for s in verdict.intents[1:])
            print(f"{name}: {verdict.label} ({verdict.confidence:.2f}, {verdict.language})"
                  + (f" also {extra}" if extra else "") + (" [automated]" if verdict.automated else ""))
    return status


def cmd_eval(args: argparse.Namespace) -> int:
    from inboxbot.classify import make_classifier
    from inboxbot.corpus import DEFAULT_CORPUS, load_corpus
    from inboxbot.evaluate import evaluate, format_errors, format_report

    settings = _settings(args) if (args.config or os.environ.get("INBOXBOT_CONFIG")) else Settings()
    if args.rules:
        from dataclasses import replace

        settings = replace(settings, classifier=replace(settings.classifier, kind="rules"))
    corpus = Path(args.corpus) if args.corpus else DEFAULT_CORPUS
    examples = [e for e in load_corpus(corpus) if args.split == "all" or e.split == args.split]
    if not examples:
        print(f"inboxbot eval: no messages in {corpus} (split {args.split})", file=sys.stderr)
        return 1
    classifier = make_classifier(settings)
    report = evaluate(classifier, examples)
    print(format_report(report, f"{settings.classifier.kind} classifier on {corpus} ({args.split})"))
    if args.errors:
        print(format_errors(report))
    return 0


# -- tickets and suppressions --------------------------------------------------------------------


def cmd_tickets(args: argparse.Namespace) -> int:
    from inboxbot.reports import list_tickets

    return asyncio.run(list_tickets(_settings(args), status=args.status, as_json=args.json))


def cmd_ticket_show(args: argparse.Namespace) -> int:
    from inboxbot.reports import show_ticket

    return asyncio.run(show_ticket(_settings(args), args.reference))


def cmd_ticket_change(args: argparse.Namespace) -> int:
    from inboxbot.reports import change_ticket

    reason = " ".join(getattr(args, "text", None) or []) or (args.reason or "")
    actor = args.actor or os.environ.get("SUDO_USER") or os.environ.get("USER") or "dpo"
    return asyncio.run(change_ticket(_settings(args), args.reference, args.operation,
                                     actor=actor, reason=reason))


def cmd_purge(args: argparse.Namespace) -> int:
    from inboxbot.reports import purge_command

    return asyncio.run(purge_command(_settings(args), dry_run=args.dry_run))


def cmd_suppress(args: argparse.Namespace) -> int:
    if args.action in ("list", "check", "export"):
        from inboxbot.reports import suppress_command

        return asyncio.run(suppress_command(_settings(args), args.action, args.address, args.format))
    from inboxbot.marketing.commands import write_command

    actor = args.actor or os.environ.get("SUDO_USER") or os.environ.get("USER") or "dpo"
    return asyncio.run(write_command(
        _settings(args), args.action, args.address, scope=args.scope, reason=args.reason or "",
        source=args.source or "", actor=actor, target=args.target,
    ))


def cmd_digest(args: argparse.Namespace) -> int:
    from inboxbot.digest.command import digest_command

    preview = Path(args.preview) if args.preview else None
    return asyncio.run(digest_command(_settings(args), preview=preview, send=args.send))


# -- database ----------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    from inboxbot.store import admin

    if args.action == "make":
        if not args.name:
            raise ConfigError("db make: give the migration a NAME, e.g. `inboxbot db make add_x`")
        return asyncio.run(admin.run_make(args.name))
    settings = _settings(args)
    if args.action == "upgrade":
        return asyncio.run(admin.run_upgrade(settings))
    return asyncio.run(admin.status(settings))


def cmd_deadletters(args: argparse.Namespace) -> int:
    from inboxbot import deadletters

    settings = _settings(args)
    if args.action == "list":
        return asyncio.run(deadletters.list_command(settings, status=args.status, as_json=args.json))
    if args.action == "show":
        if len(args.ids) != 1:
            raise ConfigError("deadletters show takes one ID")
        return asyncio.run(deadletters.show_command(settings, args.ids[0], raw=args.raw))
    if not args.ids and not args.all:
        raise ConfigError("deadletters retry: give IDs, or --all for every new or retried one")
    return asyncio.run(deadletters.retry_command(settings, args.ids, all_open=args.all))


# -- operations: history import, configuration check -------------------------------------------


def cmd_backfill(args: argparse.Namespace) -> int:
    from inboxbot.backfill.run import backfill_command

    return asyncio.run(backfill_command(_settings(args), args.since, dry_run=args.dry_run,
                                        mailboxes=args.mailbox or ()))


def cmd_config_check(args: argparse.Namespace) -> int:
    from inboxbot.configcheck import check_command

    path = args.config or os.environ.get("INBOXBOT_CONFIG") or str(DEFAULT_CONFIG)
    return asyncio.run(check_command(Path(path)))


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inboxbot", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("-c", "--config", help="TOML configuration (default: $INBOXBOT_CONFIG, then "
                                          f"{DEFAULT_CONFIG})")
    p.add_argument("--log-level", default=os.environ.get("INBOXBOT_LOG_LEVEL"),
                   help="DEBUG, INFO (default; WARNING for demo and classify), WARNING, ERROR")
    p.add_argument("--json-logs", action="store_true", help="one JSON object per log line")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="watch the configured mailboxes")
    r.add_argument("--once", action="store_true", help="process what is there, deliver, exit")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="process the bundled sample mailbox into a folder")
    d.add_argument("--out", default="demo-out", help="folder for the database and outgoing mail")
    d.add_argument("--profile", metavar="NAME", default=None,
                   help="run as a seed organisation from config/profiles/ (roxen, axsensor, ...)")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("classify", help="classify .eml files")
    c.add_argument("--json", action="store_true", help="one JSON object per file, in order")
    c.add_argument("files", nargs="+", metavar="FILE.eml")
    c.set_defaults(func=cmd_classify)

    ev = sub.add_parser("eval", help="measure the classifier on the labelled corpus")
    ev.add_argument("corpus", nargs="?", help="corpus folder (default: tests/data/corpus)")
    ev.add_argument("--split", choices=("heldout", "train", "all"), default="heldout")
    ev.add_argument("--rules", action="store_true", help="measure the rules alone")
    ev.add_argument("--errors", action="store_true", help="list the misclassified messages")
    ev.set_defaults(func=cmd_eval)

    t = sub.add_parser("tickets", help="tickets")
    t_sub = t.add_subparsers(dest="action", required=True)
    tl = t_sub.add_parser("list", help="open tickets by due date")
    tl.add_argument("--status", default="open", help="open (default), all, or a status name")
    tl.add_argument("--json", action="store_true")
    tl.set_defaults(func=cmd_tickets)

    ts = t_sub.add_parser("show", help="one ticket with its events and messages")
    ts.add_argument("reference")
    ts.set_defaults(func=cmd_ticket_show)
    for op, help_text in (
        ("note", "add a note"), ("verify", "identity verified"),
        ("extend", "extend by two months (Art. 12(3)); notifies the data subject"),
        ("answer", "mark answered"), ("close", "close"), ("reject", "reject (needs --reason)"),
        ("reopen", "reopen"), ("await-identity", "wait for proof of identity"),
    ):
        tp = t_sub.add_parser(op, help=help_text)
        tp.add_argument("reference")
        if op == "note":
            tp.add_argument("text", nargs="+")
        tp.add_argument("--reason", default="", help="why (required for extend and reject)")
        tp.add_argument("--actor", default="", help="who (default: $USER)")
        tp.set_defaults(func=cmd_ticket_change, operation=op.replace("-", "_"))

    pg = sub.add_parser("purge", help="anonymise closed tickets past the retention period")
    pg.add_argument("--dry-run", action="store_true", help="show what would go")
    pg.set_defaults(func=cmd_purge)

    dg = sub.add_parser("digest", help="the weekly DPO digest, now")
    dg_what = dg.add_mutually_exclusive_group(required=True)
    dg_what.add_argument("--preview", metavar="FILE.html",
                         help="write the HTML to FILE.html and the text beside it as FILE.txt; send nothing")
    dg_what.add_argument("--send", action="store_true",
                         help="queue it now (the weekly schedule is left alone) and deliver the outbox")
    dg.set_defaults(func=cmd_digest)

    s = sub.add_parser("suppress", help="the suppression list and its marketing systems",
                       description="list | check ADDRESS | export | add ADDRESS | remove ADDRESS "
                                   "--reason R | forget ADDRESS --reason R (after an erasure) | "
                                   "sync (queue everything again) | push (deliver now) | status")
    s.add_argument("action", choices=("list", "check", "export", "add", "remove", "forget", "sync",
                                      "push", "status"))
    s.add_argument("address", nargs="?", help="for check, add, remove, forget")
    s.add_argument("--format", choices=("csv", "json"), default="csv", help="for export")
    s.add_argument("--scope", default="all", help="add/remove: 'all' marketing (default) or a list name")
    s.add_argument("--reason", default="", help="remove/forget: why (required, recorded)")
    s.add_argument("--source", default="", help="add: where the request came from (ticket, message)")
    s.add_argument("--target", default=None, help="sync/push: only this marketing target")
    s.add_argument("--actor", default="", help="who (default: $USER)")
    s.set_defaults(func=cmd_suppress)

    db = sub.add_parser("db", help="database schema: status, upgrade (migrations)",
                        description="status: applied and pending migrations, and which worker holds "
                                    "which mailbox | upgrade: apply pending migrations (back up "
                                    "first) | make NAME: developers, write the next migration")
    db.add_argument("action", choices=("status", "upgrade", "make"))
    db.add_argument("name", nargs="?", help="for make: the migration's name")
    db.set_defaults(func=cmd_db)


    dl = sub.add_parser("deadletters", help="messages a stage could not handle; replay after a fix",
                        description="list [--status open|all|new|retried|resolved] | show ID [--raw] "
                                    "| retry ID... | retry --all")
    dl.add_argument("action", choices=("list", "show", "retry"))
    dl.add_argument("ids", nargs="*", type=int, metavar="ID")
    dl.add_argument("--status", default="open", help="list: open (new and retried; default), all, "
                                                     "or one status")
    dl.add_argument("--json", action="store_true", help="list: one JSON object per line")
    dl.add_argument("--raw", action="store_true", help="show: write the stored message bytes")
    dl.add_argument("--all", action="store_true", help="retry: every new or retried dead letter")
    dl.set_defaults(func=cmd_deadletters)
    bf = sub.add_parser("backfill", help="first install: import the mailbox's history as tickets, "
                                         "without acknowledging it",
                        description="Import mail received on or after --since as tickets (real due "
                                    "dates, so some are overdue at once), honour old unsubscribes, "
                                    "send no acknowledgement or escalation, and start `run` after it.")
    bf.add_argument("--since", type=_iso_date, required=True, metavar="YYYY-MM-DD",
                    help="import mail that arrived on or after this day")
    bf.add_argument("--dry-run", action="store_true", help="classify and report; write nothing")
    bf.add_argument("--mailbox", action="append", metavar="NAME",
                    help="only this mailbox (repeatable; default: every IMAP mailbox)")
    bf.set_defaults(func=cmd_backfill)

    cf = sub.add_parser("config", help="configuration: check")
    cf.add_argument("action", choices=("check",),
                    help="check: validate the file and try every connection (IMAP, SMTP, database), "
                         "the model and the templates; exit 1 on any failure")
    cf.set_defaults(func=cmd_config_check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = args.command in ("demo", "classify", "eval")  # their output is the table / the JSON
    logs.configure(args.log_level or ("WARNING" if quiet else "INFO"), json_logs=args.json_logs)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"inboxbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except InboxbotError as exc:
        print(f"inboxbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
