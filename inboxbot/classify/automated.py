"""Recognise mail that must never be answered: bounces, read receipts, auto-replies, list mail.

`automated_reasons(msg)` lists every signal found, strongest first; `automated_reason(msg)` returns
the first one or None. The answer only ever silences a message (no acknowledgement); the message is
still recorded, so a wrong "automated" costs a missed auto-reply, never a lost request.

Precision choices (why some obvious-looking signals are left out or fenced in):

* Headers (RFC 3834 Auto-Submitted, Precedence, List-*, an empty Return-Path, the Exchange and
  vacation-program X- headers) and DSN/MDN structure are trusted on their own: humans do not set them.
* Subject lines are the weakest signal. A subject counts only when a known marker *opens* it
  ("Automatic reply: ...", "Frånvaro:", "Undeliverable: ...") or is the whole subject; a reply or
  forward prefix ("Re:", "Sv:", "AW:", "Fwd:") in front means a person is writing about such a
  message. Even then, a subject-only hit is dropped when the body reads like a request (a rights
  word) and has no absence wording ("until", "tillbaka", "zurück", ...).
* Generic "noreply@" senders are *not* treated as automated: web contact forms relay people's
  requests from such addresses. Only bounce senders (MAILER-DAEMON, postmaster, noreply-dsn) are.
"""

from __future__ import annotations

import re

from inboxbot.domain import Inbound

# The headers this module reads; the parser must keep them in Inbound.headers.
HEADERS_USED: tuple[str, ...] = (
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "return-path",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "x-failed-recipients",
    "x-ms-exchange-generated-message-source",
    "x-inboxbot-ref",
    "content-type",
)

OWN_MAIL_HEADER = "x-inboxbot-ref"

_PRECEDENCE_AUTOMATED = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_SUPPRESS_TOKENS = ("all", "oof", "autoreply", "dr", "rn", "nrn")  # Exchange values meaning "no auto-reply"
_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "noreply-dsn", "mail-daemon"})
_BOUNCE_NAMES = re.compile(r"^(mail delivery (subsystem|system)|mailer-daemon)$", re.I)

# A reply or forward prefix: a person writing *about* an automated message.
_REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|wg|fw|fwd|vs|tr|rv|odp|res|antw|r)\s*(\[\d+\])?\s*:", re.I)

# Subject markers that open the subject. The separator after a marker is required (":", a dash,
# a bracket, or the end of the subject) so that "Absence of a reply to my letter" does not match.
_END = r"\s*(:|-|–|—|\]|\)|$)"
_DELIVERY_SUBJECTS = re.compile(
    r"^\s*\[?\s*(undeliverable|undelivered mail returned to sender|delivery status notification"
    r"(\s*\((failure|delay)\))?|mail delivery failed|delivery failure|returned mail|"
    r"failure notice|olevererbart|ej levererat|unzustellbar|non remis|non distribuable|"
    r"no se puede entregar|onbestelbaar|kan ikke leveres|ikke leveret|toimitus epäonnistui|"
    r"niedostarczalne|não entregue)" + _END,
    re.I,
)
_OOO_SUBJECTS = re.compile(
    r"^\s*\[?\s*(automatic reply|auto(-|\s)?reply|autoreply|auto response|out of (the )?office"
    r"( autoreply| reply)?|ooo|away from (the )?office|on vacation|vacation reply|"
    r"autosvar|automatiskt svar|automatisk svar|automatisk besked|frånvar(o|ande)|"
    r"fraværsmelding|fravær|ikke til stede|ude af kontoret|"
    r"abwesenheitsnotiz|automatische antwort|abwesend|nicht im büro|"
    r"réponse automatique|absence( du bureau)?|absent du bureau|"
    r"respuesta automática|fuera de la oficina|ausente|"
    r"risposta automatica|fuori sede|fuori ufficio|assente|"
    r"afwezig|automatisch antwoord|niet aanwezig|"
    r"poissaolo|automaattinen vastaus|lomalla|"
    r"odpowiedź automatyczna|autoodpowiedź|nieobecność|poza biurem|"
    r"resposta automática|ausência|fora do escritório)" + _END,
    re.I,
)
# Words that make a body read like a request rather than an absence note.
_REQUEST_CUES = re.compile(
    r"\b(gdpr|dataskydd|personuppgift\w*|radera|delete|erase|remove my|unsubscribe|"
    r"complain\w*|klagomål|registerutdrag|my (personal )?data|mina uppgifter|datenschutz|"
    r"löschen|supprimer|données personnelles)\b",
    re.I,
)
_ABSENCE_CUES = re.compile(
    r"\b(until|return(ing)? on|back (on|in|at)|limited access|tillbaka|åter|ledig|semester|"
    r"zurück|abwesend|de retour|absent|hasta el|fino al|tot en met|terug|tilbake|"
    r"takaisin|lomalla|wracam|regresso)\b",
    re.I,
)


def _tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in re.split(r"[,;\s]+", value) if t.strip()}


def _report_reason(msg: Inbound) -> str | None:
    """multipart/report: a DSN (bounce) or an MDN (read receipt), told apart by report-type."""
    ctype = (msg.header("content-type") or msg.content_type or "").lower()
    if not ctype.startswith("multipart/report") and msg.content_type.lower() != "multipart/report":
        return None
    if "disposition-notification" in ctype:
        return "mdn: multipart/report disposition-notification"
    if "delivery-status" in ctype:
        return "dsn: multipart/report delivery-status"
    return "dsn: multipart/report"


def _sender_reason(msg: Inbound) -> str | None:
    if msg.sender is None:
        return None
    local = msg.sender.addr.rpartition("@")[0].lower() or msg.sender.addr.lower()
    if local in _BOUNCE_LOCALPARTS:
        return f"{local} sender"
    if _BOUNCE_NAMES.match(msg.sender.name.strip()):
        return "mailer-daemon sender"
    return None


def _header_reasons(msg: Inbound) -> list[str]:
    out: list[str] = []
    auto = (msg.header("auto-submitted") or "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        out.append(f"auto-submitted: {auto.split(';')[0].strip()}")
    if msg.header("x-failed-recipients") is not None:
        out.append("x-failed-recipients")
    sender = _sender_reason(msg)
    if sender:
        out.append(sender)
    return_path = msg.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        out.append("empty return-path")
    for name in ("x-autoreply", "x-autorespond"):
        value = msg.header(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            out.append(name)
    suppress = _tokens(msg.header("x-auto-response-suppress") or "")
    hits = [t for t in _SUPPRESS_TOKENS if t in suppress]
    if hits:
        shown = {"all": "All", "oof": "OOF", "autoreply": "AutoReply"}.get(hits[0], hits[0].upper())
        out.append(f"x-auto-response-suppress: {shown}")
    if msg.header("x-ms-exchange-generated-message-source") is not None:
        out.append("x-ms-exchange-generated-message-source")
    precedence = (msg.header("precedence") or "").strip().lower()
    if precedence in _PRECEDENCE_AUTOMATED:
        out.append(f"precedence: {precedence}")
    for name in ("list-id", "list-unsubscribe", "list-post"):
        if msg.header(name) is not None:
            out.append(name)
    return out


def _subject_reason(msg: Inbound) -> str | None:
    """A marker that opens the subject, unless it is a reply/forward or the body is a request."""
    subject = msg.subject.strip()
    if _REPLY_PREFIX.match(subject):
        return None
    if _DELIVERY_SUBJECTS.match(subject):
        return "delivery-failure subject"
    match = _OOO_SUBJECTS.match(subject)
    if match is None:
        return None
    body = msg.body or msg.full_text
    if _REQUEST_CUES.search(body) and not _ABSENCE_CUES.search(body):
        return None
    return f"out-of-office subject ({match.group(1).strip().lower()})"


def own_mail_reason(msg: Inbound, own_domain: str | None = None) -> str | None:
    """Our own outgoing mail coming back: our marker header, or a Message-ID on our domain.

    An `Auto-Submitted: auto-replied` message may be ours or somebody's vacation program; either way
    `automated_reasons` silences it, so the loop is broken even when this returns None.
    """
    if msg.header(OWN_MAIL_HEADER) is not None:
        return "own mail: x-inboxbot-ref"
    if own_domain and msg.message_id.lower().rstrip(">").endswith("@" + own_domain.lower()):
        auto = (msg.header("auto-submitted") or "").strip().lower()
        if auto.startswith("auto-replied") or auto.startswith("auto-generated"):
            return "own mail: message-id on our domain"
    return None


def automated_reasons(msg: Inbound) -> list[str]:
    """Every automated-mail signal in `msg`, most telling first; empty for human mail."""
    reasons: list[str] = []
    own = own_mail_reason(msg)
    if own:
        reasons.append(own)
    report = _report_reason(msg)
    if report:
        reasons.append(report)
    reasons.extend(_header_reasons(msg))
    subject = _subject_reason(msg)
    if subject:
        reasons.append(subject)
    return reasons


def automated_reason(msg: Inbound) -> str | None:
    """The strongest reason `msg` must never be answered, or None when a person wrote it."""
    reasons = automated_reasons(msg)
    return reasons[0] if reasons else None
