"""Domain errors of eseal-svc; each carries a stable machine-readable code for problem responses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation the domain reports."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidUSCC(DomainError):
    """A unified social credit code failed its format or GB 32100 check character."""

    code = "invalid_uscc"


class InvalidRegion(DomainError):
    """A region is not a six-digit GB/T 2260 code of a known province."""

    code = "invalid_region"


class InvalidValidityWindow(DomainError):
    """A seal's validity window is empty, naive, too long or already over."""

    code = "invalid_validity_window"


class InvalidSealName(DomainError):
    """An organisation or seal name is empty or too long."""

    code = "invalid_seal_name"


class SealRevoked(DomainError):
    """The seal was revoked and can no longer sign."""

    code = "seal_revoked"


class SealExpired(DomainError):
    """The seal's validity window has ended."""

    code = "seal_expired"


class SealNotYetValid(DomainError):
    """The seal's validity window has not started."""

    code = "seal_not_yet_valid"


class SealAlreadyRevoked(DomainError):
    """A revoked seal cannot be revoked again."""

    code = "seal_already_revoked"


class SealNotOwned(DomainError):
    """The caller's organisation does not own the seal."""

    code = "seal_not_owned"


class RegionNotHosted(DomainError):
    """No seal CA of the region's province runs in this deployment."""

    code = "region_not_hosted"


class InvalidLicence(DomainError):
    """A licence request is malformed: unknown type, bad window, bad holder or fields."""

    code = "invalid_licence"


class LicenceAlreadyRevoked(DomainError):
    """A revoked licence cannot change status any more."""

    code = "licence_revoked"


class LicenceAlreadySuspended(DomainError):
    """The licence is already suspended."""

    code = "licence_already_suspended"


class LicenceNotSuspended(DomainError):
    """Only a suspended licence can be reinstated."""

    code = "licence_not_suspended"


class StatusListFull(DomainError):
    """Every entry of a status list has been handed out."""

    code = "status_list_full"
