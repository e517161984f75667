"""Production: everything from the environment; refuses to start without its secrets."""

from django.core.exceptions import ImproperlyConfigured

from gateway.settings.base import *  # noqa: F403
from gateway.settings.base import LEDGERBRIDGE_CREDENTIAL_KEYS, SECRET_KEY
from gateway.settings.env import env

DEBUG = False

if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
if not LEDGERBRIDGE_CREDENTIAL_KEYS:
    raise ImproperlyConfigured("LEDGERBRIDGE_CREDENTIAL_KEYS must be set in production (Fernet keys, newest first).")

WHITENOISE_USE_FINDERS = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Health probes come over plain HTTP from the orchestrator.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Cookies only over HTTPS; false only for a plain-http local run of the production image (the admin and the
# connect flow need their session and CSRF cookies back, which a browser never sends over http when secure).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
