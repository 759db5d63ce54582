import io
import logging

from assistant.privacy import install_log_redaction, is_bsn, redact


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


def test_log_output_is_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.privacy")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_log_redaction(logger)
        logger.warning("bericht van %s over %s", "piet@example.org", "0612345678")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == "bericht van [e-mail] over [telefoon]"
