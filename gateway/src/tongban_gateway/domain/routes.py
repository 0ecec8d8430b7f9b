"""The route table: which prefix goes to which upstream, and which paths need no token."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

READ_METHODS = frozenset({"GET", "HEAD"})
ANY_METHOD: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PathRule:
    """Methods and a path pattern: ``/a/**`` is ``/a`` and below, ``/a*`` a plain prefix, else exact."""

    pattern: str
    methods: frozenset[str] = ANY_METHOD

    def matches(self, method: str, path: str) -> bool:
        """Whether a method and an upstream-relative path fall under this rule."""
        if self.methods and method not in self.methods:
            return False
        if self.pattern.endswith("/**"):
            base = self.pattern[:-3]
            return path == base or path.startswith(base + "/")
        if self.pattern.endswith("*"):
            return path.startswith(self.pattern[:-1])
        return path == self.pattern


@dataclass(frozen=True)
class Route:
    """One gateway prefix and the upstream service behind it."""

    name: str
    upstream: str
    audience: str
    anonymous: tuple[PathRule, ...] = ()
    timeout: float = 10.0
    max_body_bytes: int = 1_048_576
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", "/" + self.name)

    def is_anonymous(self, method: str, path: str) -> bool:
        """Whether the gateway lets this request through without a token (the upstream may still ask)."""
        # A plain loop: a generator per request showed up in the gateway's profile.
        for rule in self.anonymous:  # noqa: SIM110
            if rule.matches(method, path):
                return True
        return False


# Which upstream-relative paths need no token at the gateway. The service behind still decides:
# "anonymous" here only means the gateway does not insist on a token.
ANONYMOUS: Mapping[str, tuple[PathRule, ...]] = {
    "catalogue": (
        PathRule("/v1/items/**", READ_METHODS),
        PathRule("/v1/faqs/**", READ_METHODS),
    ),
    "identity": (
        PathRule("/.well-known/**"),
        PathRule("/oauth2/**"),
        PathRule("/login*"),
        PathRule("/userinfo"),
    ),
    # Verifiers anywhere must fetch status lists, the trust list, issuer keys and licence types
    # without an account.
    "eseal": (
        PathRule("/v1/status-lists/**", READ_METHODS),
        PathRule("/v1/trust", READ_METHODS),
        PathRule("/v1/jwks", READ_METHODS),
        PathRule("/v1/licence-types/**", READ_METHODS),
    ),
}

# route name (URL prefix) -> (upstream service, token audience)
SERVICES: Mapping[str, tuple[str, str]] = {
    "catalogue": ("catalogue", "urn:tongban:catalogue"),
    "cases": ("case", "urn:tongban:case"),
    "identity": ("identity", "urn:tongban:identity"),
    "eseal": ("eseal", "urn:tongban:eseal"),
    "exchange": ("exchange", "urn:tongban:exchange"),
}


def parse_rule(text: str) -> PathRule:
    """``"/a/**"`` or ``"GET,HEAD /a/**"`` -> a PathRule (configuration syntax)."""
    parts = text.split()
    if len(parts) == 1 and parts[0].startswith("/"):
        return PathRule(parts[0])
    if len(parts) == 2 and parts[1].startswith("/"):
        return PathRule(parts[1], frozenset(m.strip().upper() for m in parts[0].split(",") if m.strip()))
    raise ValueError(f"not a path rule: {text!r} (expected '/path' or 'GET,HEAD /path')")


class RouteTable:
    """Finds the route of a path by its first segment (one dict lookup)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_name = {route.name: route for route in routes}

    @property
    def routes(self) -> list[Route]:
        """All routes in table order."""
        return list(self._by_name.values())

    def match(self, path: str) -> tuple[Route, str] | None:
        """The route and the upstream-relative path (prefix stripped), or None."""
        end = path.find("/", 1)
        name = path[1:] if end < 0 else path[1:end]
        route = self._by_name.get(name)
        if route is None:
            return None
        rest = "/" if end < 0 else path[end:]
        return route, rest


def has_dot_segments(path: str) -> bool:
    """True for ``.``/``..`` segments, which an upstream might resolve past the route's rules."""
    if "." not in path and "\\" not in path:
        return False
    if "\\" in path:
        return True
    return any(segment in (".", "..") for segment in path.split("/"))
