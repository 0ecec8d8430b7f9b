"""CloudEvents binary mode round trip, read back by the CloudEvents SDK itself."""

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from tongban_contracts.envelope import EventEnvelope, event_type, source_for
from tongban_kit.events import from_kafka, to_kafka

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _envelope() -> EventEnvelope:
    return EventEnvelope(
        id="0193-evt",
        type=event_type("case", "submitted"),
        source=source_for("case"),
        subject="case-1",
        sequence=7,
        extensions={"receivingregion": "440000", "handlingregion": "110000"},
        traceparent=TRACEPARENT,
        data={"item": "户口迁移", "n": 1},
    )


def test_headers_are_binary_mode() -> None:
    key, value, headers = to_kafka(_envelope())
    h = dict(headers)
    assert key == b"case-1"
    assert h["ce_type"] == b"cn.gov.tongban.case.submitted.v1"
    assert h["ce_source"] == b"urn:tongban:case"
    assert h["ce_sequence"] == b"7"
    assert h["ce_receivingregion"] == b"440000"
    assert h["content-type"] == b"application/json"
    assert h["traceparent"] == TRACEPARENT.encode()
    assert "户口迁移" in value.decode("unicode_escape") or "户口迁移".encode() in value


def test_round_trip_is_lossless() -> None:
    env = _envelope()
    assert from_kafka(*to_kafka(env)) == env


def test_sdk_reads_our_messages_unchanged() -> None:
    key, value, headers = to_kafka(_envelope())
    event = from_binary(KafkaMessage(headers=dict(headers), key=key, value=value), JSONFormat())
    assert event.get_type() == "cn.gov.tongban.case.submitted.v1"
    assert event.get_extension("sequence") == "7"
    assert event.get_data() == {"item": "户口迁移", "n": 1}


def test_new_envelope_names_its_type_source_and_schema() -> None:
    from datetime import UTC, datetime

    from tongban_kit.events import new_envelope

    when = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    one = new_envelope("case", "accepted", subject="c-1", data={"a": 1}, sequence=2, time=when)
    two = new_envelope("case", "accepted", subject="c-1", data={"a": 1})
    assert one.type == "cn.gov.tongban.case.accepted.v1" and one.source.endswith("case")
    assert one.dataschema == "urn:tongban:schema:cn.gov.tongban.case.accepted.v1"
    assert (one.sequence, one.time, one.key, one.data) == (2, when, "c-1", {"a": 1})
    assert one.id != two.id and two.sequence is None and two.time.tzinfo is not None
