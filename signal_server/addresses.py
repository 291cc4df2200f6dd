"""Who a request comes from, as the limits of every flow count it: the real client
address behind configured proxies, and the key a limit counts it under."""

from __future__ import annotations

import ipaddress

from aiohttp import web


def client_address(request: web.BaseRequest | None, trusted_proxies: frozenset[str]) -> str:
    """The real client address of an aiohttp request (a socket.io connection's too:
    engineio's ``REMOTE_ADDR`` is always 127.0.0.1 under aiohttp)."""
    if request is None:
        return ""
    address = request.remote or ""
    # Each proxy appends the address it saw; a client can put anything in front. So walk
    # from the right through our own proxies, and stop at the first address they vouch for.
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    while address in trusted_proxies and forwarded and forwarded[-1]:
        address = _without_port(forwarded.pop())
    return address


def _without_port(hop: str) -> str:
    """Some balancers append the client's port (``192.0.2.7:5678``, ``[2001:db8::1]:443``);
    each port would otherwise count as an address of its own."""
    if hop.startswith("[") and "]" in hop:
        return hop[1 : hop.index("]")]
    if hop.count(":") == 1:
        return hop.split(":")[0]
    return hop


def limit_key(address: str) -> str:
    """What a limit counts against: one IPv4 address, or one IPv6 /64 (a single
    subscriber usually holds a whole /64 and could otherwise rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
