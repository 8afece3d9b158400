"""Health endpoints: readiness of the three stores, and liveness of the process."""

from django.urls import path

from stores.health import ReadinessView, liveness

urlpatterns = [
    path("", ReadinessView.as_view(), name="health"),
    path("live/", liveness, name="health-live"),
]
