from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from jobsdash.ops import throttle
from jobsdash.ops.login import login_view

urlpatterns = [
    path("", include("jobsdash.tenants.urls")),
    path("", include("jobsdash.ops.urls")),
    path("accounts/login/", login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The admin's own login, behind the same lock-out (same path: it wins over admin.site.urls).
    path("admin/login/", throttle.guard(admin.site.login)),
    path("admin/", admin.site.urls),
    path("t/<slug:slug>/jobs/", include("jobsdash.jobs.urls")),
    path("t/<slug:slug>/", include("jobsdash.jobs.triage_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("jobsdash.jobs.api_urls")),
    path("", include("jobsdash.links.urls")),
]

# The benchmark's ceiling view (manage.py bench): never in a production URL map.
if settings.DEBUG or settings.BENCH_VIEWS:
    urlpatterns.append(path("bench/", include("jobsdash.bench.urls")))
