"""Keep personal data out of logs (AVG): BSN, phone numbers, e-mail addresses and IBANs.

Residents type these into the chat, and libraries sometimes log what they receive (Rasa at debug
level logs whole messages; the SDK logs requests it cannot handle). A filter on every log handler
masks them before anything is written, whatever the logger and level.

Logging must never cost a resident an answer, so redaction takes time linear in its input: every
pattern has bounded repetition (an unbounded `[\\w.]+@` backtracks quadratically over a long run of
word characters: 100 kB took 29 s), and a log record is cut to a bounded length before anything
scans it. The cut is marked, so a reader knows the line was longer.
"""

from __future__ import annotations

import logging
import re

# RFC 5321 limits: local part 64, each domain label 63 characters.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}\s?(?:[A-Z0-9]{4}\s?){2,7}[A-Z0-9]{1,4}\b", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])(?:\+31|0031|0)(?:[\s-]?\d){9}(?!\d)")
NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")

# Long enough for any useful log line; a traceback gets more room than a message.
MAX_MESSAGE_CHARS = 4_000
MAX_TRACEBACK_CHARS = 12_000


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
    """`text` with personal data masked; linear in the length of `text`."""
    if "@" in text:
        text = EMAIL.sub("[e-mail]", text)
    text = IBAN.sub("[iban]", text)
    text = PHONE.sub("[telefoon]", text)
    return NINE_DIGITS.sub(lambda m: "[bsn]" if is_bsn(m.group()) else m.group(), text)


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with the cut said in the text."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [ingekort: {len(text) - limit} tekens weggelaten]"


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message (and traceback) bounded and with personal data masked.

    A traceback is formatted here rather than by the handler, because exception messages carry
    what a library received (the SDK's include whole request bodies).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format in a library's call must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(bounded(message, MAX_MESSAGE_CHARS)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(bounded(record.exc_text, MAX_TRACEBACK_CHARS))
        if record.stack_info:
            record.stack_info = redact(bounded(record.stack_info, MAX_TRACEBACK_CHARS))
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger (idempotent)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
