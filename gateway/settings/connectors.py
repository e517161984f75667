"""Which vendor connectors this gateway loads (an explicit list, no import scanning) and their settings."""

from gateway.settings.env import env

LEDGERBRIDGE_CONNECTORS: list[str] = ["connectors.exact.provider.ExactConnector"]

# Public URL of this gateway: connect links and the OAuth callback registered with vendors start here.
LEDGERBRIDGE_PUBLIC_URL = env.str("LEDGERBRIDGE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Exact Online ---------------------------------------------------------------------------------------
# The operator's Exact app registration (App Center); a workspace may register its own app instead.
EXACT_CLIENT_ID = env.str("EXACT_CLIENT_ID", default="")
EXACT_CLIENT_SECRET = env.str("EXACT_CLIENT_SECRET", default="")
EXACT_WEBHOOK_SECRET = env.str("EXACT_WEBHOOK_SECRET", default="")
# Per-region base URL overrides, e.g. "nl=http://127.0.0.1:8700/nl,be=http://127.0.0.1:8700/be".
EXACT_BASE_URLS: dict[str, str] = env.dict("EXACT_BASE_URLS", default={})
# Shortcut for the project's sandbox: every region at <EXACT_SANDBOX_URL>/<region>.
EXACT_SANDBOX_URL = env.str("EXACT_SANDBOX_URL", default="").rstrip("/")
# Seconds; the token call gets longer because a lost token response can cost the connection (dotnet#152).
EXACT_HTTP_TIMEOUT = env.float("EXACT_HTTP_TIMEOUT", default=30.0)
EXACT_TOKEN_TIMEOUT = env.float("EXACT_TOKEN_TIMEOUT", default=60.0)
