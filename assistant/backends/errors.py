"""The few errors a backend client raises; no aiohttp exception ever leaves a client.

Actions catch `BackendError` and offer the resident another way (phone, web form, a person).
"""

from __future__ import annotations


class BackendError(Exception):
    """A back-office system could not do what was asked. `system` names it for the logs."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system


class BackendUnavailable(BackendError):
    """Timeout, connection failure or a 5xx: the system may work again later."""


class BackendRejected(BackendError):
    """A 4xx other than 404: the system refused the request. `code` is the vendor's error code
    (problem+json `code`, JCC `code`, ...) when it sent one."""

    def __init__(self, system: str, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(system, message)
        self.status = status
        self.code = code


class NotFound(BackendError):
    """The thing asked for does not exist (or the caller may not know it does)."""


class NotConfigured(BackendError):
    """A municipality's content file or environment lacks what this client needs."""
