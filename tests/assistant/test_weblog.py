import io
import logging

from aiohttp.http_exceptions import LineTooLong

from assistant.weblog import quiet_client_errors


def test_a_clients_malformed_request_is_one_line_not_a_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    server_logger = logging.getLogger("aiohttp.server")
    server_logger.addHandler(handler)
    server_logger.setLevel(logging.INFO)
    try:
        quiet_client_errors()
        try:
            raise LineTooLong("x" * 100, "8190", "65478")
        except LineTooLong:
            server_logger.exception("Error handling request")
        try:
            raise RuntimeError("our bug")
        except RuntimeError:
            server_logger.exception("Error handling request")
    finally:
        server_logger.removeHandler(handler)
    first, *rest = stream.getvalue().split("malformed request refused", 1)[1].splitlines()
    assert "LineTooLong" in first
    assert "Traceback" in "\n".join(rest) and "our bug" in "\n".join(rest), "real failures stay"
    assert stream.getvalue().count("Traceback") == 1
