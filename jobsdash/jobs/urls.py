from __future__ import annotations

from django.urls import path

from jobsdash.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("overview/", views.list_overview, name="overview"),
    path("<str:job_type>/<str:job_id>/", views.job_detail, name="detail"),
    path("<str:job_type>/<str:job_id>/log/", views.job_log, name="log"),
    path("<str:job_type>/<str:job_id>/log/matches/", views.log_matches, name="log_matches"),
    path("<str:job_type>/<str:job_id>/progress/", views.job_progress, name="progress"),
    path("<str:job_type>/<str:job_id>/row/", views.job_row, name="row"),
]
