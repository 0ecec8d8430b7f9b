"""TOTP second factor (RFC 6238 via pyotp), each code accepted once."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import pyotp

ISSUER_NAME = "Tongban"


def new_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER_NAME)


def current_code(secret: str, at: datetime) -> str:
    """The code for a moment (dev tooling and tests)."""
    return pyotp.TOTP(secret).at(at)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step a code belongs to (one step of drift allowed), if newer than the last used."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=drift * totp.interval)
        if hmac.compare_digest(totp.at(moment), code):
            step = totp.timecode(moment)
            if last_step is not None and step <= last_step:
                return None
            return step
    return None
