"""jobsdash settings: every value comes from the environment, with defaults that run a bare checkout.

`.env.example` lists the variables. A bad value stops start-up with ImproperlyConfigured naming
the variable.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    """A number of seconds (or any finite number), at least `minimum`."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return _float(name, raw.strip(), minimum)


def env_floats(name: str, default: tuple[float, ...], minimum: float = 0.0) -> tuple[float, ...]:
    """A list of numbers, separated by commas and/or white space; empty for none."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(_float(name, item, minimum) for item in re.split(r"[\s,]+", raw.strip()) if item)


def _float(name: str, text: str, minimum: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ImproperlyConfigured(f"{name} must be a number of at least {minimum:g}, got {text!r}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A list value: items separated by commas and/or white space."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item for item in re.split(r"[\s,]+", raw.strip()) if item]


def env_url(name: str, default: str = "", schemes: tuple[str, ...] = ()) -> str:
    """A URL value; empty means unset. Checks the scheme and that a host or path is there."""
    raw = env_str(name, default)
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}") from None
    if not parts.scheme or (schemes and parts.scheme not in schemes):
        allowed = ", ".join(schemes) or "a scheme"
        raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}, got {raw!r}")
    if not (parts.netloc or parts.path.strip("/")):
        raise ImproperlyConfigured(f"{name} must name a host or a path, got {raw!r}")
    return raw


def env_origins(name: str) -> list[str]:
    """A list of origins (scheme://host[:port]), as CSP and CSRF want them."""
    origins = env_list(name)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ImproperlyConfigured(f"{name} must list origins like https://portal.example.com, got {origin!r}")
    return [origin.rstrip("/") for origin in origins]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
    SECRET_KEY = "django-insecure-jobsdash-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])

# Fernet keys for the tenants' API secrets, newest first (older ones still decrypt).
CREDENTIALS_KEYS = env_list("JOBSDASH_CREDENTIALS_KEY")
if not CREDENTIALS_KEYS and not DEBUG:
    raise ImproperlyConfigured("JOBSDASH_CREDENTIALS_KEY must be set when DJANGO_DEBUG is false")

FRAME_ANCESTORS = env_origins("JOBSDASH_FRAME_ANCESTORS")
CSRF_TRUSTED_ORIGINS = env_origins("JOBSDASH_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "jobsdash.tenants",
    "jobsdash.waylay",
    "jobsdash.simulator",
    "jobsdash.jobs",
    "jobsdash.links",
    "jobsdash.live",
    "jobsdash.ops",
    # `manage.py bench` and its load clients (websockets, psutil: requirements-dev.txt), imported
    # only when the command runs.
    "jobsdash.bench",
]

MIDDLEWARE = [
    "jobsdash.ops.middleware.RequestIdMiddleware",
    "jobsdash.ops.cache_control.PrivateByDefaultMiddleware",
    # The security headers come first, so that every response gets them: also the 400 that a
    # middleware below answers for a Host outside ALLOWED_HOSTS (CommonMiddleware, or
    # SecurityMiddleware's HTTPS redirect, is the first to read the host).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Below those two, so that they see what it decided.
    "jobsdash.links.framing.FramingPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above the middleware that set cookies, so that it sees them on the way out.
    "jobsdash.links.framing.PartitionedCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "jobsdash.urls"
ASGI_APPLICATION = "jobsdash.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = env_url("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django knows: {exc}") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under daphne every concurrent request runs in a thread of its own: a pool shares a
        # bounded number of connections between them instead of one connection per thread.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("JOBSDASH_DB_POOL_SIZE", 20, minimum=1),
            "timeout": 10,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        }
    }

REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jobsdash",
            # A hung Redis must not hold a request thread forever.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "jobsdash", "capacity": 1000},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jobsdash"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# Seconds a cached upstream answer is fresh, by kind; stale copies are kept for stale-if-error.
CACHE_TTL_LIST = env_int("JOBSDASH_CACHE_TTL_LIST", 5)
CACHE_TTL_JOB_ACTIVE = env_int("JOBSDASH_CACHE_TTL_JOB_ACTIVE", 5)
CACHE_TTL_JOB_FINISHED = env_int("JOBSDASH_CACHE_TTL_JOB_FINISHED", 3600)
CACHE_TTL_STALE = env_int("JOBSDASH_CACHE_TTL_STALE", 86400)

# Jobs a process reads at once per tenant when a page needs several (failure groups, finding a
# job): every request's reads share them, so dozens of people opening a page do not multiply calls.
DETAIL_READS_PER_TENANT = env_int("JOBSDASH_DETAIL_READS_PER_TENANT", 4, minimum=1)
# Failed jobs whose details one request reads for the failure groups (the most recent first);
# groups of more failures than that are partial, and say so.
FAILURE_DETAILS_CAP = env_int("JOBSDASH_FAILURE_DETAILS_CAP", 200, minimum=1)

# The Waylay registry (jobsdash.waylay): timeouts and retry pauses are read at each request, pool
# sizes when an event loop's clients are made.
# Seconds to open a TCP connection to the gateway.
UPSTREAM_CONNECT_TIMEOUT = env_float("JOBSDASH_UPSTREAM_CONNECT_TIMEOUT", 3.0, minimum=0.01)
# Seconds for each read, write and pool wait of a list/get/token request, per attempt: with the
# retries a page waits at most about 3 * 6 + 1 s before it shows a stale copy or an error.
UPSTREAM_REQUEST_TIMEOUT = env_float("JOBSDASH_UPSTREAM_REQUEST_TIMEOUT", 6.0, minimum=0.01)
# Pauses before each retry of list/get (jittered by +-50%): connect errors, timeouts and 5xx are
# retried once per pause, then the upstream counts as unavailable.
UPSTREAM_RETRY_DELAYS = env_floats("JOBSDASH_UPSTREAM_RETRY_DELAYS", (0.2, 0.5))
# Seconds an event stream may stay silent before it counts as dead: the registry sends a
# keep-alive every 20 s or so.
UPSTREAM_STREAM_TIMEOUT = env_float("JOBSDASH_UPSTREAM_STREAM_TIMEOUT", 60.0, minimum=0.01)
# Connections per event loop: for list/get/token requests, and for open event streams (so that
# long-lived streams cannot take every connection from page requests).
UPSTREAM_MAX_CONNECTIONS = env_int("JOBSDASH_UPSTREAM_MAX_CONNECTIONS", 50, minimum=1)
UPSTREAM_MAX_STREAMS = env_int("JOBSDASH_UPSTREAM_MAX_STREAMS", 500, minimum=1)
# Token mode: a token is replaced this many seconds before its expiry (at most half its lifetime),
# so a request never leaves with a token that expires on the way.
UPSTREAM_TOKEN_REFRESH_MARGIN = env_float("JOBSDASH_UPSTREAM_TOKEN_REFRESH_MARGIN", 60.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# daphne serves no static files itself: whitenoise does, from the app folders while DEBUG.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions are read from the cache, and from the database only when the cache lacks them: every
# page and API call reads its session, and a query less is what a warm API call costs most.
# Several processes share one cache (REDIS_URL), so a logout anywhere ends the session everywhere.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("JOBSDASH_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("JOBSDASH_BEHIND_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("JOBSDASH_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("JOBSDASH_HSTS_SECONDS", 0)
# Only subdomains of the dashboard's own host (jobs.example.com), which serves HTTPS only anyway.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("JOBSDASH_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("JOBSDASH_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Probes and scrapers speak plain HTTP to the process directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = [
    # X-Frame-Options is set per page by jobsdash.links.framing (DENY for login and admin, this
    # site or the configured portals for the rest); SAMEORIGIN is only the default of pages
    # that this site frames itself, by design.
    "security.W019",
    # HSTS preload is the registrable domain's owner's decision (only an apex domain can be
    # submitted to the list); JOBSDASH_HSTS_PRELOAD=true sends it where that applies.
    "security.W021",
]

# Content-Security-Policy of every page: no inline script or style, nothing from other origins.
# frame-ancestors is set per page by jobsdash.links.framing (embeddable pages add FRAME_ANCESTORS).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# Cookies inside a cross-site iframe (a portal embedding the pages) need SameSite=None, which
# browsers accept only with Secure (HTTPS); Partitioned (CHIPS) keeps them working where
# third-party cookies are blocked. Signed embed links need no cookie at all.
COOKIE_SAMESITE = env_str("JOBSDASH_COOKIE_SAMESITE", "Lax").capitalize()
if COOKIE_SAMESITE not in ("Lax", "Strict", "None"):
    raise ImproperlyConfigured(f"JOBSDASH_COOKIE_SAMESITE must be Lax, Strict or None, got {COOKIE_SAMESITE!r}")
if COOKIE_SAMESITE == "None" and not SESSION_COOKIE_SECURE:
    raise ImproperlyConfigured("JOBSDASH_COOKIE_SAMESITE=None needs secure cookies (JOBSDASH_SECURE_COOKIES=true)")
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = COOKIE_SAMESITE
COOKIE_PARTITIONED = env_bool("JOBSDASH_COOKIE_PARTITIONED", False)
if COOKIE_PARTITIONED and not SESSION_COOKIE_SECURE:
    raise ImproperlyConfigured("JOBSDASH_COOKIE_PARTITIONED needs secure cookies (JOBSDASH_SECURE_COOKIES=true)")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jobsdash API",
    "DESCRIPTION": "The Waylay registry jobs of a tenant, as the upstream sends them, through a per-tenant cache.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# /metrics answers loopback and private addresses, and anyone sending "Authorization: Bearer <token>".
METRICS_TOKEN = env_str("JOBSDASH_METRICS_TOKEN")

# Login lock-out: failures per username and per client address within the window (jobsdash.ops.throttle).
LOGIN_MAX_FAILURES_USER = env_int("JOBSDASH_LOGIN_MAX_FAILURES_USER", 5, minimum=1)
LOGIN_MAX_FAILURES_IP = env_int("JOBSDASH_LOGIN_MAX_FAILURES_IP", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = 60 * env_int("JOBSDASH_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)

# Seconds each /readyz check (database, cache, channel layer) may take before it counts as down.
READY_CHECK_TIMEOUT = env_float("JOBSDASH_READY_CHECK_TIMEOUT", 2.0, minimum=0.01)

# How often an open live socket checks that what let it in still holds (a member's session and
# membership, a signed link): when it no longer does, the socket is closed with 4003.
ACCESS_RECHECK_SECONDS = env_int("JOBSDASH_ACCESS_RECHECK_SECONDS", 30, minimum=1)

# The benchmark's ceiling view (/bench/trivial, jobsdash.bench.views): served with DEBUG or this on,
# never in a production URL map.
BENCH_VIEWS = env_bool("JOBSDASH_BENCH_VIEWS", False)
# The live relay (jobsdash/live/), in seconds unless said otherwise.
LIVE_LINGER = env_float("JOBSDASH_LIVE_LINGER", 10.0)  # an unwatched upstream stream stays open
LIVE_BACKOFF_BASE = env_float("JOBSDASH_LIVE_BACKOFF_BASE", 0.5, minimum=0.01)  # first reconnect delay bound
LIVE_BACKOFF_MAX = env_float("JOBSDASH_LIVE_BACKOFF_MAX", 30.0, minimum=0.01)
LIVE_UNAUTHORIZED_RETRY = env_float("JOBSDASH_LIVE_UNAUTHORIZED_RETRY", 60.0, minimum=0.01)
LIVE_WATCHDOG = env_float("JOBSDASH_LIVE_WATCHDOG", 45.0, minimum=0.1)  # the registry keeps alive every few s
LIVE_BUFFER_SIZE = env_int("JOBSDASH_LIVE_BUFFER_SIZE", 500, minimum=1)  # frames kept per stream
LIVE_SEND_TIMEOUT = env_float("JOBSDASH_LIVE_SEND_TIMEOUT", 2.0, minimum=0.01)  # then a socket is too slow
LIVE_LEASE_TTL = env_float("JOBSDASH_LIVE_LEASE_TTL", 5.0, minimum=0.1)  # with Redis
LIVE_STATE_RETENTION = env_float("JOBSDASH_LIVE_STATE_RETENTION", 3600.0, minimum=1.0)
LIVE_CLOCK_MARGIN = env_float("JOBSDASH_LIVE_CLOCK_MARGIN", 2.0)  # between processes' clocks
# The most a stream waits to learn when an event's job was created, for a signed link with a time window.
LIVE_DATE_TIMEOUT = env_float("JOBSDASH_LIVE_DATE_TIMEOUT", 1.0, minimum=0.01)
# The live pages (static/js/live.js, refetch.js), given to them as data-* attributes.
LIVE_PAGE_RESYNC = env_float("JOBSDASH_LIVE_PAGE_RESYNC", 300.0)  # 0: never refetch without a reason
LIVE_PAGE_HIDDEN_GRACE = env_float("JOBSDASH_LIVE_PAGE_HIDDEN_GRACE", 10.0)
LIVE_PAGE_BACKOFF_BASE = env_float("JOBSDASH_LIVE_PAGE_BACKOFF_BASE", 1.0, minimum=0.01)
LIVE_PAGE_BACKOFF_MAX = env_float("JOBSDASH_LIVE_PAGE_BACKOFF_MAX", 30.0, minimum=0.01)

# One line per record, logfmt, with the request id; credentials masked (jobsdash.ops.logs).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "jobsdash.ops.logs.RequestIdFilter"},
        "redact": {"()": "jobsdash.ops.logs.RedactSecretsFilter"},
        "noise": {"()": "jobsdash.ops.logs.NoiseFilter"},
    },
    "formatters": {"line": {"()": "jobsdash.ops.logs.LineFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["request_id", "redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("JOBSDASH_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # Django's default config gives these their own plain-format handlers: ours instead.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # A request for a Host outside ALLOWED_HOSTS is internet noise (scanners, probes by IP),
        # not an error of ours: a warning line, without the traceback Django attaches.
        "django.security.DisallowedHost": {"filters": ["noise"]},
    },
}
