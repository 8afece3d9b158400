"""/health/'s drift entry: a WARNING (never a failure) when the latest drift report is too old, failed,
or counts more than DRIFT_WARN_THRESHOLD; stores.health lists it (settings.HEALTH_WARNING_CHECKS)."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.db import connection
from django.utils import timezone
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from core.health import StoreCheck
from drift import selectors


@dataclasses.dataclass(repr=False)
class DriftCheck(StoreCheck):
    """Reads the latest report only (the comparison itself runs as a periodic job or `check_drift`).

    Bounded like the store probes (a paused PostgreSQL cannot hang /health/), but whatever goes wrong,
    including an unreadable report table, is a ServiceWarning: drift never turns the endpoint to 503.
    """

    store = "drift"
    warning_only = True

    def __post_init__(self):
        self.details: dict = {}

    def run(self) -> None:
        try:
            self._bounded_probe()
        except ServiceUnavailable as problem:
            raise ServiceWarning(problem.message) from None

    def probe(self) -> None:
        try:
            report = selectors.latest_report()
        finally:
            connection.close()  # probes run in a pool thread: leave no connection behind
        threshold, stale_after = settings.DRIFT_WARN_THRESHOLD, settings.DRIFT_STALE_SECONDS
        if report is None:
            self.details = {"latest_report": None, "threshold": threshold}
            return
        age = (timezone.now() - report.created_at).total_seconds()
        self.details = {"latest_report": report.created_at.isoformat(), "age_seconds": round(age),
                        "total": report.total, "threshold": threshold,
                        "by_store": report.by_store(), **({"check_error": report.error} if report.error else {})}
        problems = []
        if report.error:
            problems.append(f"the latest drift check failed: {report.error}")
        elif report.total > threshold:
            kinds = ", ".join(f"{kind} {count}" for kind, count in report.counts.items() if count)
            problems.append(f"{report.total} drift above the threshold {threshold} ({kinds}); "
                            "see the admin's drift reports, repair with `manage.py reconcile`")
        if age > stale_after:
            problems.append(f"the latest drift report is {age:.0f}s old (more than {stale_after}s): "
                            "is the periodic drift check running?")
        if problems:
            raise ServiceUnavailable("; ".join(problems))  # turned into a warning by run()
