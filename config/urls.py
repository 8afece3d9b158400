"""URL map: the admin for feedback review, the JSON API (search, feedback) the health endpoints and /metrics."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("stores.urls")),
    path("api/", include("retrieval.urls")),
    path("", include("observability.urls")),
]
