"""API routes, included from config/urls.py under "api/"."""

from django.urls import path

from retrieval import api

app_name = "rag_data_api"

urlpatterns = [
    path("search", api.search, name="search"),
    path("feedback", api.feedback, name="feedback"),
]
