from __future__ import annotations

import os

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("jobsdash.tenants.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("t/<slug:slug>/jobs/", include("jobsdash.jobs.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("jobsdash.jobs.api_urls")),
]

# The benchmark's ceiling view (manage.py bench): never in a production URL map.
if settings.DEBUG or os.environ.get("JOBSDASH_BENCH_VIEWS") == "1":
    urlpatterns.append(path("bench/", include("jobsdash.bench.urls")))
