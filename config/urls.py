"""URL map: the admin for feedback review, the JSON API (search, feedback) and the health endpoints."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("stores.urls")),
    path("api/", include("retrieval.urls")),
]
