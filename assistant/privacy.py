"""Keep personal data out of logs (AVG): BSN, phone numbers, e-mail addresses and IBANs.

Residents type these into the chat, and libraries sometimes log what they receive (Rasa at debug
level logs whole messages). A filter on every log handler masks them before anything is written,
whatever the logger and level.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}\s?(?:[A-Z0-9]{4}\s?){2,7}[A-Z0-9]{1,4}\b", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])(?:\+31|0031|0)(?:[\s-]?\d){9}(?!\d)")
NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")


def is_bsn(digits: str) -> bool:
    """The 11-proef that every BSN passes (weights 9..2 and -1 for the last digit)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return (
        sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0
        and digits != "000000000"
    )


def redact(text: str) -> str:
    text = EMAIL.sub("[e-mail]", text)
    text = IBAN.sub("[iban]", text)
    text = PHONE.sub("[telefoon]", text)
    return NINE_DIGITS.sub(lambda m: "[bsn]" if is_bsn(m.group()) else m.group(), text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger (idempotent)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
