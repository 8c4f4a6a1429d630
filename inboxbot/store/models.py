"""Tortoise models: the durable record of everything inboxbot saw and did.

The same models run on SQLite (default) and PostgreSQL. Unique keys are what make a crash
followed by a restart safe: a message, a ticket per message, an outbox item per purpose can
each be written once only.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tortoise import fields, models


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class MailboxCursor(models.Model):
    """How far a folder has been processed. One row per (account, folder)."""

    id = fields.IntField(primary_key=True)
    account = fields.CharField(max_length=200)
    folder = fields.CharField(max_length=500)
    uidvalidity = fields.BigIntField(default=0)
    last_uid = fields.BigIntField(default=0)
    last_success_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "mailbox_cursor"
        unique_together = (("account", "folder"),)


class Ticket(models.Model):
    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=40, unique=True, null=True)
    sender = fields.CharField(max_length=320, default="")
    sender_name = fields.CharField(max_length=200, default="")
    language = fields.CharField(max_length=8, default="und")
    intents = fields.JSONField(default=list)
    status = fields.CharField(max_length=24, default="open", db_index=True)
    received_at = fields.DatetimeField()
    due_date = fields.DateField()
    due_rule = fields.TextField(default="")
    subject = fields.CharField(max_length=500, default="")
    summary = fields.CharField(max_length=300, default="")
    needs_review = fields.BooleanField(default=False)
    breach = fields.BooleanField(default=False)
    identity_verified = fields.BooleanField(default=False)
    extended = fields.BooleanField(default=False)
    status_reason = fields.TextField(default="")
    duplicate_of: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="duplicates", null=True, on_delete=fields.SET_NULL
    )
    closed_at = fields.DatetimeField(null=True)
    anonymised_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "ticket"


class TicketEvent(models.Model):
    """Every change to a ticket: who, when, why. Nothing about a ticket changes silently."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField(default=_utc_now)  # callers pass their clock's now
    actor = fields.CharField(max_length=100, default="inboxbot")
    kind = fields.CharField(max_length=40)
    detail = fields.TextField(default="")

    class Meta:
        table = "ticket_event"


class ProcessedMessage(models.Model):
    """One inbound message and what was decided for it. Message-ID is unique: the same mail
    arriving at privacy@ and dpo@ is handled once."""

    id = fields.IntField(primary_key=True)
    message_id = fields.CharField(max_length=998, unique=True)
    account = fields.CharField(max_length=200)
    folder = fields.CharField(max_length=500)
    uidvalidity = fields.BigIntField(default=0)
    uid = fields.BigIntField(default=0)
    received_at = fields.DatetimeField()
    sender = fields.CharField(max_length=320, default="")
    subject = fields.CharField(max_length=500, default="")
    body = fields.TextField(default="")
    language = fields.CharField(max_length=8, default="und")
    label = fields.CharField(max_length=32)
    intents = fields.JSONField(default=list)
    confidence = fields.FloatField(default=0.0)
    automated = fields.BooleanField(default=False)
    needs_review = fields.BooleanField(default=False)
    outcome = fields.CharField(max_length=32)
    reasons = fields.JSONField(default=list)
    ack_withheld = fields.CharField(max_length=200, default="")
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    # What the parser had to repair or cut (Inbound.defects): the record of what was done with
    # a malformed, hostile or oversized message.
    defects = fields.JSONField(default=list)

    class Meta:
        table = "processed_message"


class Suppression(models.Model):
    """An address that must get no marketing. The hash outlives the address (after erasure)."""

    id = fields.IntField(primary_key=True)
    address_hash = fields.CharField(max_length=64, db_index=True)
    address = fields.CharField(max_length=320, null=True)
    scope = fields.CharField(max_length=100, default="all")
    source = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "suppression"
        unique_together = (("address_hash", "scope"),)


class OutboxItem(models.Model):
    """A message to send, fully rendered. `dedupe_key` makes each purpose happen once."""

    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=300, unique=True)
    purpose = fields.CharField(max_length=32)  # ack, escalation, reminder, digest
    recipient = fields.CharField(max_length=320)
    message_id = fields.CharField(max_length=300, db_index=True)
    payload = fields.TextField()  # the RFC 5322 message as sent
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="outbox", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(db_index=True)  # set by the caller: tests freeze the clock
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"


class DeadLetter(models.Model):
    """A message some stage could not handle, kept whole so it can be replayed after a fix."""

    id = fields.IntField(primary_key=True)
    account = fields.CharField(max_length=200)
    folder = fields.CharField(max_length=500)
    uidvalidity = fields.BigIntField(default=0)
    uid = fields.BigIntField(default=0)
    raw_bytes = fields.BinaryField()
    internaldate = fields.DatetimeField(null=True)
    stage = fields.CharField(max_length=32)
    error = fields.TextField(default="")
    status = fields.CharField(max_length=16, default="new")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dead_letter"


class SuppressionPush(models.Model):
    """One suppression event on its way to one marketing system: the persistent push outbox.

    Written in the same transaction as the Suppression row, so a crash cannot leave a
    suppression that never reaches marketing. `(event_id, target)` is unique: an event goes to a
    target once; adapters are idempotent, so a retry after an unclear failure is harmless.
    Rows for one target are delivered in order (an unsuppress never overtakes its suppress).
    """

    id = fields.IntField(primary_key=True)
    event_id = fields.CharField(max_length=64)
    target = fields.CharField(max_length=100, db_index=True)
    action = fields.CharField(max_length=16)  # suppress, unsuppress, forget
    address = fields.CharField(max_length=320, null=True)  # dropped on erasure
    address_hash = fields.CharField(max_length=64, db_index=True)
    scope = fields.CharField(max_length=100, default="all")
    event_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="pending", db_index=True)  # pending, sent, failed
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "suppression_push"
        unique_together = (("event_id", "target"),)


class SuppressionLog(models.Model):
    """Who changed the suppression list, when and why. Holds the hash, never the address."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=100, default="inboxbot")
    kind = fields.CharField(max_length=16)  # add, remove, forget, sync
    address_hash = fields.CharField(max_length=64, default="", db_index=True)
    scope = fields.CharField(max_length=100, default="")
    detail = fields.TextField(default="")

    class Meta:
        table = "suppression_log"


class DigestRun(models.Model):
    """One weekly digest: the record that makes the schedule survive restarts.

    `key` is the ISO week of the scheduled send ("2026-W47") for the scheduled digest, so a week
    is sent once however often the worker restarts; manual sends (`inboxbot digest --send`) get
    a key of their own and never stand in for the scheduled one. Delivery itself is tracked by
    the outbox items (purpose "digest") queued in the same transaction.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    week = fields.CharField(max_length=8, db_index=True)  # ISO week of the slot, "2026-W47"
    kind = fields.CharField(max_length=16, default="scheduled")  # scheduled, baseline, manual
    window_start = fields.DatetimeField()
    window_end = fields.DatetimeField()
    recipients: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()  # set by the caller: tests freeze the clock

    class Meta:
        table = "digest_run"


class MailboxLease(models.Model):
    """Which worker may fetch one (account, folder) until when. One row per (account, folder).

    A worker takes the row when it is free or expired and renews it well before `expires_at`;
    another worker takes over only after expiry. Singletons other than mailboxes use the same
    table with a reserved account name (see store/lease.py).
    """

    id = fields.IntField(primary_key=True)
    account = fields.CharField(max_length=200)
    folder = fields.CharField(max_length=500)
    holder = fields.CharField(max_length=200, default="")  # "host:pid", empty when released
    expires_at = fields.DatetimeField()
    acquired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mailbox_lease"
        unique_together = (("account", "folder"),)
