"""What a history import did (or, with --dry-run, would do): counts per intent, and the table.

Plain data filled in by backfill.run, printed by `format_summary`. Tickets imported from history
carry their real legal due dates, counted from INTERNALDATE, so some are overdue the moment they
exist: the summary says how many, so the DPO knows where to start.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

COLUMNS = ("messages", "tickets", "follow-ups", "suppressed", "automated", "overdue")


@dataclass
class FolderResult:
    account: str
    folder: str
    since: int = 0  # messages on or after --since
    older: int = 0  # left alone: before --since
    cursor: int | None = None  # the UID `run` resumes after (None: not moved; dry run, error)
    error: str = ""


@dataclass
class BackfillSummary:
    since: date
    today: date
    dry_run: bool
    folders: list[FolderResult] = field(default_factory=list)
    rows: dict[str, Counter[str]] = field(default_factory=dict)  # intent -> column -> count
    suppressions: int = 0  # addresses put on the suppression list (old unsubscribes honoured)
    duplicates: int = 0  # already in the store (or twice in the mailbox)
    dead_letters: int = 0
    breaches: int = 0  # tickets reporting a personal data breach: the 72 h clock has run
    overdue_references: list[str] = field(default_factory=list)

    def add(self, intent: str, outcome: str, *, suppressed: bool, overdue: bool) -> None:
        """Count one message by its main intent and what happened to it."""
        if outcome == "duplicate":
            self.duplicates += 1
            return
        if outcome == "dead_letter":
            self.dead_letters += 1
            return
        row = self.rows.setdefault(intent or "none", Counter())
        row["messages"] += 1
        row["tickets"] += outcome == "ticket"
        row["follow-ups"] += outcome == "follow_up"
        row["suppressed"] += suppressed
        row["automated"] += outcome in ("automated", "own_mail")
        row["overdue"] += overdue
        self.suppressions += suppressed

    def total(self, column: str) -> int:
        return sum(row[column] for row in self.rows.values())

    @property
    def failed(self) -> bool:
        return any(f.error for f in self.folders)


def format_summary(s: BackfillSummary) -> str:
    """The table and the sentences an operator reads after `inboxbot backfill`."""
    verb = "would import" if s.dry_run else "imported"
    out = [f"backfill since {s.since.isoformat()}{' (dry run: nothing written)' if s.dry_run else ''}"]
    for f in s.folders:
        if f.error:
            out.append(f"  {f.account}/{f.folder}: FAILED: {f.error}")
            continue
        resume = f"; `run` continues after UID {f.cursor}" if f.cursor is not None else ""
        out.append(f"  {f.account}/{f.folder}: {f.since} message(s) {verb}, {f.older} older "
                   f"left alone{resume}")
    out.append("")
    width = max([len("intent"), len("total"), *(len(k) for k in s.rows)])
    out.append("  ".join([f"{'intent':<{width}}", *(f"{c:>10}" for c in COLUMNS)]))
    for intent in sorted(s.rows, key=lambda k: (-s.rows[k]["messages"], k)):
        out.append("  ".join([f"{intent:<{width}}", *(f"{s.rows[intent][c]:>10}" for c in COLUMNS)]))
    out.append("  ".join([f"{'total':<{width}}", *(f"{s.total(c):>10}" for c in COLUMNS)]))
    out.append("")
    out.append("No acknowledgement and no escalation " + ("would be" if s.dry_run else "was")
               + " sent for this mail.")
    if s.duplicates or s.dead_letters:
        out.append(f"{s.duplicates} duplicate(s) skipped; {s.dead_letters} message(s) kept as "
                   "dead letters (see the log).")
    if s.suppressions:
        out.append(f"{s.suppressions} sender(s) {'would be' if s.dry_run else 'were'} put on the "
                   "suppression list: an old request to stop marketing still counts.")
    overdue = s.total("overdue")
    if overdue:
        out.append(f"{overdue} ticket(s) {'would already be' if s.dry_run else 'are already'} past "
                   f"their legal due date (counted from when the mail arrived, as of "
                   f"{s.today.isoformat()}): handle these first (`inboxbot tickets list`); the "
                   "worker's deadline reminders will name them to the DPO too.")
    if s.breaches:
        out.append(f"{s.breaches} message(s) report a personal data breach: the DPO must look at "
                   "them today (Art. 33: 72 hours from awareness).")
    if s.dry_run:
        out.append("A dry run does not read the store: follow-ups to existing tickets and mail "
                   "already handled show as new here.")
    return "\n".join(out)
