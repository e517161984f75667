"""Settings shared by every environment; environment modules override what differs."""

from gateway.settings.env import BASE_DIR, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "gateway",
    "gateway.demo",
    "tenants",
    "unified_models",
    "events",
    "unified_models.store",
    "connectors.exact",
    "connectors.xero",
]

MIDDLEWARE = [
    # First: /metrics is answered before host validation and the HTTPS redirect, every other request is timed.
    "gateway.metrics.middleware.MetricsMiddleware",
    "gateway.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gateway.urls"
WSGI_APPLICATION = "gateway.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gateway" / "templates"],
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

# No configuration means SQLite under var/, so a fresh clone runs with nothing installed.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ledgerbridge.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The hot path's fixed statements (gateway/statements.py `prepared_cursor`) are prepared at their second run in
    # a session; Django's own cursors bind on the client and never are. With PgBouncer in front, use its
    # transaction mode only from 1.21 on (max_prepared_statements set), which keeps protocol-level prepares working.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis is optional locally; when REDIS_URL is set it backs the cache (throttles, locks) and Celery.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that hangs must fail fast (the throttle then serves unthrottled), not hold the request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve the bundled Swagger UI and admin assets from the process itself: users run this behind firewalls.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "json": one JSON object per line (time, level, logger, message, request, workspace, connection and task ids) for
# log collectors; anything else: plain text lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "gateway.logging.RequestIdFilter"},
        # No secret and no control character reaches a log line (gateway/logging.py).
        "redact": {"()": "gateway.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "gateway.logging.JsonLogFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT.lower() == "json" else "plain",
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # httpx logs every request line at INFO; our own call log records vendor calls instead.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "ledgerbridge.access": {"level": LOG_LEVEL},
    },
}

from gateway.settings.api import *  # noqa: E402, F403
from gateway.settings.celery_settings import *  # noqa: E402, F403
from gateway.settings.connectors import *  # noqa: E402, F403
from gateway.settings.events import *  # noqa: E402, F403
from gateway.settings.metrics import *  # noqa: E402, F403
from gateway.settings.security import *  # noqa: E402, F403
from gateway.settings.sync import *  # noqa: E402, F403
from gateway.settings.writes import *  # noqa: E402, F403
