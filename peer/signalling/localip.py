"""Which local addresses a peer offers as ICE host candidates (``--local-ip``).

aioice gathers host candidates from every interface except loopback and has no option
to choose them. A context variable narrows its choice for the connections set up
inside :func:`offering`: a user can keep a LAN address private, and tests can run on
127.0.0.1, which aioice would otherwise skip.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
from typing import Iterator, Sequence

import aioice.ice

from ..errors import UsageError

_chosen: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("sendit_local_ips", default=None)
_gather_all = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _chosen.get()
    if chosen is None:
        return _gather_all(use_ipv4, use_ipv6)
    return [ip for ip in chosen if (use_ipv6 if ":" in ip else use_ipv4)]


# Gathering runs in tasks created under the caller's context, so the variable set by
# offering() reaches it and two connections in one process can choose differently.
aioice.ice.get_host_addresses = _host_addresses


def check_local_ip(text: str) -> str:
    """The canonical form of ``text`` if it is an address of this machine."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"--local-ip {text}: not an IP address") from None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        raise UsageError(f"--local-ip {text}: not an address of this machine") from None
    return str(address)


@contextlib.contextmanager
def offering(addresses: Sequence[str] | None) -> Iterator[None]:
    """Gather host candidates only on ``addresses`` (``None``: aioice's own choice)."""
    token = _chosen.set(None if addresses is None else tuple(addresses))
    try:
        yield
    finally:
        _chosen.reset(token)
