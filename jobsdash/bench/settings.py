"""Settings of the daphne process under benchmark: jobsdash's own, made production-like.

DEBUG off, because DEBUG keeps a log of every SQL query and renders debug pages, which a
production process does not pay for. Static files are served from the app folders (as with
DEBUG) so the benchmark needs no `collectstatic` into the shared checkout; the measured views
do not serve static files anyway. Everything else (middleware, cache, channel layer, REDIS_URL)
is exactly jobsdash.settings.
"""

from __future__ import annotations

from jobsdash.settings import *  # noqa: F403

DEBUG = False
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
