"""The registry one /metrics scrape reads: every process's metrics (or this process's, outside gunicorn's
multiprocess mode) plus the gauges computed at scrape time (observability.collectors).

Kept out of the view so that the view only answers the request: check access, render, reply.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from observability.collectors import DriftCollector, StoreHealthCollector


def registry() -> CollectorRegistry:
    """The process's metrics (or, in multiprocess mode, every process's), plus the store gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        sources = [merged]
    else:
        sources = [REGISTRY]
    scrape = CollectorRegistry()
    for source in sources:
        scrape.register(_Forward(source))
    scrape.register(StoreHealthCollector())
    scrape.register(DriftCollector())
    return scrape


class _Forward:
    """Collects another registry's metrics (a registry cannot be registered in a registry as such)."""

    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self):
        return self.source.collect()
