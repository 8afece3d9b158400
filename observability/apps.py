"""Observability: request ids and request logs (middleware), Prometheus metrics at /metrics."""

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability"

    def ready(self):
        from django.core.signals import request_finished

        from core.logs import REQUEST_ID

        # The thread's request id ends with its response (see observability.middleware).
        request_finished.connect(lambda **kwargs: REQUEST_ID.set("-"), weak=False,
                                 dispatch_uid="observability.request_id_reset")
