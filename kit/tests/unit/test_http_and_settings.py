"""If-Match, cursors, and the refusal of default secrets outside dev."""

import pytest
from pydantic import ValidationError
from starlette.requests import Request
from tongban_kit.http import decode_cursor, encode_cursor, etag_for, require_if_match
from tongban_kit.problems import Problem
from tongban_kit.settings import ServiceSettings


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw, "query_string": b""})


def test_if_match_missing_is_428_and_stale_is_412() -> None:
    etag = etag_for("abc", 3)
    with pytest.raises(Problem) as missing:
        require_if_match(_request({}), etag)
    assert missing.value.status == 428
    with pytest.raises(Problem) as stale:
        require_if_match(_request({"If-Match": etag_for("abc", 2)}), etag)
    assert stale.value.status == 412
    require_if_match(_request({"If-Match": etag}), etag)
    require_if_match(_request({"If-Match": f'"x", {etag}'}), etag)


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor({"id": "z", "n": 2})) == {"id": "z", "n": 2}
    assert decode_cursor(None) is None
    with pytest.raises(Problem) as bad:
        decode_cursor("not-a-cursor!!")
    assert bad.value.status == 400


def test_default_secrets_refused_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ENV", "production")
    with pytest.raises(ValidationError, match="default secrets refused"):
        ServiceSettings()
    monkeypatch.setenv("TONGBAN_SUBJECT_HASH_KEY", "prod-hash-key")
    monkeypatch.setenv("TONGBAN_FIELD_KEY", "prod-field-key-0123456789")
    monkeypatch.setenv("SERVICE_CLIENT_SECRET", "prod-secret")
    assert ServiceSettings().env == "production"


def test_dev_accepts_defaults_and_prefixes_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ENV", "dev")
    monkeypatch.setenv("TONGBAN_TOPIC_PREFIX", "t1.")
    s = ServiceSettings()
    assert s.topic("tongban.case.lifecycle.v1") == "t1.tongban.case.lifecycle.v1"
    assert s.issuer == "http://127.0.0.1:8000/identity"


def test_list_settings_read_json_or_commas() -> None:
    from tongban_kit.settings import env_list

    assert env_list('["110000", "310000"]') == ["110000", "310000"]
    assert env_list(" 110000, 310000 ,") == ["110000", "310000"]
    assert env_list(["x"]) == ["x"]
