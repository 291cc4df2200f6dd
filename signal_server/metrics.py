"""``GET /metrics``: the server's state and counts in the Prometheus text format.

Every value is read at scrape time from the plain objects that keep it (the registry,
the signalling adapter, the outcomes, the pool), by one collector on a registry of this
application's own, never the process-wide default: nothing is updated per event for
Prometheus, and two applications in one process (as in the tests) never mix.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .pool.routes import NO_STORE
from .pool.store import PoolStore
from .signalling.events import SignallingEvents


class ServerCollector(Collector):
    def __init__(self, signalling: SignallingEvents, pool: PoolStore) -> None:
        self.signalling = signalling
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        registry = self.signalling.registry
        pool = self.pool.stats()
        for name, documentation, value in (
            ("sendit_open_codes", "Codes waiting for their receiver.", registry.waiting),
            ("sendit_pairings", "Pairs a receiver has joined that have not ended.", registry.joined),
            ("sendit_connections", "Signalling connections.", self.signalling.connected),
            ("sendit_pool_files", "Files in the exchange pool waiting to be taken.", pool.count),
            ("sendit_pool_bytes", "Bytes of the files in the exchange pool.", pool.total_bytes),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)
        refused = CounterMetricFamily(
            "sendit_joins_refused", "Joins refused, by the error id they were refused with.", labels=["reason"]
        )
        for reason, count in sorted(self.signalling.outcomes.joins_refused.items()):
            refused.add_metric([reason], count)
        yield refused
        transfers = CounterMetricFamily(
            "sendit_transfers", "Pairs ended by done, by the route it reported (unknown: none).", labels=["route"]
        )
        for route, count in self.signalling.outcomes.transfers.items():
            transfers.add_metric([route], count)
        yield transfers


def metrics_handler(collector: Collector) -> Callable[[web.Request], Awaitable[web.Response]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)

    async def metrics(_request: web.Request) -> web.Response:
        # Always fresh: no cache between the server and its scraper may keep a scrape.
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST, **NO_STORE})

    return metrics


async def healthz(_request: web.Request) -> web.Response:
    """The process is up and serving (its dependencies, when it has some, belong here too)."""
    return web.json_response({"status": "ok"}, headers=NO_STORE)
