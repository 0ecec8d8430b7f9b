"""Identifiers: UUIDv7 strings, time-ordered so that keyset pagination follows creation."""

import uuid_utils


def new_id() -> str:
    """Return a new UUIDv7 as a string."""
    return str(uuid_utils.uuid7())
