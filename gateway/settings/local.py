"""Local development and the demo: works with no configuration at all."""

import json
import secrets

from cryptography.fernet import Fernet

from gateway.settings.base import *  # noqa: F403
from gateway.settings.base import LEDGERBRIDGE_CREDENTIAL_KEYS, SECRET_KEY
from gateway.settings.env import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _local_secrets() -> dict[str, str]:
    """Generate this checkout's secrets once and keep them under var/ (git-ignored), never in code."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "local-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"secret_key": secrets.token_urlsafe(50), "credential_key": Fernet.generate_key().decode()}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


if not SECRET_KEY or not LEDGERBRIDGE_CREDENTIAL_KEYS:
    _generated = _local_secrets()
    SECRET_KEY = SECRET_KEY or _generated["secret_key"]
    LEDGERBRIDGE_CREDENTIAL_KEYS = LEDGERBRIDGE_CREDENTIAL_KEYS or [_generated["credential_key"]]

# Webhook receivers on this machine (127.0.0.1) are fine here; production refuses internal destinations.
LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = env.bool("LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE", default=True)
