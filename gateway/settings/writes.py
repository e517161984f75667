"""Writes under faults: the web worker's deadline, mutation leases and reconciliation (unified_models.services).

deploy/gunicorn.conf.py reads LEDGERBRIDGE_WEB_TIMEOUT from here, so the server and the settings cannot disagree;
gateway.checks refuses vendor timeouts that do not fit well inside it.
"""

from gateway.settings.env import env

# Seconds gunicorn lets one request run before it kills the worker. Vendor calls must end well before (a write
# makes a few in a row), so a request is answered rather than killed; gateway.checks enforces it.
LEDGERBRIDGE_WEB_TIMEOUT = env.int("LEDGERBRIDGE_WEB_TIMEOUT", default=120)
# Seconds after a write's answer was lost before anyone looks it up at the vendor: a request we gave up on may
# still be applied there (Exact has no idempotency key on POST; connectors/exact/NOTES.md: Known pain points).
LEDGERBRIDGE_MUTATION_SETTLE_SECONDS = env.float("LEDGERBRIDGE_MUTATION_SETTLE_SECONDS", default=30.0)
# Seconds between beat's reconciliation runs (expired leases, settled in-doubt writes).
LEDGERBRIDGE_RECONCILE_INTERVAL = env.float("LEDGERBRIDGE_RECONCILE_INTERVAL", default=60.0)
