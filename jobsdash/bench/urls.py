from __future__ import annotations

from django.urls import path

from jobsdash.bench import views

app_name = "bench"

urlpatterns = [
    path("trivial", views.trivial, name="trivial"),
]
