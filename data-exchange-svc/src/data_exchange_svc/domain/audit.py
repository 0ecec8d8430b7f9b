"""The exchange log's hash chain: each entry's SM3 hash covers its content and the previous hash."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes

GENESIS = "0" * 64
HASH_ALGORITHM = "sm3"

# The fields a hash covers, in the order they are documented; adding one needs a new chain version.
CHAINED_FIELDS = (
    "seq",
    "id",
    "at",
    "client_id",
    "actor",
    "resource_id",
    "subject_hash",
    "case_id",
    "item_code",
    "mode",
    "fields",
    "outcome",
    "reason",
    "grant_id",
    "basis",
    "prev_hash",
)


def wire_time(value: datetime) -> str:
    """The one textual form of an instant the chain hashes (UTC, microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(content: Mapping[str, Any]) -> bytes:
    """Sorted-key, compact UTF-8 JSON of the chained fields."""
    body = {}
    for name in CHAINED_FIELDS:
        value = content.get(name)
        body[name] = wire_time(value) if isinstance(value, datetime) else value
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(content: Mapping[str, Any]) -> str:
    """SM3 over the canonical content (which includes ``prev_hash``), hex."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(canonical(content))
    return digest.finalize().hex()


def link(entries: Iterable[Mapping[str, Any]], seq: int, prev_hash: str) -> list[dict[str, Any]]:
    """Number and hash entries after the head ``(seq, prev_hash)``, in order (fields sorted)."""
    chained: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        content = {**entry, "seq": seq, "fields": sorted(entry["fields"]), "prev_hash": prev_hash}
        content["hash"] = prev_hash = entry_hash(content)
        chained.append(content)
    return chained


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry where the chain does not hold, and why."""

    seq: int
    entry_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Outcome of checking a run of entries."""

    checked: int
    last_seq: int
    last_hash: str
    broken: ChainBreak | None


def check_chain(
    entries: Iterable[Mapping[str, Any]], *, start_seq: int = 1, start_hash: str = GENESIS
) -> ChainCheck:
    """Walk entries in ``seq`` order; report the first gap, broken link or altered content."""
    expected_seq, prev = start_seq, start_hash
    checked = 0
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected_seq:
            gap = ChainBreak(expected_seq, None, "missing-entry")
            return ChainCheck(checked, expected_seq - 1, prev, gap)
        if entry["prev_hash"] != prev:
            return ChainCheck(checked, seq - 1, prev, ChainBreak(seq, str(entry["id"]), "broken-link"))
        if entry_hash(entry) != entry["hash"]:
            return ChainCheck(checked, seq - 1, prev, ChainBreak(seq, str(entry["id"]), "content-altered"))
        prev = str(entry["hash"])
        expected_seq = seq + 1
        checked += 1
    return ChainCheck(checked, expected_seq - 1, prev, None)
