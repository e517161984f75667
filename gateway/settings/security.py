"""Secrets and hardening: the secret key and the credential-encryption keys."""

from gateway.settings.env import env

# Empty here; local.py generates a per-checkout value, production.py refuses to start without one.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")

# Fernet keys (comma-separated, newest first) encrypting vendor credentials at rest; separate from SECRET_KEY
# so rotating one never touches the other.
LEDGERBRIDGE_CREDENTIAL_KEYS = env.list("LEDGERBRIDGE_CREDENTIAL_KEYS", default=[])

# Admin messages carry a new API key or a reconnect link once: keep them server-side, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
