"""Which back-office systems a municipality uses and where: the `backends:` of its content file.

Addresses and system choices are public configuration and live in the content file; secrets never
do: the file names the environment variables that hold them. An address may start with
`sandbox:/`, meaning "the sandbox stand-ins started with the assistant" (`make run`, the tests):
it resolves against SANDBOX_URL, so the demo municipalities need no real systems. Pointing a
municipality at its real Open Zaak or JCC is a change of this section only.

Example::

    backends:
      zaken:                       # ZGW Zaken and Catalogi (Open Zaak)
        zaken_url: https://zaken.example.nl/zaken/api/v1/
        catalogi_url: https://zaken.example.nl/catalogi/api/v1/
        client_id_env: UTRECHT_ZGW_CLIENT_ID
        secret_env: UTRECHT_ZGW_SECRET
        rsin: "002220647"
      appointments:
        system: jcc                # or qmatic (then: api_key_env)
        url: https://afspraken.example.nl/JCC/utrecht/G-Plan/api/api/warp/v1/
        client_id_env: UTRECHT_JCC_CLIENT_ID
        secret_env: UTRECHT_JCC_SECRET
      signalen:
        url: https://meldingen.example.nl/
        fallback_point: [5.1097, 52.0907]   # lon, lat used when only an address is known
      klantinteracties:
        url: https://klant.example.nl/
        token_env: UTRECHT_OPENKLANT_TOKEN

Every part is optional: without it, the assistant sends residents to the municipality's own
website and phone number for that task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft7Validator

from assistant.backends.errors import NotConfigured

SANDBOX_SCHEME = "sandbox:/"

_URL = {"type": "string", "pattern": r"^(https?://[^\s]+|sandbox:/[^\s]*)$"}
_ENV = {"type": "string", "pattern": r"^[A-Z][A-Z0-9_]*$"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "zaken": {
            "type": "object",
            "additionalProperties": False,
            "required": ["zaken_url", "catalogi_url", "client_id_env", "secret_env", "rsin"],
            "properties": {
                "zaken_url": _URL,
                "catalogi_url": _URL,
                "client_id_env": _ENV,
                "secret_env": _ENV,
                "rsin": {"type": "string", "pattern": r"^\d{9}$"},
            },
        },
        "appointments": {
            "type": "object",
            "required": ["system", "url"],
            "oneOf": [
                {
                    "additionalProperties": False,
                    "required": ["client_id_env", "secret_env"],
                    "properties": {
                        "system": {"const": "jcc"},
                        "url": _URL,
                        "client_id_env": _ENV,
                        "secret_env": _ENV,
                    },
                },
                {
                    "additionalProperties": False,
                    "required": ["api_key_env"],
                    "properties": {
                        "system": {"const": "qmatic"},
                        "url": _URL,
                        "api_key_env": _ENV,
                    },
                },
            ],
        },
        "signalen": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": _URL,
                "fallback_point": {
                    "type": "array",
                    "items": [
                        {"type": "number", "minimum": 3.3, "maximum": 7.3},
                        {"type": "number", "minimum": 50.7, "maximum": 53.6},
                    ],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "klantinteracties": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url", "token_env"],
            "properties": {"url": _URL, "token_env": _ENV},
        },
    },
}
_VALIDATOR = Draft7Validator(SCHEMA)


class BackendConfigError(ValueError):
    """The `backends:` section is malformed; the message names the key."""


@dataclass(frozen=True)
class ZakenConfig:
    zaken_url: str
    catalogi_url: str
    client_id_env: str
    secret_env: str
    rsin: str


@dataclass(frozen=True)
class AppointmentsConfig:
    system: Literal["jcc", "qmatic"]
    url: str
    client_id_env: str = ""
    secret_env: str = ""
    api_key_env: str = ""


@dataclass(frozen=True)
class SignalenConfig:
    url: str
    fallback_point: tuple[float, float] | None = None


@dataclass(frozen=True)
class KlantinteractiesConfig:
    url: str
    token_env: str


@dataclass(frozen=True)
class BackendsConfig:
    zaken: ZakenConfig | None = None
    appointments: AppointmentsConfig | None = None
    signalen: SignalenConfig | None = None
    klantinteracties: KlantinteractiesConfig | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_backends(raw: Any) -> BackendsConfig:
    """The validated section; raises BackendConfigError naming the first wrong key."""
    if raw is None:
        return BackendsConfig()
    errors = sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = ".".join(["backends", *(str(part) for part in error.absolute_path)])
        raise BackendConfigError(f"{where}: {error.message}")
    point = (raw.get("signalen") or {}).get("fallback_point")
    return BackendsConfig(
        zaken=ZakenConfig(**raw["zaken"]) if "zaken" in raw else None,
        appointments=AppointmentsConfig(**raw["appointments"]) if "appointments" in raw else None,
        signalen=(
            SignalenConfig(
                url=raw["signalen"]["url"],
                fallback_point=(float(point[0]), float(point[1])) if point else None,
            )
            if "signalen" in raw
            else None
        ),
        klantinteracties=(
            KlantinteractiesConfig(**raw["klantinteracties"]) if "klantinteracties" in raw else None
        ),
        raw=raw,
    )


def resolve_url(url: str, env: Mapping[str, str], system: str) -> str:
    """An address from the content file, with `sandbox:/` resolved against SANDBOX_URL."""
    if not url.startswith(SANDBOX_SCHEME):
        return url
    base = env.get("SANDBOX_URL", "").strip().rstrip("/")
    if not base:
        raise NotConfigured(
            system, "the content file points at the sandbox, but SANDBOX_URL is not set"
        )
    return f"{base}/{url.removeprefix(SANDBOX_SCHEME).lstrip('/')}"


def secret(env: Mapping[str, str], name: str, system: str) -> str:
    """The value of the environment variable the content file names; refused when empty."""
    value = env.get(name, "").strip()
    if not value:
        raise NotConfigured(system, f"environment variable {name} is not set")
    return value
