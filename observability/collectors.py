"""Gauges computed when /metrics is scraped: the stores' health and the drift between them.

They describe the stores, not a process, so they are computed by the worker answering the scrape (each health
probe bounded by HEALTH_CHECK_TIMEOUT) instead of being kept per process in multiprocess files.

Drift: the drift app (when installed) keeps the latest DriftReport; `drift.selectors.latest_counts()` gives
{kind: count} for it ({} when no report exists yet). Without the app, no drift metric is exported.
"""

from __future__ import annotations

import importlib
import logging

from django.apps import apps
from prometheus_client.core import GaugeMetricFamily

from stores.health import check_results

logger = logging.getLogger(__name__)


class StoreHealthCollector:
    def collect(self):
        up = GaugeMetricFamily("rag_store_up", "1 when the store answered its health probe, else 0.",
                               labels=["store"])
        seconds = GaugeMetricFamily("rag_store_check_duration_seconds", "Time the store's health probe took.",
                                    labels=["store"])
        for result in check_results():
            store = repr(result.check)
            up.add_metric([store], 0.0 if result.error else 1.0)
            seconds.add_metric([store], float(result.time_taken))
        yield up
        yield seconds


def drift_counts() -> dict[str, int] | None:
    """{kind: count} of the latest drift report; None when the drift app is not installed."""
    if not apps.is_installed("drift"):
        return None
    try:
        selectors = importlib.import_module("drift.selectors")
        return dict(selectors.latest_counts())
    except Exception as error:  # a scrape must still answer; the reason is logged once per scrape
        logger.warning("metrics: drift counts unavailable: %s: %s", type(error).__name__,
                       (str(error).splitlines() or [""])[0])
        return None


class DriftCollector:
    def collect(self):
        counts = drift_counts()
        if counts is None:
            return
        gauge = GaugeMetricFamily("rag_drift_documents",
                                  "Documents the latest drift report found out of step between the stores, by kind.",
                                  labels=["kind"])
        for kind, count in sorted(counts.items()):
            gauge.add_metric([str(kind)], float(count))
        yield gauge
