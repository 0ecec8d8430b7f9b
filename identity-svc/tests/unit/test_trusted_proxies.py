"""X-Forwarded-For is believed only from trusted proxies, given as addresses or networks."""

from identity_svc.api.deps import _is_trusted


def test_networks_and_addresses() -> None:
    proxies = ["127.0.0.1", "10.42.0.0/16", "fd00::/8"]
    assert _is_trusted("127.0.0.1", proxies)
    assert _is_trusted("10.42.7.9", proxies)
    assert _is_trusted("fd00::5", proxies)
    assert not _is_trusted("10.43.0.1", proxies)
    assert not _is_trusted("not-an-ip", proxies)
    assert not _is_trusted("192.168.1.1", ["garbage"])
