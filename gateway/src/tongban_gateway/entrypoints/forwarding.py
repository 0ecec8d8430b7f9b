"""Which headers cross the gateway, and the X-Forwarded-* set it adds."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Request headers the gateway replaces or must not pass on (hop-by-hop ones included).
REQUEST_DROP = HOP_BY_HOP | {
    b"host",
    b"expect",
    b"x-request-id",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"x-forwarded-prefix",
    b"forwarded",
}
TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})

# Response headers the gateway's server writes itself, or that describe the upstream connection.
RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}


class TrustedProxies:
    """Peers (addresses or networks) whose X-Forwarded-* headers the gateway believes."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]
        self._seen: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies (answers cached per address)."""
        known = self._seen.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
                known = any(ip in net for net in self._networks)
            except ValueError:
                known = False
            if len(self._seen) < 4096:
                self._seen[address] = known
        return known

    def client_address(self, peer: str, forwarded_for: str | None) -> tuple[str, str]:
        """(the caller's address, the X-Forwarded-For chain to pass on)."""
        if not forwarded_for or not self._networks or not self.trusts(peer):
            return peer, peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            client = hop
            if not self.trusts(hop):
                break
        return client, f"{forwarded_for}, {peer}"
