"""Caps on what one address holds at once (connections, open codes), so that one client
cannot take the server's sockets or fill its code space."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class Quota:
    """At most ``limit`` things of one kind (``what``) held at once per address.

    Memory follows what is held: an address is forgotten once it holds nothing. The first
    refusal an address meets while holding is logged, not every refusal, so a client that
    keeps knocking costs the log one line."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self._held: dict[str, int] = {}
        # Addresses refused since they last held nothing; always a subset of _held.
        self._reported: set[str] = set()

    def acquire(self, address: str) -> bool:
        """Take one for ``address``; False (and nothing taken) if it holds ``limit`` already."""
        held = self._held.get(address, 0)
        if held >= self.limit:
            if address not in self._reported:
                self._reported.add(address)
                log.warning(
                    # Behind a reverse proxy not named with --trusted-proxy, every client
                    # is the proxy's address and they all share one cap. repr: behind a
                    # trusted proxy the address is whatever the proxy passed on.
                    "%r holds %d %s, the most one address may; more are refused until it "
                    "releases some (is it a proxy to name with --trusted-proxy?)",
                    address,
                    held,
                    self.what,
                )
            return False
        self._held[address] = held + 1
        return True

    def release(self, address: str) -> None:
        """Give back one that :meth:`acquire` took."""
        held = self._held.get(address, 0) - 1
        if held > 0:
            self._held[address] = held
        else:
            self._held.pop(address, None)
            self._reported.discard(address)

    def held(self, address: str) -> int:
        return self._held.get(address, 0)

    def __len__(self) -> int:
        """Addresses holding at least one."""
        return len(self._held)
