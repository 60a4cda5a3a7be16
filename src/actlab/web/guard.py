"""What the playground refuses before a route sees a request.

* :class:`HostOriginGuard` (ASGI middleware): every HTTP request and WebSocket
  handshake must name one of the server's own hosts in ``Host`` (DNS rebinding:
  a foreign name that resolves to this machine is refused), and a request that
  carries an ``Origin`` must come from one of the server's own origins
  (cross-site WebSocket hijacking, foreign POSTs).  Refused with 403, a
  WebSocket before the upgrade.  A request without ``Origin`` passes: browsers
  send one with every WebSocket handshake and every cross-origin request, so only
  a same-origin GET (or a program other than a browser, which could send any
  header it likes) lacks it.  A request the browser marks as coming from another
  site (``Sec-Fetch-Site``) passes only as a top-level navigation.
* :func:`loads` parses JSON with a bound on nesting depth (deep nesting would
  exhaust the parser's recursion).
* :class:`ClientSlots` counts what each client has in flight, for a per-client
  fair share.

The server's own hosts: ``localhost``, ``127.0.0.1``, ``::1``, the address the
connection arrived at (the bound address; with ``--host 0.0.0.0`` the interface
address the browser used), this machine's host names when the server listens
beyond loopback, and the names given with ``--allow-host``; each with the
server's port.
"""
from __future__ import annotations

import ipaddress
import json
import re
import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HostOriginGuard", "host_names", "split_host", "loads", "JSONTooDeep", "ClientSlots", "MAX_JSON_DEPTH"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_JSON_DEPTH = 32  # the deepest legitimate message (a state's layers) is 3 levels
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_names(bind_host: str | None = None, allow: tuple[str, ...] | list[str] = ()) -> frozenset[str]:
    """The host names (no port; lower case; IPv6 without brackets) the server answers to.

    ``bind_host`` is the address the server listens on; beyond loopback this
    machine's host names are added.  ``allow`` adds names (``--allow-host``).
    """
    names = set(LOOPBACK_NAMES)
    if bind_host:
        host = bind_host.strip("[]").lower()
        if not _is_wildcard(host):
            names.add(host)
        if not _is_loopback(host):
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    names.add(name.lower())
    names.update(name.strip().strip("[]").lower() for name in allow if name.strip())
    return frozenset(names)


def split_host(value: str, default_port: int | None) -> tuple[str, int | None] | None:
    """``host[:port]`` (``[v6]:port`` for IPv6) → (lower-case host without brackets, port); None when malformed."""
    value = value.strip().lower()
    match = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d{1,5}))?|([^:\[\]/@\s]+)(?::(\d{1,5}))?", value)
    if not match or not value:
        return None
    host = match.group(1) or match.group(3)
    port = match.group(2) or match.group(4)
    return host.rstrip("."), int(port) if port else default_port


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class HostOriginGuard:
    """ASGI middleware: 403 for a foreign ``Host`` or ``Origin`` (see the module docstring)."""

    def __init__(self, app, names: frozenset[str]):
        self.app = app
        self.names = names

    def problem(self, scope: dict[str, Any]) -> str | None:
        """Why the request is refused, or None when it may pass."""
        server = scope.get("server")
        port = server[1] if server and server[1] is not None else None
        names = set(self.names)
        if server and server[0]:
            names.add(str(server[0]).strip("[]").lower())  # the address the connection arrived at
        scheme_port = DEFAULT_PORTS.get(scope.get("scheme", "http"), 80)

        def ours(host_port: tuple[str, int | None] | None) -> bool:
            return host_port is not None and host_port[0] in names and (port is None or host_port[1] == port)

        host = _header(scope, b"host")
        if host is None:
            return "the request has no Host header"
        if not ours(split_host(host, scheme_port)):
            return (f"Host {host[:100]!r} is not one of this server's names; open the playground at its own address "
                    "(or start it with --allow-host NAME)")
        origin = _header(scope, b"origin")
        if origin is not None:
            parts = urlsplit(origin.strip()) if origin.strip() != "null" else None
            if parts is None or parts.scheme not in ("http", "https") or parts.path not in ("", "/") \
                    or not ours(split_host(parts.netloc, DEFAULT_PORTS[parts.scheme])):
                return f"requests from the page at {origin[:100]!r} are refused; only the playground's own page may use it"
        site = _header(scope, b"sec-fetch-site")
        if site in ("cross-site", "same-site") and not (scope["type"] == "http" and _header(scope, b"sec-fetch-mode") == "navigate"):
            return "requests from another site are refused; only the playground's own page may use it"
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        body = f"forbidden: {problem}\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 403, "headers": headers + [(b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        message = await receive()  # websocket.connect: refuse the handshake (HTTP 403, no upgrade)
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})


class JSONTooDeep(ValueError):
    """JSON nested more deeply than allowed."""


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def loads(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses (:class:`JSONTooDeep`) arrays/objects nested more than ``max_depth`` deep.

    The depth is counted outside strings before parsing, so a hostile document
    never reaches the recursive parser.  Other problems raise ``ValueError`` as
    ``json.loads`` does.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError is a ValueError
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise JSONTooDeep(f"the JSON is nested more than {max_depth} levels deep")
        else:
            depth -= 1
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen after the count above; kept so that no input can crash a caller
        raise JSONTooDeep(f"the JSON is nested more than {max_depth} levels deep") from None


class ClientSlots:
    """At most ``limit`` things in flight per client (used from the event loop only)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used: dict[Any, int] = {}

    def take(self, client: Any) -> bool:
        if self.used.get(client, 0) >= self.limit:
            return False
        self.used[client] = self.used.get(client, 0) + 1
        return True

    def give(self, client: Any) -> None:
        left = self.used.get(client, 0) - 1
        if left > 0:
            self.used[client] = left
        else:
            self.used.pop(client, None)
