import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from assistant.privacy import MAX_MESSAGE_CHARS, install_log_redaction, is_bsn, redact


def test_personal_data_is_masked() -> None:
    text = (
        "mail jan.jansen@example.nl of bel 06-12345678 of +31 30 123 4567, "
        "iban NL91 ABNA 0417 1643 00, bsn 111222333"
    )
    cleaned = redact(text)
    for secret in ("jan.jansen", "12345678", "123 4567", "0417", "111222333"):
        assert secret not in cleaned
    assert "[e-mail]" in cleaned and "[telefoon]" in cleaned and "[iban]" in cleaned
    assert "[bsn]" in cleaned


def test_ordinary_text_and_numbers_stay() -> None:
    text = "zaak ZAAK-2026-0000123, postcode 3511AB, kosten € 84,30, nummer 123456789"
    assert redact(text) == text  # 123456789 fails the 11-proef: not a BSN


def test_bsn_check() -> None:
    assert is_bsn("111222333")
    assert not is_bsn("123456789")


@contextmanager
def redacted_log(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler writes to a string, with the redaction filter installed."""
    stream = io.StringIO()
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_log_redaction(logger)
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_log_output_is_redacted() -> None:
    with redacted_log("test.privacy") as (logger, stream):
        logger.warning("bericht van %s over %s", "piet@example.org", "0612345678")
    assert stream.getvalue().strip() == "bericht van [e-mail] over [telefoon]"


# A quadratic pattern needs hours for a megabyte; these limits catch it many times over.
HOSTILE = {
    "word characters without @": "a" * 1_000_000,
    "dots and word characters before @": ("a." * 500_000) + "@",
    "many @ signs": "a@" * 500_000,
    "digits and spaces": "0 " * 500_000,
    "IBAN-like letters": "NL91" + "ABCD" * 250_000,
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_masking_takes_linear_time_on_hostile_text(name: str) -> None:
    text = HOSTILE[name]
    assert redact(text)  # finishing within the time limit is the point


@pytest.mark.timeout(20)
def test_a_huge_log_line_is_cut_before_it_is_masked() -> None:
    with redacted_log("test.privacy.huge") as (logger, stream):
        logger.warning("body: %s", "x" * 5_000_000 + " jan@example.nl")
    written = stream.getvalue()
    assert len(written) < MAX_MESSAGE_CHARS + 200
    assert "ingekort" in written


def test_a_traceback_is_masked_too() -> None:
    with redacted_log("test.privacy.traceback") as (logger, stream):
        try:
            raise ValueError("request from piet@example.org with 0612345678")
        except ValueError:
            logger.exception("failed")
    written = stream.getvalue()
    assert "Traceback" in written
    assert "piet@example.org" not in written and "0612345678" not in written
