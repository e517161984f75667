"""Which vendor connectors this gateway loads (an explicit list, no import scanning) and their settings."""

import json
import re

from django.core.exceptions import ImproperlyConfigured

from gateway.settings.env import env

LEDGERBRIDGE_CONNECTORS: list[str] = [
    "connectors.exact.provider.ExactConnector",
    "connectors.xero.provider.XeroConnector",
]

# Public URL of this gateway: connect links and (unless set below) the OAuth callback registered with vendors.
LEDGERBRIDGE_PUBLIC_URL = env.str("LEDGERBRIDGE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# The OAuth redirect URI registered with vendors, when it differs from {LEDGERBRIDGE_PUBLIC_URL}/connect/callback
# (another host or a proxy prefix in front of the same route); empty means that default.
LEDGERBRIDGE_OAUTH_REDIRECT_URI = env.str("LEDGERBRIDGE_OAUTH_REDIRECT_URI", default="")


def _region_urls(name: str) -> dict[str, str]:
    """A JSON object {"nl": "https://…"} (URLs may hold "," and "="), or the short form "nl=https://…,be=https://…"."""
    raw = env.str(name, default="").strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            urls = json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from None
        if not all(isinstance(key, str) and isinstance(value, str) for key, value in urls.items()):
            raise ImproperlyConfigured(f'{name} must map region codes to URLs, e.g. {{"nl": "https://…"}}.')
        return urls
    # Short form: a new pair starts at ",<region>=", so "=" and most "," inside a URL survive.
    pairs = [pair for pair in re.split(r",(?=\s*[a-z]{2}\s*=)", raw) if pair.strip()]
    if not all("=" in pair for pair in pairs):
        raise ImproperlyConfigured(f"{name} must be region=url pairs separated by commas, or a JSON object.")
    return {code.strip(): url.strip() for code, url in (pair.split("=", 1) for pair in pairs)}


# --- Exact Online ---------------------------------------------------------------------------------------
# The operator's Exact app registration (App Center); a workspace may register its own app instead.
EXACT_CLIENT_ID = env.str("EXACT_CLIENT_ID", default="")
EXACT_CLIENT_SECRET = env.str("EXACT_CLIENT_SECRET", default="")
EXACT_WEBHOOK_SECRET = env.str("EXACT_WEBHOOK_SECRET", default="")
# Per-region base URL overrides: a JSON object {"nl": "http://127.0.0.1:8700/nl"} or "nl=http://…,be=http://…".
EXACT_BASE_URLS: dict[str, str] = _region_urls("EXACT_BASE_URLS")
# Shortcut for the project's sandbox: every region at <EXACT_SANDBOX_URL>/<region>.
EXACT_SANDBOX_URL = env.str("EXACT_SANDBOX_URL", default="").rstrip("/")
# Seconds; the token call gets longer because a lost token response can cost the connection (dotnet#152).
EXACT_HTTP_TIMEOUT = env.float("EXACT_HTTP_TIMEOUT", default=30.0)
EXACT_TOKEN_TIMEOUT = env.float("EXACT_TOKEN_TIMEOUT", default=60.0)
# Seconds a call may wait for the shared rate-limit budget to reopen; a longer wait fails fast with a 429
# problem and Retry-After (Exact: 60 calls per division per calendar minute, 5,000 per day;
# connectors/exact/NOTES.md: Rate limits).
EXACT_RATE_LIMIT_MAX_WAIT = env.float("EXACT_RATE_LIMIT_MAX_WAIT", default=5.0)
# Seconds around each Exact window boundary counted in both windows: clock offset and latency can make a call
# sent just before the minute ends land after it (at most a tenth of the window is used).
EXACT_RATE_LIMIT_GUARD = env.float("EXACT_RATE_LIMIT_GUARD", default=0.25)

# Seconds an item's or G/L account's GUID is reused for invoice lines without asking Exact again (per app, host and
# division, in Redis): a mapping change, a code the cache lacks and a write Exact refuses all refresh it sooner.
EXACT_REFERENCE_CACHE_SECONDS = env.float("EXACT_REFERENCE_CACHE_SECONDS", default=600.0)
# Seconds between reads of Exact's deleted log (sync/Deleted) in an incremental run that found no changes: an idle
# run then costs one call (the change feed). Deletions in between arrive by webhook (Delete events); a run that
# found changes always reads it too (connectors/exact/sync.py).
EXACT_SYNC_DELETED_SECONDS = env.float("EXACT_SYNC_DELETED_SECONDS", default=3600.0)

# Seconds after a token issue before Exact accepts a refresh ("only after 570 seconds", KB API limits, July 2021;
# connectors/exact/NOTES.md: OAuth and tokens); a refresh before it is refused and counts as an error.
EXACT_MIN_REFRESH_INTERVAL = env.int("EXACT_MIN_REFRESH_INTERVAL", default=570)
# Days an unused Exact refresh token lives (30 since July 2021); the keep-alive refreshes before it dies.
EXACT_REFRESH_TOKEN_LIFETIME_DAYS = env.int("EXACT_REFRESH_TOKEN_LIFETIME_DAYS", default=30)

# --- Xero ------------------------------------------------------------------------------------------------
# The operator's Xero app (developer.xero.com "My Apps"); a workspace may register its own app instead.
XERO_CLIENT_ID = env.str("XERO_CLIENT_ID", default="")
XERO_CLIENT_SECRET = env.str("XERO_CLIENT_SECRET", default="")
# The app's webhook key: Xero signs each delivery with it (x-xero-signature; connectors/xero/NOTES.md: Webhooks).
XERO_WEBHOOK_SECRET = env.str("XERO_WEBHOOK_SECRET", default="")
# Scopes asked at consent; offline_access gives the refresh token (apps created from March 2026 need the
# granular accounting scopes instead of accounting.transactions: connectors/xero/NOTES.md: Scopes);
# accounting.attachments for files on invoices and bills.
XERO_SCOPES = env.str(
    "XERO_SCOPES",
    default=(
        "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings "
        "accounting.attachments"
    ),
)
# Xero's three hosts (consent, tokens, API); XERO_SANDBOX_URL stands in for all three (the project's sandbox).
XERO_LOGIN_URL = env.str("XERO_LOGIN_URL", default="https://login.xero.com").rstrip("/")
XERO_IDENTITY_URL = env.str("XERO_IDENTITY_URL", default="https://identity.xero.com").rstrip("/")
XERO_API_URL = env.str("XERO_API_URL", default="https://api.xero.com").rstrip("/")
XERO_SANDBOX_URL = env.str("XERO_SANDBOX_URL", default="").rstrip("/")
# Seconds; the token call gets longer because a lost refresh answer costs a probe of the 30-minute grace.
XERO_HTTP_TIMEOUT = env.float("XERO_HTTP_TIMEOUT", default=30.0)
XERO_TOKEN_TIMEOUT = env.float("XERO_TOKEN_TIMEOUT", default=60.0)
# Days an unused Xero refresh token lives (60); the keep-alive refreshes before it dies.
XERO_REFRESH_TOKEN_LIFETIME_DAYS = env.int("XERO_REFRESH_TOKEN_LIFETIME_DAYS", default=60)
# Xero's limits per app and organisation (5 in progress, 60 a minute, 5,000 a day; the Starter tier has 1,000 a
# day) and per app (10,000 a minute); its responses say what is left but not the limits (NOTES.md: Limits).
XERO_CONCURRENT_LIMIT = env.int("XERO_CONCURRENT_LIMIT", default=5)
XERO_MINUTE_LIMIT = env.int("XERO_MINUTE_LIMIT", default=60)
XERO_DAY_LIMIT = env.int("XERO_DAY_LIMIT", default=5000)
XERO_APP_MINUTE_LIMIT = env.int("XERO_APP_MINUTE_LIMIT", default=10000)
# Seconds a call may wait for a slot or the budget; a longer wait fails fast with a 429 problem and Retry-After.
XERO_RATE_LIMIT_MAX_WAIT = env.float("XERO_RATE_LIMIT_MAX_WAIT", default=5.0)
# Seconds around each window boundary counted in both windows (latency, clock offset).
XERO_RATE_LIMIT_GUARD = env.float("XERO_RATE_LIMIT_GUARD", default=0.25)

# --- Token lifecycle (tenants/credentials/refresh.py) -----------------------------------------------------
# Seconds before an access token's own expiry (from its expires_in) when it is refreshed; a refresh is allowed from
# the earlier of this moment and the vendor's minimum interval after issue (Exact: both 570 s for 600 s tokens).
# Later risks a token that "expires mid-request" (picqer#497); for Exact, more than 30 collides with the 570 s rule.
LEDGERBRIDGE_TOKEN_REFRESH_MARGIN = env.float("LEDGERBRIDGE_TOKEN_REFRESH_MARGIN", default=30.0)
# Keep-alive refreshes credentials whose refresh token expires within this many days (Exact: 30-day lifetime).
LEDGERBRIDGE_KEEPALIVE_DAYS = env.int("LEDGERBRIDGE_KEEPALIVE_DAYS", default=7)
# Seconds one process may hold a credential's refresh lock; must outlast the token call (EXACT_TOKEN_TIMEOUT),
# or a second process could send the same single-use refresh token while the first still waits for its answer.
LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT = env.float("LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT", default=300.0)
# Seconds a caller waits for another process's refresh before failing with a retryable error.
LEDGERBRIDGE_TOKEN_LOCK_WAIT = env.float("LEDGERBRIDGE_TOKEN_LOCK_WAIT", default=90.0)
# Seconds without refresh attempts after one failed (vendor down, or a 401 answered by "too early"): failed token
# calls count towards Exact's error limit of 10 per hour, so nothing hammers the token endpoint and a storm of 401s
# costs one attempt.
LEDGERBRIDGE_TOKEN_REFRESH_COOLDOWN = env.float("LEDGERBRIDGE_TOKEN_REFRESH_COOLDOWN", default=60.0)
