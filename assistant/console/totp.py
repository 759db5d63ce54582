"""The optional second factor: six-digit codes from an authenticator app (TOTP, RFC 6238).

pyotp makes the secrets, the provisioning address the app scans, and checks the codes. A code
is accepted in its own 30-second step and the steps either side (clocks drift;
`valid_window=1`). Checking returns *which* step matched (pyotp's `verify_and_get_timecode`,
made for this), so the account store can refuse the same code a second time within that window
(RFC 6238 section 5.2).
"""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from pyotp.exceptions import OTPVerificationError

ISSUER = "KCC-console"
VALID_WINDOW = 1  # steps before and after the current one
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A random base32 secret (160 bits) for a new authenticator app."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def normalise_code(code: str) -> str:
    """The code as typed, without the spaces and dashes apps show in the middle."""
    return re.sub(r"[\s-]", "", code or "")


def matching_step(secret: str, code: str, at: dt.datetime) -> int | None:
    """The time step whose code `code` is, within the valid window around `at`, or None."""
    code = normalise_code(code)
    if not _CODE.match(code):
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=at, valid_window=VALID_WINDOW
        )
    except OTPVerificationError:
        return None
