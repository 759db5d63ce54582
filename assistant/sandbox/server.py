"""The stand-ins in one aiohttp server, as `python -m assistant.sandbox` (`make run`) runs it.

Each stand-in is mounted under its own prefix, so a client is configured exactly as for the real
system, with the prefix in the base URL:

    /zgw/        Open Zaak   (/zgw/zaken/api/v1/..., /zgw/catalogi/api/v1/...)
    /jcc/        JCC-Afspraken REST
    /qmatic/     Qmatic Orchestra Calendar
    /signalen/   Signalen public API
    /openklant/  Open Klant (/openklant/klantinteracties/api/v1/...)
    /whatsapp/   WhatsApp Cloud API, Meta's Graph API (/whatsapp/v19.0/{phone_number_id}/messages)
    /twilio/     Twilio Messages API (/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json)

They share one database (each prefixes its own tables). `GET /` answers `{"status": "ok"}` for
health checks. The credentials the stand-ins accept come only from the environment, never from a
default in the code, so a sandbox is never reachable with a password anyone can read here; a
missing one stops start-up with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from assistant.sandbox import jcc, openklant, qmatic, signalen, twilio_messages, whatsapp, zgw
from assistant.settings import ConfigError


@dataclass(frozen=True)
class SandboxCredentials:
    """What the stand-ins accept. Secrets stay out of `repr`, and so out of logs."""

    zgw_client_id: str
    zgw_secret: str = field(repr=False)
    jcc_client_id: str
    jcc_secret: str = field(repr=False)
    qmatic_api_key: str = field(repr=False)
    openklant_token: str = field(repr=False)
    whatsapp_token: str = field(repr=False)
    twilio_account_sid: str
    twilio_auth_token: str = field(repr=False)


# Each field of SandboxCredentials and the environment variable it is read from.
VARIABLES = {
    "zgw_client_id": "SANDBOX_ZGW_CLIENT_ID",
    "zgw_secret": "SANDBOX_ZGW_SECRET",
    "jcc_client_id": "SANDBOX_JCC_CLIENT_ID",
    "jcc_secret": "SANDBOX_JCC_SECRET",
    "qmatic_api_key": "SANDBOX_QMATIC_API_KEY",
    "openklant_token": "SANDBOX_OPENKLANT_TOKEN",
    "whatsapp_token": "SANDBOX_WHATSAPP_TOKEN",
    "twilio_account_sid": "SANDBOX_TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "SANDBOX_TWILIO_AUTH_TOKEN",
}


def load_credentials(env: Mapping[str, str]) -> SandboxCredentials:
    """The credentials from `env` (`os.environ` when run). ConfigError names every variable
    that is missing or blank, so one attempt to start tells everything that must be set."""
    values = {name: env.get(variable, "").strip() for name, variable in VARIABLES.items()}
    missing = [VARIABLES[name] for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"the sandbox needs {', '.join(missing)} in the environment")
    return SandboxCredentials(**values)


def create_app(database_url: str, credentials: SandboxCredentials) -> web.Application:
    """One application with every stand-in under its prefix, on one database."""
    zgw_clients = {credentials.zgw_client_id: credentials.zgw_secret}
    jcc_clients = {credentials.jcc_client_id: credentials.jcc_secret}
    stand_ins = {
        "/zgw": zgw.create_app(database_url, clients=zgw_clients),
        "/jcc": jcc.create_app(database_url, credentials=jcc_clients),
        "/qmatic": qmatic.create_app(database_url, api_keys={credentials.qmatic_api_key}),
        "/signalen": signalen.create_app(database_url),
        "/openklant": openklant.create_app(database_url, tokens=[credentials.openklant_token]),
        "/whatsapp": whatsapp.create_app(database_url, tokens=[credentials.whatsapp_token]),
        "/twilio": twilio_messages.create_app(
            database_url,
            accounts={credentials.twilio_account_sid: credentials.twilio_auth_token},
        ),
    }
    app = web.Application()
    app.router.add_get("/", _health)
    for prefix, stand_in in stand_ins.items():
        app.add_subapp(prefix, stand_in)
    return app


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
