"""URL map: the admin for feedback review and the health endpoints."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("config.health_urls")),
]
