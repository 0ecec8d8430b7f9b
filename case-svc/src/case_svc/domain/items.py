"""What case-svc knows of the catalogue: published item versions and region implementations.

Built from catalogue events (or one HTTP read on a miss); parsing is tolerant of extra fields so that
additive catalogue changes never stop case submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban_contracts.reference import Audience, HandlingMode


@dataclass(frozen=True)
class MaterialSpec:
    """One material the item asks for."""

    code: str
    name: str
    required: bool
    condition: str | None = None
    licence_types: tuple[str, ...] = ()
    exchange_fetchable: bool = False
    exchange_domain: str | None = None

    @property
    def mandatory(self) -> bool:
        """Required without a condition: every application must supply it."""
        return self.required and not self.condition


@dataclass(frozen=True)
class CatalogueItem:
    """One published version of a national item, as the catalogue publishes it."""

    basic_code: str
    version: int
    name: str
    item_type: str
    audience: tuple[str, ...]
    modes: tuple[str, ...]
    materials: tuple[MaterialSpec, ...]
    statutory_limit_days: int
    promised_limit_days: int
    suspension_allowed: bool = False
    suspension_max_days: int | None = None
    extension_allowed: bool = False
    extension_max_days: int | None = None
    joint_roles: Mapping[str, str] = field(default_factory=dict)
    result_type: str | None = None
    result_licence_type: str | None = None
    status: str = "published"
    retired: bool = False

    def material(self, code: str) -> MaterialSpec | None:
        """The material spec with this code, if any."""
        return next((m for m in self.materials if m.code == code), None)

    @property
    def is_usable(self) -> bool:
        """Whether new cases may be filed under this version."""
        return not self.retired and self.status in ("published", "current")


@dataclass(frozen=True)
class RegionOffer:
    """A province's implementation of an item: which modes it offers and its promised limit."""

    basic_code: str
    region: str
    implementation_code: str
    modes: tuple[str, ...]
    promised_limit_days: int | None = None
    handling_org_name: str | None = None
    handling_org_uscc: str | None = None


def _int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def parse_item(data: Mapping[str, Any]) -> CatalogueItem:
    """Read an item-published payload (or the catalogue's item JSON); KeyError/ValueError when unusable."""
    materials = []
    for raw in data.get("materials") or []:
        if not isinstance(raw, Mapping) or not raw.get("code"):
            continue
        materials.append(
            MaterialSpec(
                code=str(raw["code"]),
                name=str(raw.get("name") or raw["code"]),
                required=bool(raw.get("required", True)),
                condition=raw.get("condition") or None,
                licence_types=_strs(raw.get("licence_types")),
                exchange_fetchable=bool(raw.get("exchange_fetchable", False)),
                exchange_domain=raw.get("exchange_domain"),
            )
        )
    suspension = data.get("suspension") or {}
    extension = data.get("extension") or {}
    result = data.get("result") or {}
    # The catalogue may also publish the flat names it uses internally.
    suspension_allowed = bool(suspension.get("allowed", data.get("suspension_allowed", False)))
    extension_allowed = bool(extension.get("allowed", data.get("extension_allowed", False)))
    statutory = _int(data.get("statutory_limit_days"))
    if statutory is None:
        raise ValueError("item has no statutory_limit_days")
    promised = _int(data.get("promised_limit_days"), statutory)
    joint_roles = data.get("joint_roles") or {}
    if isinstance(joint_roles, list | tuple):
        joint_roles = {str(r): str(r) for r in joint_roles}
    return CatalogueItem(
        basic_code=str(data["basic_code"]),
        version=int(data["version"]),
        name=str(data.get("name") or data["basic_code"]),
        item_type=str(data.get("item_type") or "other"),
        audience=_strs(data.get("audience")) or tuple(a.value for a in Audience),
        modes=_strs(data.get("modes")),
        materials=tuple(materials),
        statutory_limit_days=statutory,
        promised_limit_days=promised if promised is not None else statutory,
        suspension_allowed=suspension_allowed,
        suspension_max_days=_int(suspension.get("max_days", data.get("suspension_max_days"))),
        extension_allowed=extension_allowed,
        extension_max_days=_int(extension.get("max_days", data.get("extension_max_days"))),
        joint_roles={str(k): str(v) for k, v in dict(joint_roles).items()},
        result_type=result.get("type") if isinstance(result, Mapping) else None,
        result_licence_type=result.get("licence_type") if isinstance(result, Mapping) else None,
        status=str(data.get("status") or "published"),
        retired=bool(data.get("valid_to")) and str(data.get("status")) == "retired",
    )


def parse_region_offer(data: Mapping[str, Any]) -> RegionOffer:
    """Read a region-implementation payload; KeyError when it lacks its keys."""
    org = data.get("handling_org") or {}
    return RegionOffer(
        basic_code=str(data["basic_code"]),
        region=str(data["region"]),
        implementation_code=str(data.get("implementation_code") or ""),
        modes=_strs(data.get("modes")),
        promised_limit_days=_int(data.get("promised_limit_days")),
        handling_org_name=org.get("name") if isinstance(org, Mapping) else None,
        handling_org_uscc=org.get("uscc") if isinstance(org, Mapping) else None,
    )


__all__ = [
    "Audience",
    "CatalogueItem",
    "HandlingMode",
    "MaterialSpec",
    "RegionOffer",
    "parse_item",
    "parse_region_offer",
]
