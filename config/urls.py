"""URL map: the admin for feedback review, the JSON API (django-ninja, under /api/), the health endpoints and /metrics."""

from django.contrib import admin
from django.urls import include, path, re_path

from api.api import api
from api.views import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("stores.urls")),
    path("api/", not_found, name="api-index"),  # before django-ninja's own root, which raises an HTML 404
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", not_found),
    path("", include("observability.urls")),
]
