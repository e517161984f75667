"""Settings for the test suite: the same code paths as production, faster password hashing."""

from cryptography.fernet import Fernet

from gateway.settings.base import *  # noqa: F403
from gateway.settings.base import DATABASES
from gateway.settings.env import VAR_DIR, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-only-secret-key-not-for-production")
LEDGERBRIDGE_CREDENTIAL_KEYS = env.list("LEDGERBRIDGE_CREDENTIAL_KEYS", default=[Fernet.generate_key().decode()])
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True

# A file, not ":memory:", so worker subprocesses started by tests see the same SQLite test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-ledgerbridge.sqlite3")}

# Webhook receivers on this machine (127.0.0.1) are fine here; production refuses internal destinations.
LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = env.bool("LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE", default=True)
