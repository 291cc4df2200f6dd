"""How signalling went, counted for the operator (``GET /metrics``): joins refused by
their error id, and transfers by the route their ``done`` reported.

A plain object; it knows nothing of socket.io or of Prometheus, and keeps no address
or code, only kinds and counts.
"""

from __future__ import annotations

from collections import Counter

from sendit_protocol.ice import Route

#: A transfer whose ``done`` did not say how it was connected.
UNKNOWN_ROUTE = "unknown"
ROUTES = (*(route.value for route in Route), UNKNOWN_ROUTE)


class Outcomes:
    def __init__(self) -> None:
        #: Error id -> joins refused with it. The ids are the protocol's, a fixed set.
        self.joins_refused: Counter[str] = Counter()
        #: Route (or ``unknown``) -> pairs ended by a ``done``; every route from the start.
        self.transfers: dict[str, int] = dict.fromkeys(ROUTES, 0)

    def join_refused(self, error_id: str) -> None:
        self.joins_refused[error_id] += 1

    def transfer_done(self, route: Route | None) -> None:
        """A pair ended by a ``done`` that said ``route`` (None: it did not), from either member."""
        self.transfers[UNKNOWN_ROUTE if route is None else route.value] += 1
