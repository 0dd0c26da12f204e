from __future__ import annotations

from django.urls import path

from jobsdash.jobs import views

app_name = "triage"

urlpatterns = [
    path("failures/", views.failures_page, name="failures"),
    path("failures/groups/", views.failure_groups, name="groups"),
    path("find/", views.find_job, name="find"),
]
