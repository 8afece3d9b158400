"""The project's URLs plus the pre-ninja endpoints under /legacy/, for test_compat.py."""

from django.urls import path

from api.tests import legacy_api
from config.urls import urlpatterns as project

urlpatterns = [
    path("legacy/search", legacy_api.search),
    path("legacy/feedback", legacy_api.feedback),
    *project,
]
