"""Run a rig server in the foreground until Ctrl-C, for trying inboxbot by hand.

    python -m rig dovecot [--no-idle]
    python -m rig smtp [--port N]
    python -m rig postgres
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from rig import Dovecot, Postgres, RecordingSMTP, RigUnavailable


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def run_dovecot(args: argparse.Namespace) -> None:
    server = Dovecot(idle=not args.no_idle)
    try:
        server.start()
        print(f"Dovecot {'with' if server.idle else 'WITHOUT'} IDLE on {server.host}")
        print(f"  IMAP (plain/STARTTLS): {server.port}")
        print(f"  IMAPS:                 {server.ssl_port}")
        print(f"  CA file:               {server.ca_file}")
        print(f"  log:                   {server.log_file}")
        for user in server.users.values():
            print(f"  user {user.name}  password {user.password}")
        print("Ctrl-C stops it and deletes the folder.", flush=True)
        _wait_for_interrupt()
    finally:
        server.cleanup()


def run_smtp(args: argparse.Namespace) -> None:
    server = RecordingSMTP(port=args.port)
    server.start()
    print(f"Recording SMTP on {server.host}:{server.port}; Ctrl-C stops it.", flush=True)
    try:
        seen = 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(0.2):
            for got in server.messages[seen:]:
                print(f"  from {got.mail_from} to {', '.join(got.rcpt_tos)}: "
                      f"{got.message['Subject']!s} ({len(got.raw)} bytes)", flush=True)  # fmt: skip
            seen = len(server.messages)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def run_postgres(args: argparse.Namespace) -> None:
    server = Postgres()
    try:
        server.start()
        print(f"PostgreSQL on {server.url}", flush=True)
        print(f"  data: {server.data}\nCtrl-C stops it and deletes the folder.", flush=True)
        _wait_for_interrupt()
    finally:
        server.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="server", required=True)
    dove = sub.add_parser("dovecot", help="IMAP server with privacy@ and dpo@example.com")
    dove.add_argument("--no-idle", action="store_true", help="leave IDLE out of CAPABILITY")
    smtp = sub.add_parser("smtp", help="SMTP server that prints what it receives")
    smtp.add_argument("--port", type=int, default=None)
    sub.add_parser("postgres", help="PostgreSQL with an empty database 'inboxbot'")
    args = parser.parse_args(argv)
    runner = {"dovecot": run_dovecot, "smtp": run_smtp, "postgres": run_postgres}[args.server]
    try:
        runner(args)
    except RigUnavailable as exc:
        print(f"not available here: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
