from __future__ import annotations

from django.urls import path

from jobsdash.jobs import api

app_name = "api"

urlpatterns = [
    path("t/<slug:slug>/jobs/", api.JobListAPI.as_view(), name="jobs"),
    path("t/<slug:slug>/jobs/<str:job_type>/<str:job_id>/", api.JobDetailAPI.as_view(), name="job"),
    path("t/<slug:slug>/failures/", api.FailuresAPI.as_view(), name="failures"),
]
