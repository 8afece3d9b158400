"""Health endpoints (filled in by the health work: readiness and liveness)."""

urlpatterns = []
