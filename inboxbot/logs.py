"""Logging set-up (only the CLI calls configure()) and address redaction.

This is a privacy mailbox: logs never carry message bodies, and addresses appear redacted.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from typing import Any

_ADDRESS = re.compile(r"([A-Za-z0-9._%+\-]{1,64})@([A-Za-z0-9.\-]{1,255}\.[A-Za-z]{2,63})")


def redact_address(address: str) -> str:
    """'anna.svensson@example.se' -> 'a***@example.se'. Keeps the domain for diagnosis."""
    local, sep, domain = address.rpartition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain.lower()}"


def redact_text(text: str) -> str:
    """Redact every address inside free text (error messages from servers quote them)."""
    return _ADDRESS.sub(lambda m: redact_address(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Last line of defence: redact addresses in every formatted record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure(level: str = "INFO", *, json_logs: bool = False) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": RedactingFilter}},
            "formatters": {
                "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "json" if json_logs else "plain",
                    "filters": ["redact"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            # tortoise logs every SQL statement with its parameters at DEBUG: bodies and addresses.
            "loggers": {
                "tortoise": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                "asyncio": {"level": "WARNING"},
                "imapclient": {"level": "WARNING"},
                "mail.log": {"level": "WARNING"},
            },
        }
    )
