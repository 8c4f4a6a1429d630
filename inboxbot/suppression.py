"""Normalising and hashing addresses for the suppression list.

The hash is what survives an erasure: after the person's data is deleted, only SHA-256 of the
normalised address remains, so they are never re-imported into marketing by mistake.
"""

from __future__ import annotations

import hashlib
import unicodedata


def normalise_address(address: str, *, fold_plus_domains: frozenset[str] = frozenset()) -> str:
    """Lower-case, Unicode NFC, surrounding space and angle brackets removed.

    Local parts are case-sensitive in theory (RFC 5321) and case-insensitive at every mailbox
    provider we know of; for suppression the broader match is the safe one, so both halves are
    lower-cased. Plus-addressing (`anna+news@`) is folded only for domains that configure it.
    """
    addr = unicodedata.normalize("NFC", address.strip().strip("<>").strip())
    local, sep, domain = addr.rpartition("@")
    if not sep:
        return addr.casefold()
    domain = domain.lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # keep the Unicode form; it still hashes consistently
    local = local.casefold()
    if domain in fold_plus_domains and "+" in local:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}"


def address_hash(address: str, *, fold_plus_domains: frozenset[str] = frozenset()) -> str:
    return hashlib.sha256(normalise_address(address, fold_plus_domains=fold_plus_domains)
                          .encode("utf-8")).hexdigest()
