"""Commands of the catalogue: what a caller asks for, validated in shape, not yet applied.

Content and implementation data arrive in the domain's field names (the service layer translates
the API's document shape). ``if_match`` carries the entity tags the caller last read; the handler
compares them with the current one, so a stale read cannot overwrite a newer change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class IfMatch:
    """The entity tags of an If-Match header: ``*`` or a set of strong tags (quotes included)."""

    tags: frozenset[str] = frozenset()
    any: bool = False

    @classmethod
    def parse(cls, header: str) -> IfMatch:
        """Read a header value such as ``"XK00003000-v3"``, ``W/"…"`` or ``*``."""
        candidates = [c.strip().removeprefix("W/") for c in header.split(",") if c.strip()]
        return cls(tags=frozenset(c for c in candidates if c != "*"), any="*" in candidates)

    def matches(self, etag: str) -> bool:
        """Tell whether the current entity tag satisfies this precondition."""
        return self.any or etag in self.tags


@dataclass(frozen=True, slots=True)
class CreateItem:
    """Start a new item whose first version is a draft."""

    basic_code: str
    content: Mapping[str, Any]
    actor: str


@dataclass(frozen=True, slots=True)
class StartDraft:
    """Open the next version of an item as a draft, copied from the latest with optional changes."""

    basic_code: str
    if_match: IfMatch | None
    actor: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EditDraft:
    """Replace top-level fields of the open draft."""

    basic_code: str
    changes: Mapping[str, Any]
    if_match: IfMatch | None
    actor: str


@dataclass(frozen=True, slots=True)
class PublishDraft:
    """Publish the open draft; the predecessor's validity ends at the same instant."""

    basic_code: str
    if_match: IfMatch | None
    actor: str


@dataclass(frozen=True, slots=True)
class RetireItem:
    """Withdraw the item's version in force."""

    basic_code: str
    if_match: IfMatch | None
    actor: str


@dataclass(frozen=True, slots=True)
class ImplementRegion:
    """Create or replace a province's implementation of an item (If-Match once it exists)."""

    basic_code: str
    region: str
    data: Mapping[str, Any]
    if_match: IfMatch | None
    actor: str


@dataclass(frozen=True, slots=True)
class AddFaq:
    """Add a question and answer to an item's FAQ knowledge base."""

    basic_code: str
    entry: Mapping[str, Any]
    actor: str
    region: str | None = None
