from __future__ import annotations

from django.urls import path

from jobsdash.tenants import views

urlpatterns = [
    path("", views.home, name="home"),
]
