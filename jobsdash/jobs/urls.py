from __future__ import annotations

from django.urls import path

from jobsdash.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
]
