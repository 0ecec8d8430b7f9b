"""Assurance levels (acr): L1 password, L2 password + TOTP, L3 identity also verified in person."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """An assurance level; the string is the `acr` claim value."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"

    @property
    def rank(self) -> int:
        """Order of strength (L1 weakest)."""
        return int(self.value[1])


LEVELS = {lv.value: lv for lv in Level}


def achieved_level(*, password: bool, otp: bool, verified_in_person: bool) -> Level | None:
    """The level a login reached from the factors it presented; None without a password."""
    if not password:
        return None
    if not otp:
        return Level.L1
    return Level.L3 if verified_in_person else Level.L2


def required_level(acr_values: str | None) -> Level | None:
    """The minimum level an `acr_values` request demands (the weakest level it names).

    A client lists the levels it accepts; any listed level is good enough, so the weakest one
    is the floor. Values this provider does not know are ignored.
    """
    if not acr_values:
        return None
    known = [LEVELS[v] for v in acr_values.split() if v in LEVELS]
    if not known:
        return None
    return min(known, key=lambda lv: lv.rank)


def satisfies(achieved: Level | str | None, required: Level | None) -> bool:
    """Whether an achieved level meets the requirement (no requirement is always met)."""
    if required is None:
        return True
    if achieved is None:
        return False
    level = LEVELS.get(str(achieved))
    return level is not None and level.rank >= required.rank


def amr_for(level: Level) -> list[str]:
    """Authentication methods (RFC 8176) behind a level, for the ID token's `amr`."""
    if level is Level.L1:
        return ["pwd"]
    return ["pwd", "otp", "mfa"]
