"""The back-office services of one municipality, built from its content file and the environment.

Actions ask here for a municipality's `CaseService`, `AppointmentSystem`, `ReportService` or
`ContactRegistry`; they never build clients themselves. A service is built once per process and
municipality and shares the process's one aiohttp session. A part the content file does not
configure, or whose secret is missing, raises `NotConfigured` (a `BackendError`), which actions
answer like any other unavailable backend: with another way to get it done.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar, cast

import aiohttp

from assistant.backends.appointments.base import AppointmentSystem
from assistant.backends.appointments.jcc.client import JccClient
from assistant.backends.appointments.jcc.plugin import JccAppointments
from assistant.backends.appointments.qmatic.client import QmaticClient
from assistant.backends.appointments.qmatic.plugin import QmaticAppointments
from assistant.backends.config import resolve_url, secret
from assistant.backends.errors import NotConfigured
from assistant.backends.klantinteracties.client import KlantinteractiesClient
from assistant.backends.klantinteracties.contacts import ContactRegistry
from assistant.backends.signalen.client import SignalenClient
from assistant.backends.signalen.reports import ReportService
from assistant.backends.zgw.cases import CaseService
from assistant.backends.zgw.client import ZgwClient, ZgwConfig
from assistant.content import Municipality

T = TypeVar("T")


class BackendServices:
    """One process's services, per municipality; `env` is read when a service is first built."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env
        self._session: aiohttp.ClientSession | None = None
        self._built: dict[tuple[str, str], object] = {}

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._built.clear()  # clients hold the old session
        return self._session

    def cases(self, municipality: Municipality) -> CaseService:
        return self._once(municipality, "cases", self._build_cases)

    def appointments(self, municipality: Municipality) -> AppointmentSystem:
        return self._once(municipality, "appointments", self._build_appointments)

    def reports(self, municipality: Municipality) -> ReportService:
        return self._once(municipality, "reports", self._build_reports)

    def contacts(self, municipality: Municipality) -> ContactRegistry:
        return self._once(municipality, "contacts", self._build_contacts)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._built.clear()

    def _once(
        self,
        municipality: Municipality,
        kind: str,
        build: Callable[[Municipality, aiohttp.ClientSession], T],
    ) -> T:
        session = self.session()
        key = (municipality.id, kind)
        if key not in self._built:
            self._built[key] = build(municipality, session)
        return cast(T, self._built[key])

    def _build_cases(
        self, municipality: Municipality, session: aiohttp.ClientSession
    ) -> CaseService:
        config = municipality.backends.zaken
        if config is None:
            raise NotConfigured("zgw", f"{municipality.id} has no zaken backend")
        env = self.env
        client = ZgwClient(
            ZgwConfig(
                zaken_url=resolve_url(config.zaken_url, env, "zgw"),
                catalogi_url=resolve_url(config.catalogi_url, env, "zgw"),
                client_id=secret(env, config.client_id_env, "zgw"),
                secret=secret(env, config.secret_env, "zgw"),
                rsin=config.rsin,
            ),
            session=session,
        )
        return CaseService(client, rsin=config.rsin)

    def _build_appointments(
        self, municipality: Municipality, session: aiohttp.ClientSession
    ) -> AppointmentSystem:
        config = municipality.backends.appointments
        if config is None:
            raise NotConfigured("appointments", f"{municipality.id} has no appointment backend")
        env = self.env
        url = resolve_url(config.url, env, config.system)
        if config.system == "jcc":
            return JccAppointments(
                JccClient(
                    url,
                    secret(env, config.client_id_env, "jcc"),
                    secret(env, config.secret_env, "jcc"),
                    session=session,
                )
            )
        return QmaticAppointments(
            QmaticClient(url, secret(env, config.api_key_env, "qmatic"), session=session)
        )

    def _build_reports(
        self, municipality: Municipality, session: aiohttp.ClientSession
    ) -> ReportService:
        config = municipality.backends.signalen
        if config is None:
            raise NotConfigured("signalen", f"{municipality.id} has no Signalen backend")
        client = SignalenClient(resolve_url(config.url, self.env, "signalen"), session=session)
        return ReportService(client, fallback_point=config.fallback_point)

    def _build_contacts(
        self, municipality: Municipality, session: aiohttp.ClientSession
    ) -> ContactRegistry:
        config = municipality.backends.klantinteracties
        if config is None:
            raise NotConfigured("klantinteracties", f"{municipality.id} has no Open Klant backend")
        env = self.env
        client = KlantinteractiesClient(
            resolve_url(config.url, env, "klantinteracties"),
            secret(env, config.token_env, "klantinteracties"),
            session=session,
        )
        return ContactRegistry(client)


# The action server's services (one event loop, one session).
SERVICES = BackendServices()
