"""Masking and projection, the audit hash chain, the circuit breaker and the rate limiter."""

from datetime import UTC, datetime, timedelta

from data_exchange_svc.domain import audit
from data_exchange_svc.domain.breaker import BreakerState, CircuitBreaker
from data_exchange_svc.domain.masking import mask_value, project
from data_exchange_svc.domain.model import DataDomain, FieldKind, FieldSpec, Grant, Mode, Resource
from data_exchange_svc.service_layer.queries import grant_limit
from tongban_kit.ratelimit import LocalBuckets

RESOURCE = Resource(
    id="r",
    code="household-registration",
    name="户籍",
    provider_name="公安部",
    provider_uscc=None,
    region=None,
    domain=DataDomain.HOUSEHOLD_REGISTRATION,
    endpoint_url="http://x",
    fields=(
        FieldSpec("name", "姓名", FieldKind.NAME),
        FieldSpec("id_number", "身份证号", FieldKind.ID_NUMBER),
        FieldSpec("household_address", "户籍地址", FieldKind.ADDRESS),
        FieldSpec("phone", "电话", FieldKind.PHONE),
    ),
    supports=frozenset({Mode.SHARE}),
    timeout_ms=1000,
)


def test_mask_values_by_kind() -> None:
    assert mask_value(FieldKind.NAME, "张三丰") == "张**"
    assert mask_value(FieldKind.ID_NUMBER, "11010119900307447X") == "110101********447X"
    assert mask_value(FieldKind.PHONE, "13812345678") == "138****5678"
    assert mask_value(FieldKind.DATE, "1990-03-07") == "1990-**-**"
    assert mask_value(FieldKind.NUMBER, 1234.5) == "***"
    assert mask_value(FieldKind.BOOLEAN, True) == "*"
    assert mask_value(FieldKind.TEXT, None) is None
    addr = mask_value(FieldKind.ADDRESS, "广东省广州市天河区体育西路1号")
    assert addr.startswith("广东省广州市") and "体育" not in addr


def test_project_drops_everything_not_requested_and_granted() -> None:
    record = {
        "name": "张三",
        "id_number": "11010119900307447X",
        "household_address": "北京市东城区X街1号",
        "phone": "13812345678",
        "secret": "x",
    }
    data, masked = project(
        record,
        RESOURCE,
        requested={"name", "household_address", "secret"},
        allowed={"name", "household_address"},
        masked={"household_address"},
    )
    assert set(data) == {"name", "household_address"}
    assert data["name"] == "张三"
    assert data["household_address"] != record["household_address"]
    assert masked == ["household_address"]


def _chain(n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    prev = audit.GENESIS
    for i in range(1, n + 1):
        row: dict[str, object] = {
            "seq": i,
            "id": f"e{i}",
            "at": datetime(2026, 11, 27, 8, 0, i, 123456, tzinfo=UTC),
            "client_id": "platform-440000",
            "actor": {"client_id": "platform-440000"},
            "resource_id": "r",
            "subject_hash": "h",
            "case_id": "c",
            "item_code": "XK00003001",
            "mode": "share",
            "fields": ["name"],
            "outcome": "allowed",
            "reason": None,
            "grant_id": "g",
            "basis": "consent:k",
            "prev_hash": prev,
        }
        row["hash"] = audit.entry_hash(row)
        prev = str(row["hash"])
        rows.append(row)
    return rows


def test_intact_chain_verifies() -> None:
    result = audit.check_chain(_chain(5))
    assert result.broken is None
    assert result.checked == 5


def test_altered_row_is_named() -> None:
    rows = _chain(5)
    rows[2]["outcome"] = "refused"
    result = audit.check_chain(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.reason) == (3, "content-altered")


def test_recomputed_hash_breaks_the_next_link() -> None:
    rows = _chain(5)
    rows[1]["fields"] = ["name", "marital_status"]
    rows[1]["hash"] = audit.entry_hash(rows[1])
    result = audit.check_chain(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.reason) == (3, "broken-link")


def test_deleted_row_is_a_gap() -> None:
    rows = _chain(5)
    del rows[3]
    result = audit.check_chain(rows)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.reason) == (4, "missing-entry")


def test_link_continues_a_chain_from_its_head() -> None:
    rows = _chain(5)
    content = [{k: v for k, v in r.items() if k not in ("seq", "prev_hash", "hash")} for r in rows[3:]]
    content[0]["fields"] = ["name"]
    linked = audit.link(content, 3, str(rows[2]["hash"]))
    assert [r["seq"] for r in linked] == [4, 5]
    assert [r["hash"] for r in linked] == [rows[3]["hash"], rows[4]["hash"]]
    assert audit.check_chain(rows[:3] + linked).broken is None


def test_link_sorts_fields_and_starts_at_genesis() -> None:
    first = {k: v for k, v in _chain(1)[0].items() if k not in ("seq", "prev_hash", "hash")}
    linked = audit.link([{**first, "fields": ["name", "birth_date"]}], 0, audit.GENESIS)
    assert linked[0]["fields"] == ["birth_date", "name"]
    assert linked[0]["prev_hash"] == audit.GENESIS
    assert audit.check_chain(linked).broken is None


def test_time_is_hashed_in_utc_microseconds() -> None:
    assert audit.wire_time(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"


def test_breaker_opens_after_threshold_and_probes_after_pause() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, reset_seconds=10, clock=lambda: now[0])
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after() == 10
    now[0] = 10.5
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one probe
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    now[0] = 21.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_rate_limit_refills_at_the_grant_rate() -> None:
    grant = Grant(
        id="g",
        client_id="platform-440000",
        resource_id="r",
        items=frozenset({"XK00003001"}),
        allowed_fields=frozenset({"name"}),
        masked_fields=frozenset(),
        modes=frozenset({Mode.SHARE}),
        rate_limit_per_minute=3,
        expires_at=datetime(2026, 11, 27, tzinfo=UTC) + timedelta(days=1),
    )
    limit = grant_limit(grant)
    assert limit.burst == 3 and limit.rate == 3 / 60.0
    buckets = LocalBuckets()
    assert all(buckets.take([("g", limit)], now=0.0).allowed for _ in range(3))
    refused = buckets.take([("g", limit)], now=0.0)
    assert not refused.allowed and refused.retry_after == 20
    assert buckets.take([("g", limit)], now=20.0).allowed
    assert buckets.take([("other", limit)], now=20.0).allowed
