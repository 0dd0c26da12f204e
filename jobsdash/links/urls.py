from __future__ import annotations

from django.urls import path

from jobsdash.links import views

app_name = "links"

urlpatterns = [
    path("e/<str:token>/", views.open_link, name="open"),
    path("e/<str:token>/row/<str:job_type>/<str:job_id>/", views.link_row, name="row"),
    path("e/<str:token>/overview/", views.link_overview, name="overview"),
    path("e/<str:token>/log/", views.link_log, name="log"),
    path("e/<str:token>/log/matches/", views.link_log_matches, name="log_matches"),
    path("e/<str:token>/progress/", views.link_progress, name="progress"),
    path("e/<str:token>/failures/", views.link_failures, name="failures"),
    path("t/<slug:slug>/links/", views.create, name="create"),
    path("t/<slug:slug>/links/<int:pk>/", views.show, name="show"),
]
