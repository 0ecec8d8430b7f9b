"""Errors the service layer adds to the domain's: missing resources, duplicates and preconditions."""

from __future__ import annotations

from catalogue_svc.domain.errors import ConflictError, NotFoundError


class ItemNotFound(NotFoundError):
    """No item has this basic code (or the caller may not see it)."""

    code = "item_not_found"
    title = "Item not found"


class NoVersionInForce(NotFoundError):
    """The item exists but has no published version in force."""

    code = "no_version_in_force"
    title = "No version in force"


class DraftNotFound(NotFoundError):
    """The item has no open draft."""

    code = "draft_not_found"
    title = "No draft"


class ImplementationNotFound(NotFoundError):
    """The region has not implemented this item."""

    code = "implementation_not_found"
    title = "Region implementation not found"


class ItemExists(ConflictError):
    """An item with this basic code already exists."""

    code = "item_exists"
    title = "Item already exists"


class ImplementationCodeTaken(ConflictError):
    """Another implementation already uses this implementation code."""

    code = "implementation_code_taken"
    title = "Implementation code already used"


class PreconditionRequired(Exception):
    """A change to an existing resource came without If-Match (428)."""

    def __init__(self, current_etag: str) -> None:
        super().__init__("If-Match is required")
        self.current_etag = current_etag


class PreconditionFailed(Exception):
    """If-Match names an entity tag that is no longer current (412)."""

    def __init__(self, current_etag: str | None) -> None:
        super().__init__("stale If-Match")
        self.current_etag = current_etag
