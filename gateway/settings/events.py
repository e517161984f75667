"""Outbound webhooks (events app): timeouts, destinations, secret rotation, disabling, dispatch."""

from gateway.settings.env import env

# Seconds a receiver has to answer one delivery attempt.
LEDGERBRIDGE_WEBHOOK_TIMEOUT = env.float("LEDGERBRIDGE_WEBHOOK_TIMEOUT", default=10.0)
# Deliveries to private, loopback and link-local addresses are refused (when saved and at delivery time); local
# development and the tests turn this on (gateway/settings/local.py, test.py).
LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = env.bool("LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE", default=False)
# Seconds the previous signing secret keeps signing after a rotation (both signatures are sent meanwhile).
LEDGERBRIDGE_WEBHOOK_SECRET_OVERLAP = env.int("LEDGERBRIDGE_WEBHOOK_SECRET_OVERLAP", default=24 * 3600)
# An endpoint whose every delivery failed for this many days is disabled (the workspace's others are told).
LEDGERBRIDGE_WEBHOOK_DISABLE_AFTER_DAYS = env.float("LEDGERBRIDGE_WEBHOOK_DISABLE_AFTER_DAYS", default=5.0)
# Seconds between beat's runs of webhook-deliveries-dispatch (retries that are due, lost first tries).
LEDGERBRIDGE_WEBHOOK_DISPATCH_INTERVAL = env.float("LEDGERBRIDGE_WEBHOOK_DISPATCH_INTERVAL", default=10.0)
