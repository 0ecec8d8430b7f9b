"""Minimum necessary: project a provider's record onto the granted fields and mask what the grant says."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from data_exchange_svc.domain.model import FieldKind, Resource

MASK = "*"


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return MASK * len(value)
    return value[:head] + MASK * (len(value) - head - tail) + value[len(value) - tail :]


def mask_value(kind: FieldKind, value: Any) -> Any:
    """Mask one value so that it still tells a human what it is without disclosing it."""
    if value is None:
        return None
    if kind is FieldKind.BOOLEAN:
        return MASK  # even a yes/no discloses the fact
    text = str(value)
    if kind is FieldKind.NAME:
        return _keep(text, 1, 0)
    if kind is FieldKind.ID_NUMBER:
        return _keep(text, 6, 4) if len(text) > 10 else MASK * len(text)
    if kind is FieldKind.PHONE:
        return _keep(text, 3, 4)
    if kind is FieldKind.ADDRESS:
        return _keep(text, min(6, len(text) // 2), 0)
    if kind is FieldKind.DATE:
        return text[:4] + "-**-**" if len(text) >= 4 else MASK * len(text)
    if kind is FieldKind.NUMBER:
        return MASK * 3
    return _keep(text, 1, 1)


def project(
    record: Mapping[str, Any],
    resource: Resource,
    requested: Collection[str],
    allowed: Collection[str],
    masked: Collection[str],
) -> tuple[dict[str, Any], list[str]]:
    """The fields the caller asked for that the grant allows, masked where marked; never anything else."""
    out: dict[str, Any] = {}
    masked_out: list[str] = []
    for name in sorted(set(requested) & set(allowed)):
        if name not in record:
            continue
        value = record[name]
        if name in masked:
            spec = resource.spec(name)
            value = mask_value(spec.kind if spec else FieldKind.TEXT, value)
            masked_out.append(name)
        out[name] = value
    return out, masked_out
