"""One request method for every backend client: timeout, error translation and a content check.

Modelled on python-twentemilieu's `_request`: a client is given an aiohttp session (one per
process) or opens its own, and closes only a session it opened. Every call goes through
`JsonClient.request`, so timeouts and the mapping of failures onto `errors` live in one place.
A standard's particulars are hooks, not overrides of `request`: `request_headers` (auth and
headers that depend on the method), `error_code` (the vendor's code in a refusal),
`error_detail` (the vendor's text for a 5xx) and `retry_delay` (whether a failed attempt is
tried again, and after how long).

A resident waits at most `timeout` seconds for one call, retries included. By default an
idempotent request (GET, HEAD, DELETE, PUT) is tried once more, at once and within what is left
of that time, only when the connection failed (refused, reset, dropped) or a gateway answered
502, 503 or 504: then a second try has a real chance. A timeout is never retried: the backend is
slow rather than briefly away, and a second wait would double the resident's. By default a POST
or PATCH is never repeated, so nothing is booked or filed twice by the client; a standard whose
vendor documents that a refused write was not carried out (WhatsApp's 429 and 5xx) may say
otherwise in its `retry_delay`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from typing_extensions import Self

from assistant.backends.errors import BackendRejected, BackendUnavailable, NotFound

DEFAULT_TIMEOUT_SECONDS = 2.5
IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "PUT"})
RETRIES = 1
# A gateway in front of the backend says it is briefly away; a plain 500 is a bug, not retried.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class FailedAttempt:
    """One attempt that failed in a way another attempt might not: what `retry_delay` decides on.

    `status` is None when the connection failed (refused, reset, dropped); otherwise it is a 5xx
    or 429, and `headers` are the response's (Retry-After). `error` is what the call raises when
    no other attempt follows.
    """

    method: str
    number: int  # 1 for the first attempt
    status: int | None
    headers: Mapping[str, str]
    error: BackendUnavailable | BackendRejected


class _Retryable(Exception):
    """Carries a failed attempt from `_once` to `request`, which asks `retry_delay` about it."""

    def __init__(
        self,
        error: BackendUnavailable | BackendRejected,
        status: int | None,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.headers = headers


class JsonClient:
    """Base for a client of one JSON API at `base_url` (which ends with "/")."""

    system = "backend"

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._session = session
        self._own_session = session is None
        self._timeout = timeout

    async def request_headers(self, method: str) -> Mapping[str, str]:
        """Headers for one attempt of a `method` request: authentication, and what a standard
        asks per kind of request (ZGW's `Content-Crs` on writes). Asked again for every attempt,
        so a token is never older than its request. Subclasses override; none by default."""
        return {}

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """The vendor's error code in a failed response, if it has one (problem+json by default).

        Callers act on it (e.g. a slot that was taken), so it is kept apart from the message.
        """
        return body.get("code") if isinstance(body, dict) else None

    def error_detail(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """The vendor's own explanation of a 5xx, added to the error message for whoever reads
        the logs (Qmatic sends it in a header). None by default: a 5xx body is rarely useful."""
        return None

    def retry_delay(self, failed: FailedAttempt) -> float | None:
        """Seconds to wait before another attempt after `failed`, or None to raise its error.

        By default an idempotent request gets one more, immediate, attempt when the connection
        failed or a gateway answered 502, 503 or 504; nothing else is repeated. Whatever this
        returns, no attempt starts after the call's one timeout has run out.
        """
        if failed.method not in IDEMPOTENT or failed.number > RETRIES:
            return None
        return 0.0 if failed.status is None or failed.status in RETRY_STATUSES else None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        absolute: bool = False,
    ) -> Any:
        """Send one request and return the decoded JSON body (None for an empty body).

        Raises NotFound (404), BackendRejected (other 4xx) or BackendUnavailable (timeout,
        connection error, 5xx, or a body that is not JSON). `headers` win over the hook's.
        """
        url = path if absolute else self.base_url + path.lstrip("/")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        number = 0
        while True:
            number += 1
            try:
                return await self._once(method, url, params, json, data, headers, deadline)
            except _Retryable as failed:
                attempt = FailedAttempt(
                    method.upper(), number, failed.status, failed.headers, failed.error
                )
                delay = self.retry_delay(attempt)
                if delay is None or loop.time() + delay >= deadline:
                    raise failed.error from None
                if delay > 0:
                    await asyncio.sleep(delay)

    async def _once(
        self,
        method: str,
        url: str,
        params: Any,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | None,
        deadline: float,
    ) -> Any:
        session = await self._get_session()
        all_headers = {
            "Accept": "application/json",
            **(await self.request_headers(method.upper())),
            **(headers or {}),
        }
        # Measured after the headers: fetching a token (JCC) uses up the same time.
        seconds = deadline - asyncio.get_running_loop().time()
        if seconds <= 0:
            raise self._failed(method, url, asyncio.TimeoutError())
        try:
            async with session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as response:
                raw = await response.read()
                body = _decode(raw, response.content_type)
                status = response.status
                if status >= 500:
                    detail = self.error_detail(status, body, response.headers)
                    unavailable = BackendUnavailable(
                        self.system,
                        f"{method} {url} answered {status}" + (f": {detail}" if detail else ""),
                    )
                    raise _Retryable(unavailable, status, response.headers)
                if status == 404:
                    raise NotFound(self.system, f"{method} {url} answered 404")
                if status >= 400:
                    rejected = BackendRejected(
                        self.system,
                        f"{method} {url} answered {status}",
                        status=status,
                        code=self.error_code(status, body, response.headers),
                    )
                    if status == 429:
                        raise _Retryable(rejected, status, response.headers)
                    raise rejected
                if raw and body is None:
                    raise BackendUnavailable(self.system, f"{method} {url} answered no JSON")
                return body
        # ServerTimeoutError is both a timeout and a connection error: the timeout comes first.
        except asyncio.TimeoutError as error:
            raise self._failed(method, url, error) from None
        except aiohttp.ClientConnectionError as error:
            raise _Retryable(self._failed(method, url, error), None, {}) from None
        except aiohttp.ClientError as error:
            raise self._failed(method, url, error) from None

    def _failed(self, method: str, url: str, error: Exception) -> BackendUnavailable:
        return BackendUnavailable(self.system, f"{method} {url} failed: {type(error).__name__}")

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def close(self) -> None:
        """Close the session if this client opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw or not content_type.endswith("json"):
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return None
