"""Regenerate the eseal event JSON Schemas in contracts/schemas (``python -m eseal_svc.schemas``)."""

from __future__ import annotations

from tongban_contracts.events.eseal import EVENTS, SERVICE
from tongban_kit.contract_files import SCHEMA_DIR, event_schema_files, write_files

__all__ = ["SCHEMA_DIR", "main", "render_all"]


def render_all() -> dict[str, str]:
    """File name to JSON text of each event type's schema."""
    return event_schema_files(SERVICE, EVENTS)


def main() -> None:
    """Write every schema."""
    write_files(SCHEMA_DIR, render_all())


if __name__ == "__main__":
    main()
