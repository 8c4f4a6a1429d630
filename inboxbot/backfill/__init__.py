"""First install on a mailbox with history: import old mail as tickets, without answering it.

See run.py for what an import does and does not do, summary.py for what it reports."""

from inboxbot.backfill.run import backfill
from inboxbot.backfill.summary import BackfillSummary, FolderResult, format_summary

__all__ = ["BackfillSummary", "FolderResult", "backfill", "format_summary"]
