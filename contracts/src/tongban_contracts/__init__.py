"""Tongban contracts: the event envelope, topic names and reference data (no I/O)."""

from tongban_contracts.envelope import EventEnvelope, dataschema_for, event_type, source_for

__all__ = ["EventEnvelope", "dataschema_for", "event_type", "source_for"]
